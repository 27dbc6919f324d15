"""Ingest benchmark: validated `ipdash ingest cases` against DuckDB's bare load of the same file.

For each size, builds demo cases (seeded), writes them as CSV and Parquet, and times in the same
run and on the same files:
  bare     CREATE TABLE t AS SELECT * FROM read_csv(file) / read_parquet(file), into a new DuckDB file
  ipdash   the full validated ingest into a store holding the office roster: read, normalise, check
           every rule, upsert, record provenance and publish atomically
Each timing is the best of --repeat runs. Results are appended to benchmarks/RESULTS.md with the
machine and the date.

    python benchmarks/ingest_bench.py --cases 1000000 5000000
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ingest.demo import DemoSpec, build_frames, export_frames  # noqa: E402
from ingest.run import ingest  # noqa: E402
from queries.store import Store  # noqa: E402

WORK = ROOT / "benchmarks" / "work"


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{platform.system()} {platform.machine()}, {cpu}, {os.cpu_count()} cores, {mem:.0f} GiB RAM, "
        f"Python {platform.python_version()}, duckdb {duckdb.__version__}"
    )


def demo_store(name: str, cases: int) -> Path:
    """A fresh seeded demo store of `cases` cases in benchmarks/work/<name>/ (its path)."""
    folder = WORK / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    db = folder / "ipdash.duckdb"
    subprocess.run(
        [
            str(Path(sys.executable).parent / "ipdash"),
            "demo",
            "--db",
            str(db),
            "--cases",
            str(cases),
            "--seed",
            "42",
            "--build-only",
            "--quiet",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return db


def write_results(lines: list[str]) -> None:
    """Append one benchmark's section to benchmarks/RESULTS.md."""
    with open(ROOT / "benchmarks" / "RESULTS.md", "a", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")


def bare(path: Path, fmt: str) -> float:
    db = WORK / "bare.duckdb"
    db.unlink(missing_ok=True)
    con = duckdb.connect(str(db))
    reader = "read_csv" if fmt == "csv" else "read_parquet"
    start = time.perf_counter()
    con.execute(f"CREATE TABLE t AS SELECT * FROM {reader}('{path}')")
    con.execute("CHECKPOINT")
    elapsed = time.perf_counter() - start
    con.close()
    db.unlink(missing_ok=True)
    return elapsed


def validated(path: Path, offices: str) -> tuple[float, dict]:
    store_dir = WORK / "store"
    shutil.rmtree(store_dir, ignore_errors=True)
    store = Store(store_dir / "ipdash.duckdb")
    ingest(store, "offices", [offices], progress=False)
    start = time.perf_counter()
    summary = ingest(store, "cases", [str(path)], progress=False)
    elapsed = time.perf_counter() - start
    shutil.rmtree(store_dir, ignore_errors=True)
    return elapsed, summary.counts.as_dict()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, nargs="+", default=[1_000_000, 5_000_000])
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--no-write", action="store_true", help="print only, do not append to RESULTS.md")
    args = parser.parse_args()

    lines = [
        f"\n## Ingest — {dt.date.today().isoformat()}\n",
        f"Machine: {machine()}\n",
        "| cases | format | file MB | bare DuckDB load s | ipdash validated ingest s | rows/s (ipdash) | ratio |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    for n in args.cases:
        WORK.mkdir(parents=True, exist_ok=True)
        frames = build_frames(DemoSpec(cases=n, seed=42))
        files = {
            fmt: export_frames(
                {"cases": frames["cases"], "offices": frames["offices"]}, str(WORK / f"in-{n}-{fmt}"), fmt
            )
            for fmt in ("csv", "parquet")
        }
        del frames
        for fmt in ("csv", "parquet"):
            path = Path(files[fmt]["cases"])
            b = min(bare(path, fmt) for _ in range(args.repeat))
            runs = [validated(path, files["csv"]["offices"]) for _ in range(args.repeat)]
            v = min(r[0] for r in runs)
            assert runs[0][1]["loaded"] == n, runs[0][1]
            row = (
                f"| {n:,} | {fmt} | {path.stat().st_size / 2**20:,.0f} | {b:.2f} | {v:.2f} | {n / v:,.0f} | "
                f"{v / b:.2f}× |"
            )
            print(row, flush=True)
            lines.append(row)
        shutil.rmtree(WORK, ignore_errors=True)
    lines.append(
        "\nratio = validated ingest time / bare load time of the same file in the same run "
        "(target ≤ 2×). Best of "
        f"{args.repeat} runs each.\n"
    )
    if not args.no_write:
        write_results(lines)


if __name__ == "__main__":
    main()
