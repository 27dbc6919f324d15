"""Load the named SQL files of `queries/` and run them with bound parameters."""

from __future__ import annotations

import functools
from importlib import resources
from typing import Any

import duckdb
import polars as pl

from queries.result_cache import cached_frame

# The registered relations queries/case_facts.sql joins (built by metrics.indicators.register_inputs).
FACT_INPUTS = ("time_limit_rules", "acceptance_due")


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


def on_facts(name: str) -> str:
    """`queries/<name>.sql`, which reads the relation `case_facts`, with the case facts as a CTE."""
    return f"WITH case_facts AS ({sql('case_facts')})\n{sql(name)}"


def run_on_facts(con: duckdb.DuckDBPyConnection, name: str, *, keep: bool = True, **params: Any) -> pl.DataFrame:
    """Run a query over the case facts (the caller has registered their inputs).

    `keep`: take the result from, and keep it in, the publish's result cache (queries/result_cache.py);
    False for a lookup of one case, which is fast anyway and would leave a file per case."""
    if not keep:
        return con.sql(on_facts(name), params=params).pl()
    return cached_frame(con, on_facts(name), params, depends=FACT_INPUTS)


def national_office(con: duckdb.DuckDBPyConnection) -> str | None:
    """The national office's code (None in a store without one)."""
    got = con.execute("SELECT office_code FROM offices WHERE level = 'national'").fetchall()
    return got[0][0] if got else None


def in_subtree(alias: str, param: str) -> str:
    """SQL condition: office `alias` lies in the subtree of the office bound to `$param` (the national
    office's subtree is everything)."""
    a = alias
    return (f"(${param} IN ({a}.office_code, {a}.province_code, {a}.prefecture_code, {a}.parent_code) "
            f"OR ${param} = (SELECT n.office_code FROM offices AS n WHERE n.level = 'national'))")
