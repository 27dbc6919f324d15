"""Everything the annual assessment workbook shows, computed once, already limited to one scope.

The ranking is the same computation as `ipdash scores` for the same year, level and scope, so the
workbook's figures equal the command line's. The scope decides what is ranked: the nation ranks
its provincial offices; a provincial office its prefectures; a prefecture office its counties.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import duckdb
import numpy as np
import polars as pl

from metrics.config import Config
from metrics.indicators import clopper_pearson, register_inputs
from metrics.monitor import office_monitor, open_cases
from metrics.ranking import Ranking, TableOf, composites, rank_offices
from queries.loader import run_on_facts
from queries.statements import duck_sql
from queries.store import scalar

NEXT_LEVEL = {"national": "provincial", "provincial": "prefecture", "prefecture": "county", "county": "county"}


class ReportError(ValueError):
    """The report cannot be made as asked (unknown scope, no data for the year)."""


@dataclass
class ReportData:
    year: int
    as_of: dt.date
    scope: str
    scope_name: str
    level: str
    within: str | None
    ranking: Ranking
    trend: pl.DataFrame  # office_code, name, then one composite column per year
    overdue: pl.DataFrame
    inspections: pl.DataFrame
    integrity: pl.DataFrame
    demo: str | None
    offices: set[str] = field(default_factory=set)
    # The rectification notices of the year's inspections in scope (inspection.rectification.for_report),
    # filled by the caller, which reads the operational store; judged overdue at `rectification_as_of`.
    rectifications: list[dict] = field(default_factory=list)
    rectification_as_of: dt.date | None = None
    # The points-table assessment of the offices in scope (inspection.assessment.for_workbook), filled
    # by the caller: {"title", "version", "sections": [{"id", "zh", "en", "items": [{"id", "zh", "en"}]}],
    # "offices": [the scheme's rows]}; None: no sheets for it.
    assessment: dict | None = None


def scope_of(con: duckdb.DuckDBPyConnection, scope: str | None) -> tuple[str, str, str]:
    """(office code, name, level) of the report's scope; the national office when None."""
    if scope is None:
        row = con.execute(duck_sql("offices.national")).fetchall()
    else:
        row = con.execute(duck_sql("offices.one"), {"c": scope}).fetchall()
    if not row:
        raise ReportError(f"office {scope} is not in the office roster" if scope else "no national office loaded")
    return row[0]


def inspection_results(
    con: duckdb.DuckDBPyConnection, config: Config, *, year: int, as_of: dt.date, offices: list[str]
) -> pl.DataFrame:
    """Per office subtree: appraisals of cases closed in the year, grades, unqualified rate with its
    95% Clopper–Pearson interval, and the projected number of unqualified archives among its closed cases."""
    register_inputs(con, config)
    agg = run_on_facts(con, "inspection_results", year=year, as_of=as_of)
    frame = (
        pl.DataFrame({"office_code": offices})
        .join(agg, on="office_code", how="left")
        .with_columns(
            [
                pl.col(c).fill_null(0)
                for c in ("appraised", "excellent", "good", "qualified", "unqualified", "closed_cases")
            ]
        )
    )
    lo, hi = clopper_pearson(frame["unqualified"].to_numpy(), frame["appraised"].to_numpy())
    rate = np.divide(
        frame["unqualified"].to_numpy(),
        frame["appraised"].to_numpy(),
        out=np.full(frame.height, np.nan),
        where=frame["appraised"].to_numpy() > 0,
    )
    return frame.with_columns(
        pl.Series("unqualified_rate", rate).fill_nan(None),
        pl.Series("ci_low", lo).fill_nan(None),
        pl.Series("ci_high", hi).fill_nan(None),
        (pl.Series("projected_unqualified", rate) * pl.col("closed_cases")).fill_nan(None).round(1),
    )


def collect(
    con: duckdb.DuckDBPyConnection,
    config: Config,
    *,
    year: int,
    scope: str | None,
    as_of: dt.date | None = None,
    runs: int | None = None,
    table_of: TableOf | None = None,
) -> ReportData:
    """Compute every figure of the workbook for `scope` (None: the nation).

    `table_of` supplies the indicator tables (the dashboard passes its cache, so that a download
    reuses what its pages computed); by default they are computed here."""
    as_of = as_of or dt.date(year, 12, 31)
    code, name, level = scope_of(con, scope)
    if not scalar(con, duck_sql("cases.count_in_year"), {"y": year}):
        raise ReportError(f"no cases accepted or closed in {year}")
    rank_level = NEXT_LEVEL[level]
    within = None if level == "national" else code
    ranking = rank_offices(
        con, config, year=year, level=rank_level, within=within, as_of=as_of, runs=runs, table_of=table_of
    )
    codes = [o["office_code"] for o in ranking.offices]

    years = [y for (y,) in con.execute(duck_sql("cases.years")).fetchall() if year - 4 <= y <= year]
    trend = pl.DataFrame({"office_code": codes, "name": [o["name"] for o in ranking.offices]})
    for y in years:
        if y == year:
            values = {o["office_code"]: o["composite"] for o in ranking.offices}
        elif y == year - 1 and ranking.previous_composites and ranking.methodology["method"] == config.scoring.method:
            values = ranking.previous_composites
        else:
            values = composites(con, config, year=y, level=rank_level, within=within, table_of=table_of)
        trend = trend.with_columns(pl.Series(str(y), [values.get(c) for c in codes], dtype=pl.Float64))

    overdue = open_cases(con, config, scope=code, as_of=as_of).filter(pl.col("status") == "overdue")
    named = dict(
        con.execute(duck_sql("offices.names"), {"c": sorted(set(overdue["office_code"].to_list()))}).fetchall()
    )
    overdue = overdue.with_columns(  # the workbook names each office, not only its code
        pl.col("office_code").replace_strict(named, default=None, return_dtype=pl.String).alias("office_name")
    )
    integrity = office_monitor(con, config, year=year, level=rank_level, within=within, as_of=as_of)
    integrity = integrity.filter(pl.col("office_code").is_in(codes))
    inspections = inspection_results(con, config, year=year, as_of=as_of, offices=codes)
    demo = scalar(con, duck_sql("meta.demo"))
    return ReportData(
        year, as_of, code, name, rank_level, within, ranking, trend, overdue, inspections, integrity, demo, set(codes)
    )
