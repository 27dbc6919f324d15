"""Data functions behind the dashboard: plain functions over a scoped QueryRunner, no Dash imports.

Every case- and office-level read goes through the runner, so the user's scope is applied on the
server whatever the browser asks for.
"""

from __future__ import annotations

import csv
import io

import polars as pl

from access.cells import csv_value
from queries.runner import QueryRunner
from queries.statements import duck_sql


def meta(runner: QueryRunner) -> dict[str, str]:
    """The store's `meta` table (publication time, demo seed, contract versions) as a dict."""
    return dict(runner.frame(duck_sql("meta.all")).iter_rows())


def banner(runner: QueryRunner) -> str:
    """A line saying what data is shown; synthetic demo data always says so."""
    info = meta(runner)
    if info.get("demo"):
        return (
            f"合成演示数据，非真实案件 · Synthetic demo data, not real cases ({info['demo']}; "
            f"published {info.get('published_at')})"
        )
    return f"数据发布于 Data published {info.get('published_at')}"


def assigned_archives(runner: QueryRunner) -> pl.DataFrame:
    """The archives the runner's scope may read, with their case facts (an inspector's assignments)."""
    return runner.frame(duck_sql("inspection.archive_list"))


def safe_csv(frame: pl.DataFrame) -> str:
    """`frame` as CSV (UTF-8 with BOM for Excel) with every text cell defused against formula injection."""
    buf = io.StringIO()
    buf.write("\ufeff")
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(frame.columns)
    for row in frame.iter_rows():
        w.writerow(["" if v is None else csv_value(v if isinstance(v, (str, int, float)) else str(v)) for v in row])
    return buf.getvalue()
