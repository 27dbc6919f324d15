"""Assessment-scheme benchmark (issue 19): `ipdash assess`'s scoring for every office against the
bare DuckDB aggregate of the same counts, in the same run.

For each size, builds the demo store (seeded) and times:
  bare    one GROUP BY over the cases joined to their offices, with the example scheme's counts as
          FILTER aggregates, for the year and the year before (the growth item), for each of the
          three levels (province, prefecture, county columns of the office's path; no deadlines, so
          the time-limit rate counts closings within three months)
  assess  metrics.schemes.assess with the shipped example scheme (its level switched to each of the
          three levels in turn, so all ~3,200 offices are scored): the case facts with deadlines and
          working days, subtree aggregation, growth (both years in one pass), bands, caps, sections
          and ranks; cold — the result cache off, so each level computes its pass
Each timing is the best of --repeat runs. Results are appended to benchmarks/RESULTS.md.

    python benchmarks/assess_bench.py --cases 1000000 5000000
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import os
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.ingest_bench import machine, write_results  # noqa: E402
from benchmarks.metrics_bench import best  # noqa: E402
from ingest.demo import DemoSpec, build_demo  # noqa: E402
from metrics.config import default_config  # noqa: E402
from metrics.schemes import assess, default_scheme_path, load_scheme  # noqa: E402
from queries.result_cache import SWITCH  # noqa: E402
from queries.store import Store  # noqa: E402

WORK = ROOT / "benchmarks" / "work"
YEAR = 2024
BARE = """
SELECT {unit} AS unit,
  count(*) FILTER (WHERE year(c.closed_date) = $y AND c.case_kind = 'infringement_dispute'),
  count(*) FILTER (WHERE year(c.accepted_date) = $y),
  count(*) FILTER (WHERE year(c.accepted_date) = $y - 1),
  count(*) FILTER (WHERE year(c.accepted_date) = $y AND c.source = 'exhibition'),
  count(*) FILTER (WHERE year(c.accepted_date) = $y AND c.source = 'online'),
  count(*) FILTER (WHERE year(c.accepted_date) = $y AND c.source = 'referral'),
  count(*) FILTER (WHERE year(c.closed_date) = $y AND c.closing_type = 'transferred'),
  count(*) FILTER (WHERE year(c.closed_date) = $y AND c.closing_type IN ('decided_infringing', 'decided_not_infringing', 'penalized')),
  count(*) FILTER (WHERE year(c.closed_date) = $y AND c.case_kind <> 'other_dispute' AND c.closed_date <= c.accepted_date + INTERVAL 3 MONTH),
  count(*) FILTER (WHERE year(c.closed_date) = $y AND c.case_kind <> 'other_dispute')
FROM cases AS c JOIN offices AS o ON o.office_code = c.office_code
GROUP BY 1
"""
UNITS = {"provincial": "o.province_code", "prefecture": "o.prefecture_code", "county": "c.office_code"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, nargs="+", default=[1_000_000, 5_000_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    config = default_config()
    os.environ[SWITCH] = "off"  # cold: every run computes (the result cache would serve the 2nd level on)
    example = load_scheme(default_scheme_path())
    schemes = [dataclasses.replace(example, level=level) for level in UNITS]
    lines = [
        f"\n## Assessment schemes — {dt.date.today().isoformat()}\n",
        f"Machine: {machine()}\n",
        "The shipped example scheme scored for every office of the three levels (its level switched in "
        "turn), against the bare aggregate of the same counts per level, in the same run.\n",
        "| cases (5 years) | bare aggregate, 3 levels s | assess, 3 levels s | ratio | offices |",
        "|---:|---:|---:|---:|---:|",
    ]
    for n in args.cases:
        shutil.rmtree(WORK, ignore_errors=True)
        store = Store(WORK / "ipdash.duckdb")
        build_demo(store, DemoSpec(cases=n, seed=42), progress=False)
        with contextlib.closing(store.reader()) as con:
            queries = [BARE.format(unit=u) for u in UNITS.values()]
            bare = best(lambda: [con.execute(q, {"y": YEAR}).fetchall() for q in queries], args.repeat)
            scored: list = []
            ours = best(
                lambda: scored.__setitem__(
                    slice(None), [o for s in schemes for o in assess(con, config, s, year=YEAR)]
                ),
                args.repeat,
            )
        row = f"| {n:,} | {bare:.3f} | {ours:.3f} | {ours / bare:.2f}× | {len(scored):,} |"
        print(row, flush=True)
        lines.append(row)
        shutil.rmtree(WORK, ignore_errors=True)
    lines.append(
        f"\nratio = assess / bare aggregate on the same store in the same run (target ≤ 2×); best of {args.repeat}.\n"
    )
    if not args.no_write:
        write_results(lines)


if __name__ == "__main__":
    main()
