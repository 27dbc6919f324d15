"""The declared schema of the store, read from the migrations, for checking SQL with sqlglot."""

from __future__ import annotations

import functools
import sqlite3
from typing import cast

import duckdb
import sqlglot
from sqlglot import exp
from sqlglot.errors import OptimizeError
from sqlglot.optimizer.qualify import qualify

from queries.loader import sql
from queries.operational import RELATIONS
from queries.statements import duck_sql, op_sql
from queries.store import migrate, rows

# Tables the metrics engine registers from Python before running the case facts (metrics/indicators.py).
REGISTERED = {
    "time_limit_rules": {
        "case_kind": "VARCHAR",
        "rule_start": "DATE",
        "rule_end": "DATE",
        "limit_months": "INTEGER",
        "limit_days": "INTEGER",
        "ext_months": "INTEGER",
        "ext_days": "INTEGER",
        "acceptance_working_days": "INTEGER",
        "collective_extension": "BOOLEAN",
    },
    "acceptance_due": {"received_date": "DATE", "due_date": "DATE", "n": "INTEGER"},
    # The operational records every reader registers (queries/operational.py).
    **RELATIONS,
}


@functools.cache
def declared_schema() -> dict[str, object]:
    """{table: {column: type}} of a store built by every shipped migration."""
    con = duckdb.connect()
    try:
        migrate(con)
        found: dict[str, dict[str, str]] = {}
        for table, column, dtype in rows(con, duck_sql("store.all_columns")):
            found.setdefault(table, {})[column] = dtype
        for name, cols in REGISTERED.items():
            columns = [
                exp.ColumnDef(this=exp.to_identifier(c), kind=exp.DataType.build(t, dialect="duckdb"))
                for c, t in cols.items()
            ]
            table = exp.Schema(this=exp.to_table(name), expressions=columns)
            con.execute(exp.Create(this=table, kind="TABLE").sql(dialect="duckdb"))
        # `case_facts` is the relation the indicator, monitoring and integrity queries read; its
        # columns are whatever queries/case_facts.sql yields.
        described = con.execute(
            exp.Describe(this=sqlglot.parse_one(sql("case_facts"), read="duckdb")).sql(dialect="duckdb"),
            {"year": 2000, "as_of": "2000-12-31"},
        ).fetchall()
        facts = {r[0]: r[1] for r in described}
        return {**found, **REGISTERED, "case_facts": facts}
    finally:
        con.close()


# The catalogue views the store's own statements read (migrations, ingest's column lists).
INFORMATION_SCHEMA = {
    "tables": {"table_name": "VARCHAR", "table_schema": "VARCHAR"},
    "columns": {
        "table_name": "VARCHAR",
        "table_schema": "VARCHAR",
        "column_name": "VARCHAR",
        "data_type": "VARCHAR",
        "ordinal_position": "INTEGER",
    },
}


def check_sql(text: str, extra: dict[str, dict[str, str]] | None = None) -> exp.Expr:
    """Parse `text` as DuckDB SQL and qualify every table and column against the declared schema
    (and the working relations `extra`, {relation: {column: type}}).

    Raises sqlglot's ParseError or OptimizeError naming the unknown table or column.
    """
    main = {**declared_schema(), **(extra or {})}
    # Readers attach the store file as `store` (queries/store.py); `store.meta` is the same table.
    schema = {"main": main, "store": declared_schema(), "information_schema": INFORMATION_SCHEMA}
    expression = sqlglot.parse_one(text, read="duckdb")
    if isinstance(expression, exp.Create) and str(expression.args.get("kind")).upper() == "MACRO":
        # A macro's body is checked as a SELECT of it, its parameters standing for bound values.
        params = {p.name for p in expression.this.expressions}
        body = expression.expression.transform(
            lambda n: exp.Placeholder(this=n.name) if isinstance(n, exp.Column) and n.name in params else n
        )
        _qualified(exp.select(body), schema, "duckdb")
        return expression
    return _qualified(expression, schema, "duckdb")


@functools.cache
def ops_schema() -> dict[str, dict[str, str]]:
    """{table: {column: type}} of the operational store, from its SQLite schema (queries/ops/schema*.sql)."""
    from access.opstore import SQLITE_SCHEMA  # the schema statements, in the order the store runs them

    con = sqlite3.connect(":memory:")
    try:
        for statement in SQLITE_SCHEMA:
            con.execute(statement)
        tables = [t for (t,) in con.execute(op_sql("store.tables")).fetchall()]
        return {t: {r[0]: r[1] or "TEXT" for r in con.execute(op_sql("store.column_types"), (t,))} for t in tables}
    finally:
        con.close()


def check_ops_sql(text: str, extra: dict[str, dict[str, str]] | None = None) -> exp.Expr:
    """Parse `text` as an operational-store statement (SQLite's dialect) and qualify every table and
    column against the operational schema (and, for reads of the catalogue, PostgreSQL's)."""
    schema: dict[str, object] = {"main": {**ops_schema(), **(extra or {})}, "information_schema": INFORMATION_SCHEMA}
    return _qualified(sqlglot.parse_one(text, read="sqlite"), schema, "sqlite")


def _qualified(expression: exp.Expr, schema: dict[str, object], dialect: str) -> exp.Expr:
    """`expression` qualified against `schema`; every table it reads must be in the schema or one
    of its own CTEs (qualify alone takes a column of an unknown table on trust)."""
    done = qualify(expression, schema=schema, db="main", dialect=dialect, validate_qualify_columns=True, identify=False)
    ctes = {cte.alias_or_name for cte in done.find_all(exp.CTE)}
    for table in done.find_all(exp.Table):
        created = isinstance(table.parent, (exp.Create, exp.UserDefinedFunction)) and table.arg_key == "this"
        if created or not isinstance(table.this, exp.Identifier) or table.name in ctes:
            continue  # what the statement creates, a table function, or a CTE
        if table.name not in cast(dict, schema.get(table.db or "main", {})):
            raise OptimizeError(f"unknown table {table.db or 'main'}.{table.name}")
    return done
