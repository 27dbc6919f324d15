"""The declared schema of the store, read from the migrations, for checking SQL with sqlglot."""

from __future__ import annotations

import functools

import duckdb
import sqlglot
from sqlglot.optimizer.qualify import qualify

from queries.store import migrate, rows


# Tables the metrics engine registers from Python before running the case facts (metrics/indicators.py).
REGISTERED = {
    "time_limit_rules": {"case_kind": "VARCHAR", "rule_start": "DATE", "rule_end": "DATE", "limit_months": "INTEGER",
                         "limit_days": "INTEGER", "ext_months": "INTEGER", "ext_days": "INTEGER",
                         "acceptance_working_days": "INTEGER"},
    "acceptance_due": {"received_date": "DATE", "due_date": "DATE", "n": "INTEGER"},
}


@functools.cache
def declared_schema() -> dict[str, dict[str, str]]:
    """{table: {column: type}} of a store built by every shipped migration."""
    con = duckdb.connect()
    try:
        migrate(con)
        found: dict[str, dict[str, str]] = {}
        for table, column, dtype in rows(con, "SELECT table_name, column_name, data_type FROM "
                                              "information_schema.columns ORDER BY table_name, ordinal_position"):
            found.setdefault(table, {})[column] = dtype
        return {**found, **REGISTERED}
    finally:
        con.close()


def check_sql(text: str) -> sqlglot.Expression:
    """Parse `text` as DuckDB SQL and qualify every table and column against the declared schema.

    Raises sqlglot's ParseError or OptimizeError naming the unknown table or column.
    """
    expression = sqlglot.parse_one(text, read="duckdb")
    return qualify(expression, schema=declared_schema(), dialect="duckdb", validate_qualify_columns=True,
                   identify=False)
