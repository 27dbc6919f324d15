"""Before a release: the serving targets in one run, each figure beside its target (issue 33).

Serving capacity fell about four times while three features landed and no benchmark run caught
it, because each benchmark measured its own part. This script runs the parts together, on this
machine, in one sitting, and says plainly which targets are met:

  load      benchmarks/load_test.py: 200 simulated users against `ipdash serve --workers 2`
            (1M cases): every page's steady p95, errors, requests a second
  burst     benchmarks/ops_bench.py: online appraisal entry, and the pages during a burst of 50
            appraisals against the same pages with no writes; how long until the new figures show
  cold      benchmarks/metrics_bench.py: all indicators cold against the bare DuckDB aggregate, and
            the 1,000-run Monte Carlo of the three levels
  workbook  benchmarks/report_bench.py: the national workbook against the bare engines and its
            peak memory (5M cases; --workbook-cases)

Every benchmark's own section goes to benchmarks/RESULTS.md as usual (unless --no-write), followed
by this summary. Exit status 1 when a target is missed, so a release script can stop on it.

    python benchmarks/serving_guard.py                       # everything (about 25 minutes)
    python benchmarks/serving_guard.py --only load burst     # the request path alone
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import load_test, metrics_bench, ops_bench, report_bench  # noqa: E402
from benchmarks.ingest_bench import machine, write_results  # noqa: E402

PARTS = ("load", "burst", "cold", "workbook")


def check(rows: list[tuple[str, str, str, bool]], what: str, target: str, measured: str, met: bool) -> None:
    rows.append((what, target, measured, met))
    print(f"{'met    ' if met else 'MISSED '} {what}: {measured} (target {target})", file=sys.stderr, flush=True)


def run_load(rows: list, sections: list, cases: int) -> None:
    got = load_test.run(cases=cases, users=200, seconds=120)
    sections.append(got["lines"])
    worst = max(got["steady_p95"].items(), key=lambda kv: kv[1])
    check(rows, "200 users: every page's steady p95", "< 500 ms", f"{worst[1]:.0f} ms ({worst[0]})", worst[1] < 500)
    check(rows, "200 users: errors", "0", f"{got['errors']}", got["errors"] == 0)
    check(rows, "200 users: requests a second", "≥ 120", f"{got['rps']:.1f}", got["rps"] >= 120)


def run_burst(rows: list, sections: list, cases: int) -> None:
    got = ops_bench.run(cases=cases)
    sections.append(got["lines"])
    check(rows, "online appraisal entry p95", "< 50 ms", f"{got['entry_p95']:.1f} ms", got["entry_p95"] < 50)
    worst = max(got["burst_ratio"].items(), key=lambda kv: kv[1])
    check(
        rows,
        "pages during a burst of 50 appraisals: p95 / p95 with no writes",
        "≤ 1.5×",
        f"{worst[1]:.2f}× ({worst[0]}: {got['busy_p95'][worst[0]]:.0f} ms against {got['quiet_p95'][worst[0]]:.0f})",
        worst[1] <= 1.5,
    )
    check(rows, "new figures shown after the last appraisal", "≤ 10 s", f"{got['fresh_s']:.1f} s", got["fresh_s"] <= 10)


def run_cold(rows: list, sections: list, cases: int) -> None:
    got = metrics_bench.measure(cases)
    ratio = got["ind"] / got["bare"]
    sections.append(
        [
            f"\n## Metrics (serving guard) — {dt.date.today().isoformat()}\n",
            f"Machine: {machine()}\n",
            "| cases | bare aggregate s | indicators cold s | ratio | Monte Carlo 3 levels s | offices |",
            "|---:|---:|---:|---:|---:|---:|",
            f"| {cases:,} | {got['bare']:.3f} | {got['ind']:.3f} | {ratio:.2f}× | {got['mct']:.2f} | {got['offices']:,} |",
        ]
    )
    check(rows, "indicators cold / bare aggregate", "≤ 1.5×", f"{ratio:.2f}×", ratio <= 1.5)
    check(rows, "Monte Carlo, all offices of three levels", "≤ 0.5 s", f"{got['mct']:.2f} s", got["mct"] <= 0.5)


def run_workbook(rows: list, sections: list, cases: int) -> None:
    got = report_bench.run(cases, national_only=True)
    sections.append(got["lines"])
    worst = max(got["first_ratio"], got["again_ratio"])
    check(rows, "national workbook / bare engines", "≤ 1.5×", f"{worst:.1f}×", worst <= 1.5)
    peak = max(got["peak_mib"].values())
    check(rows, "national workbook peak memory", "≤ 500 MB", f"{peak * 1.048576:.0f} MB", peak * 1.048576 <= 500)


RUNS: dict[str, Callable[[list, list, int], None]] = {
    "load": run_load,
    "burst": run_burst,
    "cold": run_cold,
    "workbook": run_workbook,
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="+", choices=PARTS, default=list(PARTS), help="the parts to run")
    ap.add_argument("--cases", type=int, default=1_000_000, help="cases for the load, burst and cold parts")
    ap.add_argument("--workbook-cases", type=int, default=5_000_000)
    ap.add_argument("--no-write", action="store_true", help="print only, do not append to RESULTS.md")
    args = ap.parse_args()
    rows: list[tuple[str, str, str, bool]] = []
    sections: list[list[str]] = []
    for part in args.only:
        RUNS[part](rows, sections, args.workbook_cases if part == "workbook" else args.cases)
    summary = [
        f"\n## Serving guard — {dt.date.today().isoformat()}",
        "",
        f"Machine: {machine()}",
        "",
        f"`benchmarks/serving_guard.py --only {' '.join(args.only)}`: every figure measured in this run "
        "beside its target (the sections above, from the same run, give the detail).",
        "",
        "| what | target | measured | met |",
        "|---|---|---|---|",
        *(f"| {w} | {t} | {m} | {'yes' if ok else '**no**'} |" for w, t, m, ok in rows),
        "",
    ]
    print("\n".join(summary))
    if not args.no_write:
        for lines in sections:
            write_results(lines)
        write_results(summary)
    sys.exit(0 if all(ok for *_, ok in rows) else 1)


if __name__ == "__main__":
    main()
