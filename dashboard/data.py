"""Data functions behind the dashboard: plain functions returning frames, no Dash imports."""

from __future__ import annotations

import contextlib

import polars as pl

from queries.loader import run
from queries.store import Store, rows, scalar


def years(db: str) -> list[int]:
    """Assessment years present in the store (by accepted date)."""
    with contextlib.closing(Store(db).reader()) as con:
        return [r[0] for r in rows(con, "SELECT DISTINCT year(accepted_date) FROM cases ORDER BY 1")]


def banner(db: str) -> str:
    """A line saying what data is shown; synthetic demo data always says so."""
    with contextlib.closing(Store(db).reader()) as con:
        demo = scalar(con, "SELECT value FROM meta WHERE key = 'demo'")
        published = scalar(con, "SELECT value FROM meta WHERE key = 'published_at'")
    if demo:
        return f"合成演示数据，非真实案件 · Synthetic demo data, not real cases ({demo}; published {published})"
    return f"数据发布于 Data published {published}"


def province_counts(db: str, year: int) -> pl.DataFrame:
    """Accepted, closed and open-at-year-end cases per provincial office for `year`."""
    with contextlib.closing(Store(db).reader()) as con:
        return run(con, "office_case_counts", year=year)
