"""Indicators E1–Q3 (SPEC §3.2) for every office and its whole subtree, for one year.

One SQL pass: `queries/case_facts.sql` gives one row per case and per office whose subtree holds
it; the configured numerator and denominator expressions are aggregated per office in a single
GROUP BY built as a sqlglot syntax tree. Values, the insufficient-data rule, the shrinkage of Q1
and the Clopper–Pearson interval of Q3 follow in Polars.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass

import duckdb
import numpy as np
import polars as pl
import sqlglot
from scipy.special import betaincinv
from sqlglot import exp

from metrics.calendar import acceptance_due
from metrics.config import Config
from queries.loader import FACT_INPUTS, facts_sql, facts_versions, reads_appraisals, run, sql
from queries.result_cache import cached_frame
from queries.statements import duck_sql
from queries.store import rows

FAR_FUTURE = dt.date(9999, 12, 31)


@dataclass
class IndicatorTable:
    """Wide table: one row per office; per indicator `<id>_num`, `_den`, `_value`, `_status`."""

    year: int
    as_of: dt.date
    frame: pl.DataFrame
    calendar_fallback_years: tuple[int, ...]


def register_inputs(con: duckdb.DuckDBPyConnection, config: Config) -> tuple[int, ...]:
    """Register the rule table and the working-day table the case facts join; return fallback years."""
    rules = []
    by_kind: dict[str, list] = {}
    for r in config.time_limits.rules:
        by_kind.setdefault(r.case_kind, []).append(r)
    for kind_rules in by_kind.values():
        for i, r in enumerate(kind_rules):
            end = kind_rules[i + 1].start if i + 1 < len(kind_rules) else FAR_FUTURE
            rules.append(
                {
                    "case_kind": r.case_kind,
                    "rule_start": r.start,
                    "rule_end": end,
                    "limit_months": r.limit.months,
                    "limit_days": r.limit.days,
                    "ext_months": r.max_extension.months,
                    "ext_days": r.max_extension.days,
                    "acceptance_working_days": r.acceptance_working_days,
                    "collective_extension": r.collective_extension,
                }
            )
    con.register(
        "time_limit_rules",
        pl.DataFrame(
            rules,
            schema={
                "case_kind": pl.String,
                "rule_start": pl.Date,
                "rule_end": pl.Date,
                "limit_months": pl.Int32,
                "limit_days": pl.Int32,
                "ext_months": pl.Int32,
                "ext_days": pl.Int32,
                "acceptance_working_days": pl.Int32,
                "collective_extension": pl.Boolean,
            },
        ),
    )
    lo, hi = rows(con, duck_sql("cases.received_range"))[0]
    lo, hi = lo or dt.date(2020, 1, 1), hi or dt.date(2020, 1, 1)
    parts, fallback = [], set()
    for n in sorted({r.acceptance_working_days for r in config.time_limits.rules if r.acceptance_working_days}):
        table = acceptance_due(lo, hi, n)
        parts.append(table.due.with_columns(pl.lit(n, dtype=pl.Int32).alias("n")))
        fallback |= set(table.fallback_years)
    due = (
        pl.concat(parts)
        if parts
        else pl.DataFrame(schema={"received_date": pl.Date, "due_date": pl.Date, "n": pl.Int32})
    )
    con.register("acceptance_due", due)
    return tuple(sorted(fallback))


def aggregate_sql(config: Config) -> str:
    """SELECT unit, every indicator's numerator and denominator and the headline's counts FROM case
    facts GROUP BY unit."""
    return _aggregate_sql(config.indicators)


def aggregate_reads_appraisals(config: Config) -> bool:
    """Whether any configured indicator reads the appraisal columns of the case facts."""
    return _reads_appraisals(config.indicators)


HEADLINE_QUERY = "place_headline"  # the counts a page's headline shows, aggregated in the same pass


@functools.cache
def _headline() -> tuple[tuple[exp.Expr, ...], bool]:
    """The headline's counts (the select list of queries/place_headline.sql but its office column),
    unqualified and named `headline_<name>`, and whether they read the appraisals."""
    text = sql(HEADLINE_QUERY)
    out = []
    for e in sqlglot.parse_one(text, read="duckdb").expressions:
        if e.alias_or_name == "office_code":
            continue
        body = (e.this if isinstance(e, exp.Alias) else e).copy()
        for column in body.find_all(exp.Column):
            column.set("table", None)
        out.append(exp.alias_(body, f"headline_{e.alias_or_name}"))
    return tuple(out), reads_appraisals(text)


@functools.lru_cache(maxsize=16)
def _reads_appraisals(indicators: tuple) -> bool:
    return _headline()[1] or reads_appraisals(*(e for ind in indicators for e in (ind.numerator, ind.denominator) if e))


@functools.lru_cache(maxsize=16)
def _aggregate_sql(indicators: tuple) -> str:
    facts = sqlglot.parse_one(facts_sql(_reads_appraisals(indicators)), read="duckdb")
    projections: list[exp.Expr] = [exp.column("unit").as_("office_code")]
    for ind in indicators:
        projections.append(sqlglot.parse_one(ind.numerator, read="duckdb").as_(f"{ind.id}_num"))
        if ind.denominator:
            projections.append(sqlglot.parse_one(ind.denominator, read="duckdb").as_(f"{ind.id}_den"))
    projections += [e.copy() for e in _headline()[0]]
    query = (
        exp.select(*projections)
        .from_(exp.Subquery(this=facts, alias=exp.TableAlias(this=exp.to_identifier("cf"))))
        .group_by(exp.column("unit"))
    )
    return query.sql(dialect="duckdb")


def clopper_pearson(k: np.ndarray, n: np.ndarray, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Exact binomial interval for k successes in n trials (NaN where n = 0).

    Beta quantiles through scipy.special.betaincinv, which is what scipy.stats.beta.ppf computes:
    importing scipy.stats costs about a second at every report and worker start."""
    k, n = np.asarray(k, float), np.asarray(n, float)
    a = (1 - level) / 2
    with np.errstate(invalid="ignore", divide="ignore"):
        lo = np.where(k > 0, betaincinv(k, n - k + 1, a), 0.0)
        hi = np.where(k < n, betaincinv(k + 1, n - k, 1 - a), 1.0)
    bad = n <= 0
    return np.where(bad, np.nan, lo), np.where(bad, np.nan, hi)


def compute_indicators(
    con: duckdb.DuckDBPyConnection, config: Config, *, year: int, as_of: dt.date | None = None
) -> IndicatorTable:
    """Every indicator for every office (its subtree) for `year`, judged as of `as_of`."""
    as_of = as_of or dt.date(year, 12, 31)
    fallback = register_inputs(con, config)
    params = {"year": year, "as_of": as_of}
    agg = cached_frame(
        con,
        aggregate_sql(config),
        params,
        depends=FACT_INPUTS,
        versions=facts_versions(con, aggregate_reads_appraisals(config), year),
    )
    staff = run(con, "subtree_staff", year=year)
    offices = con.sql(duck_sql("offices.paths")).pl()
    frame = offices.join(agg, on="office_code", how="left").join(staff, on="office_code", how="left")
    national = offices.filter(pl.col("level") == "national")["office_code"].to_list()
    out = []
    for ind in config.indicators:
        num = (
            pl.col(f"{ind.id}_num").cast(pl.Float64).fill_null(0.0)
            if ind.value != "median"
            else pl.col(f"{ind.id}_num").cast(pl.Float64)
        )
        if ind.value == "per_staff":
            den = pl.col("certified_staff").cast(pl.Float64).fill_null(0.0)
        elif ind.denominator:
            den = pl.col(f"{ind.id}_den").cast(pl.Float64).fill_null(0.0)
        else:
            den = pl.lit(None, dtype=pl.Float64)
        if ind.value == "count":
            value, enough = num, pl.lit(True)
        else:
            enough = (den >= ind.min_count) & (den > 0)
            if ind.value in ("ratio", "per_staff"):
                value = num / den
            elif ind.value == "median":
                value = num
            else:  # shrunk_mean
                nat = frame.filter(pl.col("office_code").is_in(national)).select(
                    pl.col(f"{ind.id}_num").cast(pl.Float64) / pl.col(f"{ind.id}_den").cast(pl.Float64)
                )
                nat_mean = nat.item() if nat.height and nat.item() is not None else 0.0
                value = (num + ind.shrinkage * nat_mean) / (den + ind.shrinkage)
        out += [
            num.alias(f"{ind.id}_num"),
            den.alias(f"{ind.id}_den"),
            pl.when(enough).then(value).otherwise(None).alias(f"{ind.id}_value"),
            pl.when(enough).then(pl.lit("ok")).otherwise(pl.lit("insufficient")).alias(f"{ind.id}_status"),
        ]
    result = frame.select(
        "office_code",
        "name",
        "level",
        "parent_code",
        "province_code",
        "prefecture_code",
        pl.col("certified_staff").fill_null(0),
        *out,
        pl.col("^headline_.*$"),  # null: no case of the office's subtree in the facts of the year
    )
    for ind in config.indicators:
        if ind.interval == "clopper_pearson":
            lo, hi = clopper_pearson(result[f"{ind.id}_num"].to_numpy(), result[f"{ind.id}_den"].to_numpy())
            result = result.with_columns(pl.Series(f"{ind.id}_ci_low", lo), pl.Series(f"{ind.id}_ci_high", hi))
    return IndicatorTable(year, as_of, result.sort("office_code"), fallback)
