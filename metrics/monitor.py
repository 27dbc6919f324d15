"""Whole-process monitoring and integrity signals (SPEC §3.4): shown beside the scores, never scored.

Integrity signals exist because published rankings invite gaming: an office that accepts late,
extends often, lets cases be withdrawn just before the deadline or closes them bunched in the last
days is shown against the median of its peers.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import polars as pl

from metrics.config import Config
from metrics.indicators import register_inputs
from metrics.ranking import peer_set
from queries.loader import national_office, run, run_on_facts
from queries.statements import duck_sql
from queries.store import rows

SIGNALS = ("acceptance_gap_days", "extension_rate", "late_withdrawal_rate", "deadline_bunching_rate")


def open_cases(con: duckdb.DuckDBPyConnection, config: Config, *, scope: str, as_of: dt.date) -> pl.DataFrame:
    """Every case open at `as_of` below `scope`, overdue first, with deadline, days left and status.

    The query lists the nation's open cases (one result per as-of date, kept in the publish's
    result cache and shared by every scope); the scope's subtree is then taken from it, in order."""
    register_inputs(con, config)
    nation = national_office(con) or scope
    every = run_on_facts(con, "open_cases", year=as_of.year, as_of=as_of, scope=nation)
    if scope == nation:
        return every
    below = [c for (c,) in rows(con, duck_sql("offices.subtree"), {"s": scope})]
    return every.filter(pl.col("office_code").is_in(below))


def acceptance_backlog(con: duckdb.DuckDBPyConnection, *, as_of: dt.date) -> pl.DataFrame:
    """Per office subtree: cases received by `as_of` and not yet accepted then."""
    return run(con, "acceptance_backlog", as_of=as_of)


def office_monitor(
    con: duckdb.DuckDBPyConnection,
    config: Config,
    *,
    year: int,
    level: str,
    within: str | None = None,
    as_of: dt.date | None = None,
) -> pl.DataFrame:
    """Disposition time, age profile and the integrity signals of each office of `level`, each
    beside the median of its peer group (`<signal>_peer_median`)."""
    as_of = as_of or dt.date(year, 12, 31)
    register_inputs(con, config)
    figures = run_on_facts(con, "office_monitor", year=year, as_of=as_of)
    offices = con.sql(duck_sql("offices.paths")).pl()
    table = offices.join(figures, on="office_code", how="left")
    peers, groups = peer_set(table, level=level, within=within, config=config)
    peers = peers.with_columns(pl.Series("peer_group", groups))
    medians = peers.group_by("peer_group").agg([pl.col(s).median().alias(f"{s}_peer_median") for s in SIGNALS])
    return peers.join(medians, on="peer_group", how="left").sort("office_code")
