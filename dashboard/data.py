"""Data functions behind the dashboard: plain functions over a scoped QueryRunner, no Dash imports.

Every case- and office-level read goes through the runner, so the user's scope is applied on the
server whatever the browser asks for.
"""

from __future__ import annotations

import csv
import io
import re

import polars as pl

from access.cells import csv_value
from dashboard.i18n import when
from queries.runner import QueryRunner
from queries.statements import duck_sql


def meta(runner: QueryRunner) -> dict[str, str]:
    """The store's `meta` table (publication time, demo seed, contract versions) as a dict."""
    return dict(runner.frame(duck_sql("meta.all")).iter_rows())


def banner(runner: QueryRunner) -> str:
    """A line saying what data is shown; synthetic demo data always says so."""
    info = meta(runner)
    at = info.get("published_at")
    published = f"{when(at, 'zh')[:16]}（北京时间 Beijing time）" if at else "—"
    if info.get("demo"):
        numbers = re.findall(r"\d+", info["demo"])  # "synthetic demo data, seed N, M cases"
        detail = f"种子 seed {numbers[0]}，{int(numbers[1]):,} 件 cases；" if len(numbers) >= 2 else ""
        return f"合成演示数据，非真实案件 · Synthetic demo data, not real cases（{detail}发布于 published {published}）"
    return f"数据发布于 Data published {published}"


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
