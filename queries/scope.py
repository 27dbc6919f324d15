"""Scope on the server: rewrite every read so it sees only the user's subtree of offices (SPEC §5).

Each reference to a scoped table, wherever it sits (the main query, a subquery, a CTE, either side
of a join or a union), is replaced by a subquery of the same table filtered to the scope, under
the same alias. Replacing the table rather than adding a WHERE clause keeps the meaning of outer
joins and aggregates, and it cannot be undone by the rest of the query. The scope value is a bound
parameter; the only thing accepted is a single read-only SELECT over known tables.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import sqlglot
from sqlglot import exp

from queries.schema import declared_schema

SCOPE_PARAM = "scope_code"
# Every table of the declared schema (queries/schema.py) states here who may read it: a scoped
# table names the column holding the office whose subtree decides visibility (None: national users
# only), a public one says why it holds nothing of any office. A table that states neither is
# refused to every scoped user (fail closed), and a test fails until it is declared.
SCOPED: dict[str, str | None] = {
    "cases": "office_code",
    "case_facts": "office_code",
    "appraisals": "office_code",
    "legacy_appraisals": "office_code",
    "staffing": "office_code",
    "inspectors": "office_code",
    "offices": "office_code",
    "draw_samples": "office_code",
    "legacy_draw_samples": "office_code",
    "quarantine": None,  # raw rejected rows of any office
    "ingest_runs": None,  # file names and counts of every load
}
PUBLIC = {
    "meta": "the store's data version and publish time",
    "time_limit_rules": "the legal time limits (configuration)",
    "acceptance_due": "the working-day calendar: dates only",
    "appraisal_versions": "per-year change counters",
}
FORBIDDEN = (
    exp.Insert,
    exp.Update,
    exp.Delete,
    exp.Create,
    exp.Drop,
    exp.Alter,
    exp.Command,
    exp.Merge,
    exp.Copy,
    exp.Pragma,
    exp.Set,
    exp.Use,
    exp.Transaction,
    exp.Commit,
    exp.Rollback,
)


# Functions that read or list files: never allowed, whatever the scope.
FILE_FUNCTIONS = (
    "read_",
    "glob",
    "parquet_",
    "sniff_",
    "duckdb_",
    "iceberg_",
    "delta_",
    "sqlite_",
    "json_read",
    "query_table",
    "query",
)


class ScopeError(ValueError):
    """The query is not a single read over known tables, or it cannot be scoped."""


@dataclass(frozen=True)
class Scope:
    """What a user may read: everything (`office_code` None), one office's subtree, or — for an
    inspector — only the archives listed in the registered table `scope_archives`."""

    office_code: str | None
    archives_only: bool = False

    @property
    def national(self) -> bool:
        return self.office_code is None and not self.archives_only


ARCHIVE_TABLE = "scope_archives"  # (office_code, case_no) registered by the runner for an inspector


def _subtree_predicate(column: exp.Expr) -> exp.Expr:
    """`column IN (offices in the subtree of $scope_code)`."""
    return exp.func("in_subtree", column, exp.Placeholder(this=SCOPE_PARAM))


PER_ARCHIVE = {"cases", "appraisals", "draw_samples"}


def _archive_predicate(name: str) -> exp.Expr:
    """An inspector sees the archives assigned to them, and the offices those archives belong to."""
    if name in PER_ARCHIVE:
        return sqlglot.parse_one(
            f"EXISTS (SELECT 1 FROM {ARCHIVE_TABLE} AS a WHERE a.office_code = __t.office_code "
            "AND a.case_no = __t.case_no)",
            read="duckdb",
        )
    return sqlglot.parse_one(f"__t.office_code IN (SELECT a.office_code FROM {ARCHIVE_TABLE} AS a)", read="duckdb")


def _scoped_source(table: exp.Table, scope: Scope) -> exp.Expr:
    name = table.name.lower()
    alias = table.alias_or_name
    column = SCOPED[name]
    if column is None:  # rows of any office, not attributable to one: national only
        body = exp.select("*").from_(exp.to_table(name)).where(exp.false())
    elif scope.archives_only:
        body = exp.select("*").from_(exp.to_table(name, alias="__t")).where(_archive_predicate(name))
    else:
        body = (
            exp.select("*")
            .from_(exp.to_table(name, alias="__t"))
            .where(_subtree_predicate(exp.column(column, table="__t")))
        )
    return exp.Subquery(this=body, alias=exp.TableAlias(this=exp.to_identifier(alias)))


def _check_read_only(tree: exp.Expr) -> None:
    if not isinstance(tree, (exp.Select, exp.Union, exp.Intersect, exp.Except)):
        raise ScopeError(f"only a SELECT may run here, not {type(tree).__name__.upper()}")
    for node in tree.walk():
        if isinstance(node, FORBIDDEN):
            raise ScopeError(f"only reads may run here ({type(node).__name__.upper()} found)")


@functools.lru_cache(maxsize=2048)
def scope_sql(text: str, scope: Scope, *, extra_tables: frozenset[str] = frozenset()) -> str:
    """Return `text` rewritten so every scoped table only yields rows of `scope`'s subtree.

    Args:
        text: one DuckDB SELECT statement; named parameters `$name` are kept.
        scope: the user's scope; a national scope returns the query checked but unchanged.
        extra_tables: tables registered for this query (not stored, not scoped) that it may read.
    Raises:
        ScopeError: several statements, anything but a read, or an unknown table or table function.

    Pure, so its results are cached (a refusal is not: it raises again each time); user values never
    appear in `text`, they are bound parameters.
    """
    try:
        statements = [s for s in sqlglot.parse(text, read="duckdb") if s is not None]
    except sqlglot.errors.ParseError as exc:
        raise ScopeError(f"not valid SQL: {str(exc).splitlines()[0]}") from exc
    if len(statements) != 1:
        raise ScopeError("exactly one statement may run at a time")
    tree = statements[0]
    _check_read_only(tree)
    known = set(declared_schema()) | set(extra_tables) | ({ARCHIVE_TABLE} if scope.archives_only else set())
    ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    for fn in tree.find_all(exp.Func):
        name = (fn.name if isinstance(fn, exp.Anonymous) else fn.sql_name()).lower()
        if name.startswith(FILE_FUNCTIONS):
            raise ScopeError(f"function {name} is not allowed: it reads files")
    tables = list(tree.find_all(exp.Table))
    for table in tables:
        if not isinstance(table.this, exp.Identifier):
            raise ScopeError(f"table functions are not allowed ({table.sql()})")
        name = table.name.lower()
        if table.args.get("db") or table.args.get("catalog"):
            raise ScopeError(f"qualified table names are not allowed ({table.sql()})")
        if name in ctes:
            continue
        if name not in known:
            raise ScopeError(f"unknown table {table.name}")
    if scope.national:
        return tree.sql(dialect="duckdb")
    for table in tables:
        name = table.name.lower()
        if name in ctes or name in PUBLIC or name in extra_tables or name == ARCHIVE_TABLE:
            continue
        if name not in SCOPED:
            raise ScopeError(f"table {table.name} has no declared scope; only national users may read it")
        table.replace(_scoped_source(table, scope))
    return tree.sql(dialect="duckdb")
