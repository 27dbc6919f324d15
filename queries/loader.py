"""Load the named SQL files of `queries/` and run them with bound parameters."""

from __future__ import annotations

import functools
from importlib import resources
from typing import Any

import duckdb
import polars as pl
import sqlglot
from sqlglot import exp

from queries.operational import appraisal_version
from queries.result_cache import cached_frame
from queries.statements import duck_sql

# The registered relations queries/case_facts.sql joins (built by metrics.indicators.register_inputs).
FACT_INPUTS = ("time_limit_rules", "acceptance_due")
# The columns of the case facts that come from the appraisals (operational records).
APPRAISAL_COLUMNS = frozenset({"appraised", "appraisal_total", "grade"})


@functools.cache
def sql(name: str) -> str:
    """The text of `queries/<name>.sql`."""
    return (resources.files("queries") / f"{name}.sql").read_text(encoding="utf-8")


def run(con: duckdb.DuckDBPyConnection, name: str, **params: Any) -> pl.DataFrame:
    """Run `queries/<name>.sql` with `params` bound by name; return a Polars frame."""
    return con.sql(sql(name), params=params).pl()


def sql_names() -> list[str]:
    """Every shipped query (not the migrations)."""
    return sorted(e.name[:-4] for e in resources.files("queries").iterdir() if e.name.endswith(".sql"))


def reads_appraisals(*texts: str) -> bool:
    """Whether SQL over the case facts uses any of their appraisal columns."""
    return any(
        isinstance(node, exp.Column) and node.name in APPRAISAL_COLUMNS
        for text in texts
        for node in sqlglot.parse_one(text, read="duckdb").walk()
    )


@functools.cache
def facts_sql(appraised: bool = True) -> str:
    """The case facts; with `appraised` False, without the appraisals (their columns say "not
    appraised"), so that a query that never looks at them does not depend on them either."""
    text = sql("case_facts")
    if appraised:
        return text

    def empty(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Table) and node.name == "appraisals":
            body = exp.select("*").from_(exp.to_table("appraisals")).where(exp.false())
            return exp.Subquery(this=body, alias=exp.TableAlias(this=exp.to_identifier(node.alias_or_name)))
        return node

    return sqlglot.parse_one(text, read="duckdb").transform(empty).sql(dialect="duckdb")


def facts_versions(con: duckdb.DuckDBPyConnection, appraised: bool, year: int) -> dict[str, int]:
    """What a result over the year's case facts depends on in the operational store."""
    return {"appraisals": appraisal_version(con, year)} if appraised else {}


def with_facts(text: str, appraised: bool) -> str:
    """Query `text`, which reads the relation `case_facts`, with the case facts as its first CTE
    (built on the syntax tree: the query may have CTEs of its own, which may read the facts)."""
    query = sqlglot.parse_one(text, read="duckdb")
    cte = exp.CTE(
        this=sqlglot.parse_one(facts_sql(appraised), read="duckdb"),
        alias=exp.TableAlias(this=exp.to_identifier("case_facts")),
    )
    existing = query.args.get("with_")
    if existing is not None:
        existing.set("expressions", [cte, *existing.expressions])
    else:
        query.set("with_", exp.With(expressions=[cte]))
    return query.sql(dialect="duckdb")


@functools.cache
def _on_facts(name: str) -> tuple[str, bool]:
    appraised = reads_appraisals(sql(name))
    return with_facts(sql(name), appraised), appraised


def on_facts(name: str) -> str:
    """`queries/<name>.sql`, which reads the relation `case_facts`, with the case facts as a CTE
    (with the appraisals only when the query reads their columns)."""
    return _on_facts(name)[0]


def run_on_facts(con: duckdb.DuckDBPyConnection, name: str, *, keep: bool = True, **params: Any) -> pl.DataFrame:
    """Run a query over the case facts (the caller has registered their inputs).

    `keep`: take the result from, and keep it in, the publish's result cache (queries/result_cache.py);
    False for a lookup of one case, which is fast anyway and would leave a file per case."""
    text, appraised = _on_facts(name)
    if not keep:
        return con.sql(text, params=params).pl()
    return cached_frame(
        con, text, params, depends=FACT_INPUTS, versions=facts_versions(con, appraised, int(params["year"]))
    )


def national_office(con: duckdb.DuckDBPyConnection) -> str | None:
    """The national office's code (None in a store without one)."""
    got = con.execute(duck_sql("offices.national_code")).fetchall()
    return got[0][0] if got else None
