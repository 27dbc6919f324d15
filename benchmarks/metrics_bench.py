"""Metrics benchmark: every indicator for every office for one year, against one bare DuckDB aggregate.

For each size, builds the demo store (seeded) and times in the same run:
  bare        one GROUP BY office_code over the cases of the year computing the per-office numerators
              and denominators with FILTER aggregates (no deadlines, calendar or subtrees)
  indicators  compute_indicators: all 16 indicators with deadlines, working days and subtree
              aggregation for all ~3,200 offices; "cold" with the result cache off
              (IPDASH_RESULT_CACHE=off: every run computes), "warm" with it on after one priming run
              (the runs read the cached Parquet, as a dashboard worker does after the first user)
  scores      indicators + scores + ranks for the provincial, prefecture and county levels (no Monte Carlo)
  monte carlo the seeded 1,000-run Monte Carlo for all three levels (all ~3,200 offices)
Each timing is the best of --repeat runs. Results are appended to benchmarks/RESULTS.md.

    python benchmarks/metrics_bench.py --cases 1000000 5000000
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.ingest_bench import machine, write_results  # noqa: E402
from ingest.demo import DemoSpec, build_demo  # noqa: E402
from metrics.config import default_config  # noqa: E402
from metrics.indicators import compute_indicators  # noqa: E402
from metrics.ranking import _score_all, _values, load_archives, monte_carlo, peer_set  # noqa: E402
from metrics.scores import Model  # noqa: E402
from queries.result_cache import SWITCH  # noqa: E402
from queries.store import Store  # noqa: E402

WORK = ROOT / "benchmarks" / "work"
YEAR = 2024
BARE = """
SELECT office_code,
  sum(CASE WHEN year(accepted_date) = $y THEN (CASE case_kind WHEN 'other_dispute' THEN 0.5 ELSE 1.0 END) ELSE 0 END),
  count(*) FILTER (WHERE year(accepted_date) = $y AND case_kind = 'counterfeit' AND source IN ('ex_officio', 'report', 'online')),
  count(*) FILTER (WHERE year(accepted_date) = $y AND case_kind = 'counterfeit'),
  count(*) FILTER (WHERE year(accepted_date) = $y AND len(sectors) > 0),
  count(*) FILTER (WHERE year(accepted_date) = $y),
  count(*) FILTER (WHERE year(closed_date) = $y AND case_kind = 'infringement_dispute'
                   AND closing_type IN ('decided_infringing', 'decided_not_infringing', 'mediated')),
  count(*) FILTER (WHERE year(closed_date) = $y AND case_kind = 'infringement_dispute'),
  count(*) FILTER (WHERE year(closed_date) = $y AND review_outcome = 'upheld'),
  count(*) FILTER (WHERE year(closed_date) = $y AND review_outcome IN ('upheld', 'reversed')),
  count(*) FILTER (WHERE year(closed_date) = $y AND case_kind = 'infringement_dispute' AND closing_type = 'mediated'),
  count(*) FILTER (WHERE year(closed_date) = $y AND case_kind = 'counterfeit' AND closing_type = 'transferred'),
  count(*) FILTER (WHERE year(closed_date) = $y AND case_kind = 'counterfeit'),
  count(*) FILTER (WHERE year(closed_date) = $y AND closed_date <= accepted_date + INTERVAL 3 MONTH),
  count(*) FILTER (WHERE year(closed_date) = $y),
  median(closed_date - accepted_date - suspended_days) FILTER (WHERE year(closed_date) = $y),
  count(*) FILTER (WHERE accepted_date <= make_date($y, 12, 31) AND (closed_date IS NULL OR closed_date > make_date($y, 12, 31)))
FROM cases GROUP BY office_code
"""


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, nargs="+", default=[1_000_000, 5_000_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    lines = [
        f"\n## Metrics — {dt.date.today().isoformat()}\n",
        f"Machine: {machine()}\n",
        "Cold: result cache off, every run computes; warm: result cache on and primed. Scores and Monte "
        "Carlo are timed cold.\n",
        "| cases (5 years) | bare aggregate s | indicators cold s | ratio cold | indicators warm s | "
        "indicators + scores, 3 levels s | Monte Carlo 1,000 runs, 3 levels s | offices |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for n in args.cases:
        got = measure(n, args.repeat)
        bare, ind, warm, sc, mct, offices = (got[k] for k in ("bare", "ind", "warm", "sc", "mct", "offices"))
        row = (
            f"| {n:,} | {bare:.3f} | {ind:.3f} | {ind / bare:.2f}× | {warm:.3f} | {sc:.3f} | {mct:.2f} | {offices:,} |"
        )
        print(row, flush=True)
        lines.append(row)
    lines.append(
        "\nratio = indicators / bare aggregate on the same store in the same run (target ≤ 1.5×); "
        f"best of {args.repeat}. Monte Carlo target: all offices of the three levels in 0.5 s.\n"
    )
    if not args.no_write:
        write_results(lines)


def measure(n: int, repeat: int = 3) -> dict:
    """Seconds of the bare aggregate, the indicators cold and warm, the scores and the Monte Carlo of
    the three levels on a fresh demo store of `n` cases (best of `repeat`; the Monte Carlo once)."""
    config = default_config()
    before = os.environ.get(SWITCH)
    try:
        return _measure(n, repeat, config)
    finally:  # the switch is this process's environment: leave it as it was for what runs next
        if before is None:
            os.environ.pop(SWITCH, None)
        else:
            os.environ[SWITCH] = before


def _measure(n: int, repeat: int, config) -> dict:
    shutil.rmtree(WORK, ignore_errors=True)
    store = Store(WORK / "ipdash.duckdb")
    build_demo(store, DemoSpec(cases=n, seed=42), progress=False)
    with contextlib.closing(store.reader()) as con:
        bare = best(lambda: con.execute(BARE, {"y": YEAR}).fetchall(), repeat)
        os.environ[SWITCH] = "on"
        compute_indicators(con, config, year=YEAR)  # primes the result cache
        warm = best(lambda: compute_indicators(con, config, year=YEAR), repeat)
        os.environ[SWITCH] = "off"  # everything below is cold
        ind = best(lambda: compute_indicators(con, config, year=YEAR), repeat)
        model = Model.from_config(config)

        def scores() -> None:
            table = compute_indicators(con, config, year=YEAR)
            for level in ("provincial", "prefecture", "county"):
                peers, groups = peer_set(table.frame, level=level, within=None, config=config)
                _score_all(_values(peers, config), groups, model, method="minmax")

        sc = best(scores, repeat)
        table = compute_indicators(con, config, year=YEAR)
        prepared = []
        for level in ("provincial", "prefecture", "county"):
            peers, groups = peer_set(table.frame, level=level, within=None, config=config)
            prepared.append(
                (
                    _values(peers, config),
                    groups,
                    load_archives(con, peers, year=YEAR, as_of=dt.date(YEAR, 12, 31)),
                    peers.height,
                )
            )

        def mc() -> None:
            for values, groups, archives, _ in prepared:
                monte_carlo(values, groups, model, config, archives=archives, runs=1000)

        mct = best(mc, 1)
    offices = sum(p[3] for p in prepared)
    shutil.rmtree(WORK, ignore_errors=True)
    return {"bare": bare, "ind": ind, "warm": warm, "sc": sc, "mct": mct, "offices": offices}


if __name__ == "__main__":
    main()
