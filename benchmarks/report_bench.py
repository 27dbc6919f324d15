"""Report benchmark: the national workbook and a large case-detail export, time and peak memory.

Builds the demo store (seeded) with --cases cases, then runs `ipdash report` in a child process
(so its peak resident memory is its own) for:
  national, first     the nation's workbook for one year, right after the publish: every aggregate
                      is computed (and kept in the publish's result cache, queries/result_cache.py)
  national, again     the same workbook once the result cache holds those aggregates
  detail-less         the busiest province's workbook
  detail              the same with every case of the year (--with-cases), to show what streaming costs
Each is set against the bare engines in the same run. Results are appended to
benchmarks/RESULTS.md with the machine and the date.

    python benchmarks/report_bench.py --cases 5000000
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.ingest_bench import machine, write_results  # noqa: E402
from ingest.demo import DemoSpec, build_demo  # noqa: E402
from queries.store import Store, rows  # noqa: E402

WORK = ROOT / "benchmarks" / "work"
YEAR = 2024
REPEATS = 5  # runs of the repeat national workbook (this machine's timings vary by ±20%)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=5_000_000)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    got = run(args.cases)
    print("\n".join(got["lines"]))
    if not args.no_write:
        write_results(got["lines"])


def run(cases: int, *, national_only: bool = False) -> dict:
    """The benchmark on a fresh demo store of `cases` cases (`national_only`: the national workbook
    alone); seconds and peak MiB of each workbook, the bare engines' parts, and the lines of its
    RESULTS.md section."""
    args = argparse.Namespace(cases=cases)
    shutil.rmtree(WORK, ignore_errors=True)
    store = Store(WORK / "ipdash.duckdb")
    build_demo(store, DemoSpec(cases=args.cases, seed=42), progress=False)
    with contextlib.closing(store.reader()) as con:
        busiest, n_cases = rows(
            con,
            """SELECT o.province_code, count(*) FROM cases c JOIN offices o USING (office_code)
            WHERE year(c.accepted_date) = $y OR year(c.closed_date) = $y GROUP BY 1 ORDER BY 2 DESC LIMIT 1""",
            {"y": YEAR},
        )[0]
    lines = [
        f"\n## Report — {dt.date.today().isoformat()}\n",
        f"Machine: {machine()}\n",
        f"Demo store with {args.cases:,} cases over five years; workbook for {YEAR}; each run a fresh "
        "child process (peak resident memory is the whole process: Python, DuckDB, Polars, openpyxl).\n",
        "| workbook | rows in the case sheet | seconds | peak memory MiB |",
        "|---|---:|---:|---:|",
    ]
    cache = store.path.with_name(store.path.name + ".cache")
    shutil.rmtree(cache, ignore_errors=True)
    seconds, peaks = {}, {}
    for key, label, extra in (
        ("first", "national, first after the publish (computes the aggregates)", ()),
        ("again", "national, again (aggregates from the result cache)", ()),
        ("province", f"province {busiest} without case sheet", ("--scope", busiest)),
        ("cases", f"province {busiest} with every case ({n_cases:,})", ("--scope", busiest, "--with-cases")),
    )[: 2 if national_only else 4]:
        out = WORK / ("national.xlsx" if not extra else "report.xlsx")
        runs = [_isolated(store.path, out, extra) for _ in range(REPEATS if key == "again" else 1)]
        times = sorted(r[0] for r in runs)
        seconds[key], peak, summary = times[len(times) // 2], max(r[1] for r in runs), runs[0][2]
        peaks[key] = peak
        shown = (
            f"{seconds[key]:.2f}"
            if len(times) == 1
            else f"{seconds[key]:.2f} (median of {len(times)}; {times[0]:.2f}–{times[-1]:.2f})"
        )
        row = f"| {label} | {summary.get('cases', 0):,} | {shown} | {peak:,.0f} |"
        print(row, flush=True)
        lines.append(row)
    bare = _bare_national(store, WORK / "national.xlsx", cache)
    cold = bare["duckdb"] + bare["openpyxl"]
    warm = bare["parquet"] + bare["openpyxl"]
    lines += [
        "",
        "The national workbook against the bare engines, in the same run: DuckDB running the "
        f"indicator aggregate of each year the workbook shows ({args.cases:,} cases), Polars reading back "
        "every result the cache holds, and openpyxl writing as many cells as plain values in write-only "
        "mode, with no formats.",
        "",
        "| part | seconds |",
        "|---|---:|",
        f"| DuckDB: {bare['passes']} indicator aggregates | {bare['duckdb']:.2f} |",
        f"| Polars: reading the {bare['files']} cached results ({bare['bytes'] / 1e6:.1f} MB) | "
        f"{bare['parquet']:.2f} |",
        f"| openpyxl: {bare['cells']:,} plain cells | {bare['openpyxl']:.2f} |",
        f"| first workbook / (DuckDB + openpyxl) | {seconds['first'] / cold:.1f}× |",
        f"| again / (Polars + openpyxl) | {seconds['again'] / warm:.1f}× |",
    ]
    lines.append(
        "\nTargets: national workbook under 5 s and 500 MB at 5M cases; the case sheet streams from "
        "DuckDB in batches of 50,000 rows through openpyxl's write-only mode. Each run is a new process "
        "and includes Python's start and imports.\n"
    )
    shutil.rmtree(WORK, ignore_errors=True)
    return {
        "lines": lines,
        "seconds": seconds,
        "peak_mib": peaks,
        "first_ratio": seconds["first"] / cold,
        "again_ratio": seconds["again"] / warm,
    }


def _bare_national(store: Store, workbook: Path, cache: Path) -> dict:
    """The bare engines' share of the national workbook: DuckDB running the indicator aggregate of
    every year the workbook shows (no ranking, no Python), Polars reading every result the cache
    holds, and openpyxl writing as many plain cells as the workbook holds (no formats, no tables,
    no charts)."""
    import datetime as dt_

    import openpyxl
    import polars as pl

    files = sorted(cache.glob("*/*.parquet"))
    t = time.perf_counter()
    for f in files:
        pl.read_parquet(f)
    parquet = time.perf_counter() - t

    from metrics.config import default_config
    from metrics.indicators import aggregate_sql, register_inputs

    config = default_config()
    cells = sum(
        sum(v is not None for v in row)
        for ws in openpyxl.load_workbook(workbook, read_only=True).worksheets
        for row in ws.iter_rows(values_only=True)
    )
    years = [YEAR - k for k in range(4)]
    with contextlib.closing(store.reader(memory_limit="200MB")) as con:
        register_inputs(con, config)
        query = aggregate_sql(config)
        t = time.perf_counter()
        for y in years:
            con.sql(query, params={"year": y, "as_of": dt_.date(y, 12, 31)}).pl()
        duck = time.perf_counter() - t
    t = time.perf_counter()
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("bare")
    row = ["330100", "知罚字〔2024〕1号", dt_.date(2024, 1, 2), 12, 3.5, "infringement_dispute", 7]
    for _ in range(cells // len(row)):
        ws.append(row)
    wb.save(WORK / "bare.xlsx")
    return {
        "passes": len(years),
        "duckdb": duck,
        "cells": cells,
        "openpyxl": time.perf_counter() - t,
        "parquet": parquet,
        "files": len(files),
        "bytes": sum(f.stat().st_size for f in files),
    }


def _isolated(db: Path, out: Path, extra: tuple[str, ...]) -> tuple[float, float, dict]:
    """Run `ipdash report` under a fresh wrapper process, whose RUSAGE_CHILDREN is that one run's peak."""
    code = (
        "import resource, subprocess, sys, time, json;"
        "t=time.perf_counter();"
        "p=subprocess.run(sys.argv[1:], capture_output=True, text=True, check=True);"
        "e=time.perf_counter()-t;"
        "print(json.dumps({'s': e, 'rss': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss/1024,"
        " 'out': json.loads(p.stdout)}))"
    )
    cmd = [
        sys.executable,
        "-c",
        code,
        sys.executable,
        "-m",
        "ipdash.cli",
        "report",
        "--year",
        str(YEAR),
        "-o",
        str(out),
        "--db",
        str(db),
        "--json",
        "--quiet",
        *extra,
    ]
    got = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)
    return got["s"], got["rss"], got["out"]


if __name__ == "__main__":
    main()
