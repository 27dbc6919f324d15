"""Every SQL statement the product runs is in a `.sql` file, checked against the declared schema."""

from __future__ import annotations

import ast
import re
import sqlite3
from pathlib import Path

import pytest
import sqlglot
from sqlglot.errors import OptimizeError

from access.opstore import POSTGRES_SCHEMA, SQLITE_SCHEMA, to_postgres
from queries.schema import check_ops_sql, check_sql, ops_schema
from queries.statements import (
    ANALYTIC,
    OPS,
    StatementError,
    collection,
    declared,
    duck_sql,
    every,
    insert_sql,
    op_sql,
    update_sql,
    where_in,
)
from tests import PRODUCT, ROOT

PACKAGES = PRODUCT
SCHEMA_FILES = ("schema", "schema_sqlite", "schema_postgres")
OPS_STATEMENTS = [(ref, text) for ref, text in every(OPS) if ref.split(".")[0] not in SCHEMA_FILES]


@pytest.mark.parametrize("ref, text", every(ANALYTIC), ids=[r for r, _ in every(ANALYTIC)])
def test_every_duckdb_statement_is_qualified_against_the_declared_schema(ref: str, text: str) -> None:
    check_sql(text, declared(ANALYTIC, ref.split(".")[0]))


@pytest.mark.parametrize("ref, text", OPS_STATEMENTS, ids=[r for r, _ in OPS_STATEMENTS])
def test_every_operational_statement_is_qualified_and_transpiles_to_postgres(ref: str, text: str) -> None:
    check_ops_sql(text, declared(OPS, ref.split(".")[0]))
    assert to_postgres(text).count("%s") == text.count("?")


def test_the_checks_refuse_unknown_tables_columns_and_macro_bodies() -> None:
    with pytest.raises(OptimizeError, match="nope"):
        check_ops_sql("SELECT nope FROM plans WHERE plan_id = ?")
    with pytest.raises(OptimizeError, match="plan_z"):
        check_ops_sql("SELECT p.plan_id FROM plan_z AS p")
    with pytest.raises(OptimizeError, match="wanted"):
        check_sql("SELECT w.office_code FROM wanted AS w")  # a working relation nobody declared
    check_sql("SELECT w.office_code FROM wanted AS w", {"wanted": {"office_code": "VARCHAR"}})
    with pytest.raises(OptimizeError, match="nope"):
        check_sql("CREATE OR REPLACE TEMP MACRO m(_a) AS _a IN (SELECT s.nope FROM offices AS s)")


def test_the_operational_schema_runs_on_sqlite_and_parses_for_postgres() -> None:
    con = sqlite3.connect(":memory:")
    for statement in SQLITE_SCHEMA:
        con.execute(statement)
    assert {"users", "audit_log", "plans", "draws", "appraisals", "report_jobs", "data_versions"} <= set(ops_schema())
    assert len(POSTGRES_SCHEMA) == len(SQLITE_SCHEMA)  # a trigger function and a trigger for two triggers
    assert POSTGRES_SCHEMA[1:-2] == SQLITE_SCHEMA[1:-2]  # the shared tables are the same text


def test_the_users_table_of_each_backend_has_the_same_columns() -> None:
    """The users table is written per backend (its generated key differs); everything but the key
    must agree, so a column added to one file and not the other fails here."""

    def columns(statement: str, dialect: str) -> dict[str, str]:
        table = sqlglot.parse_one(statement, read=dialect).this
        return {c.name: c.sql(dialect="sqlite") for c in table.expressions if c.name != "user_id"}

    sqlite_users, pg_users = SQLITE_SCHEMA[0], POSTGRES_SCHEMA[0]
    assert "TABLE IF NOT EXISTS users" in sqlite_users and "TABLE IF NOT EXISTS users" in pg_users
    got = columns(sqlite_users, "sqlite")
    assert {"username", "role", "scope_code", "password_hash", "session_version"} <= set(got)
    assert columns(pg_users, "postgres") == got


def _sql_constants(path: Path) -> list[tuple[int, str]]:
    """String constants (and f-strings) of a module that look like SQL statements, docstrings aside."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docs = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
    }
    statement = re.compile(r"^\s*(WITH|SELECT|INSERT|UPDATE|DELETE|CREATE|DROP|ALTER|PRAGMA|BEGIN|COMMIT)\s", re.I)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs:
            text = node.value
        elif isinstance(node, ast.JoinedStr):
            text = "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
        else:
            continue
        if statement.match(text) and re.search(r"\b(FROM|INTO|SET|TABLE|VIEW|MACRO|TRANSACTION|IMMEDIATE)\b", text):
            found.append((node.lineno, " ".join(text.split())[:80]))
    return found


def test_no_product_module_holds_a_sql_statement() -> None:
    found = {
        f"{path.relative_to(ROOT)}:{line}": text
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        for line, text in _sql_constants(path)
    }
    assert found == {}, "SQL belongs in queries/**/*.sql:\n" + "\n".join(f"{k}: {v}" for k, v in found.items())


def _references() -> set[tuple[str, str]]:
    refs = set()
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            refs |= {(OPS, r) for r in re.findall(r'\bop_sql\("([\w.]+)"\)', text)}
            refs |= {(ANALYTIC, r) for r in re.findall(r'\bduck_sql\("([\w.]+)"\)', text)}
    return refs


def test_every_statement_the_code_names_exists_and_every_statement_is_used() -> None:
    refs = _references()
    assert len(refs) > 100
    for folder, ref in refs:
        (op_sql if folder == OPS else duck_sql)(ref)
    with pytest.raises(StatementError, match="no statement users.nope"):
        op_sql("users.nope")
    named = {(OPS, r) for r, _ in OPS_STATEMENTS} | {(ANALYTIC, r) for r, _ in every(ANALYTIC)}
    whole_files = {(ANALYTIC, f"macros.{n}") for n in collection(ANALYTIC, "macros")}  # installed as a file
    assert named - refs - whole_files == set()


def test_statements_built_as_trees() -> None:
    assert insert_sql("t", ["a", "b"]) == "INSERT INTO t (a, b) VALUES (?, ?)"
    assert where_in("SELECT a FROM t", {"d": 2, "e": 0}) == "SELECT a FROM t WHERE d IN (?, ?) AND FALSE"
    assert update_sql("t", ["a"], ["k", "w"]) == "UPDATE t SET a = ? WHERE k = ? AND w = ?"
    # a value is never pasted in: the only values are parameters
    tree = sqlglot.parse_one(where_in("SELECT a FROM t WHERE x = 'it''s'", {"d": 1}), read="sqlite")
    assert tree.sql(dialect="sqlite") == "SELECT a FROM t WHERE x = 'it''s' AND d IN (?)"
