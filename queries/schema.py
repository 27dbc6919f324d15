"""The declared schema of the store, read from the migrations, for checking SQL with sqlglot."""

from __future__ import annotations

import functools

import duckdb
import sqlglot
from sqlglot import exp
from sqlglot.optimizer.qualify import qualify

from queries.loader import sql
from queries.operational import RELATIONS
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
        for table, column, dtype in rows(
            con,
            "SELECT table_name, column_name, data_type FROM "
            "information_schema.columns ORDER BY table_name, ordinal_position",
        ):
            found.setdefault(table, {})[column] = dtype
        for name, cols in REGISTERED.items():
            con.execute(f"CREATE TABLE {name} ({', '.join(f'{c} {t}' for c, t in cols.items())})")
        # `case_facts` is the relation the indicator, monitoring and integrity queries read; its
        # columns are whatever queries/case_facts.sql yields.
        described = con.execute(f"DESCRIBE {sql('case_facts')}", {"year": 2000, "as_of": "2000-12-31"}).fetchall()
        facts = {r[0]: r[1] for r in described}
        return {**found, **REGISTERED, "case_facts": facts}
    finally:
        con.close()


def check_sql(text: str) -> exp.Expr:
    """Parse `text` as DuckDB SQL and qualify every table and column against the declared schema.

    Raises sqlglot's ParseError or OptimizeError naming the unknown table or column.
    """
    expression = sqlglot.parse_one(text, read="duckdb")
    return qualify(
        expression, schema=declared_schema(), dialect="duckdb", validate_qualify_columns=True, identify=False
    )
