"""Load the named SQL files of `queries/` and run them with bound parameters."""

from __future__ import annotations

import functools
from importlib import resources
from typing import Any

import duckdb
import polars as pl
import sqlglot
from sqlglot import exp


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


NATIONAL = "(SELECT n.office_code FROM offices AS n WHERE n.level = 'national')"


@functools.lru_cache(maxsize=64)
def by_unit(text: str) -> str:
    """Rewrite a query over `case_facts AS f` grouped by `f.unit` to aggregate every office's subtree.

    One pass with GROUPING SETS: the case's own office (kept for counties, which have no subtree),
    its prefecture, its province and the nation; `f.unit` in the select list becomes the office of
    the grouping set. Cheaper than repeating each case once per ancestor.
    """
    tree = sqlglot.parse_one(text, read="duckdb")
    select = tree if isinstance(tree, exp.Select) else tree.find(exp.Select)
    a = "f"
    unit = sqlglot.parse_one(
        f"CASE WHEN GROUPING({a}.office_code) = 0 THEN {a}.office_code "
        f"WHEN GROUPING({a}.prefecture_code) = 0 THEN {a}.prefecture_code "
        f"WHEN GROUPING({a}.province_code) = 0 THEN {a}.province_code ELSE {NATIONAL} END", read="duckdb")
    for col in list(select.find_all(exp.Column)):
        if col.name == "unit" and col.table == a:
            col.replace(unit.copy())
    shape = sqlglot.parse_one(
        f"SELECT 1 FROM t GROUP BY GROUPING SETS (({a}.office_code, {a}.office_level), ({a}.prefecture_code), "
        f"({a}.province_code), ()) HAVING (GROUPING({a}.office_code) = 0 AND {a}.office_level = 'county') "
        f"OR (GROUPING({a}.prefecture_code) = 0 AND {a}.prefecture_code IS NOT NULL) "
        f"OR (GROUPING({a}.province_code) = 0 AND {a}.province_code IS NOT NULL) "
        f"OR (GROUPING({a}.office_code) = 1 AND GROUPING({a}.prefecture_code) = 1 "
        f"AND GROUPING({a}.province_code) = 1)", read="duckdb")
    select.set("group", shape.args["group"])
    select.set("having", shape.args["having"])
    return tree.sql(dialect="duckdb")


def on_facts(name: str) -> str:
    """`queries/<name>.sql`, which reads the relation `case_facts`, with the case facts as a CTE
    (and, where it groups by `f.unit`, aggregated by subtree)."""
    body = sql(name)
    if "f.unit" in body and "GROUP BY" in body.upper():
        body = by_unit(body)
    return f"WITH case_facts AS ({sql('case_facts')})\n{body}"


def run_on_facts(con: duckdb.DuckDBPyConnection, name: str, **params: Any) -> pl.DataFrame:
    """Run a query over the case facts (the caller has registered their inputs)."""
    return con.sql(on_facts(name), params=params).pl()
