"""Every SQL statement the product runs lives in a `.sql` file; this module hands them out by name.

- `queries/<name>.sql`: the analytic queries with a file of their own (run by `queries.loader`);
- `queries/analytic/<file>.sql`: the other DuckDB statements, several per file;
- `queries/ops/<file>.sql`: the operational store's statements (SQLite's dialect with `?`
  parameters; `access.opstore` transpiles them for PostgreSQL), its schema among them.

In a file of several statements each begins with a line `-- name: <name>`; comment lines right
below it describe the statement. Lines `-- declare: <relation>(<column> <TYPE>, ...)` before the
first statement name the working relations the file's statements read besides the store (a
staging view, a table registered from Python), so that they are checked like the rest. A statement is asked for as `"<file>.<name>"`. The tests parse
every statement with sqlglot and qualify every table and column against the declared schema
(tests/unit/test_statements.py); statements that must be built at run time (column lists, the grid's
filters) are built as sqlglot trees from a statement here, never pasted together as text.
"""

from __future__ import annotations

import functools
import re
from importlib import resources

import sqlglot
from sqlglot import exp

OPS = "ops"
ANALYTIC = "analytic"
_NAME = re.compile(r"^-- name: ([a-z_][a-z0-9_]*)\s*$")
_DECLARE = re.compile(r"^-- declare: ([a-z_][a-z0-9_]*)\((.*)\)\s*$")


class StatementError(LookupError):
    """No statement of that name (a programming error: the names are fixed in the code)."""


@functools.cache
def collection(folder: str, file: str) -> dict[str, str]:
    """The statements of `queries/<folder>/<file>.sql`, by name, in file order."""
    text = (resources.files("queries") / folder / f"{file}.sql").read_text(encoding="utf-8")
    found: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        named = _NAME.match(line)
        if named:
            if named.group(1) in found:
                raise StatementError(f"queries/{folder}/{file}.sql names {named.group(1)} twice")
            current = found.setdefault(named.group(1), [])
        elif current is not None and (current or not line.startswith("--")):
            current.append(line)
    return {name: "\n".join(lines).strip() for name, lines in found.items()}


@functools.cache
def declared(folder: str, file: str) -> dict[str, dict[str, str]]:
    """The working relations `queries/<folder>/<file>.sql` declares: {relation: {column: type}}."""
    text = (resources.files("queries") / folder / f"{file}.sql").read_text(encoding="utf-8")
    found: dict[str, dict[str, str]] = {}
    for line in text.splitlines():
        if _NAME.match(line):
            break
        got = _DECLARE.match(line)
        if got:
            columns = (c.strip().split(None, 1) for c in got.group(2).split(","))
            found[got.group(1)] = {pair[0]: pair[1] for pair in columns}
    return found


def statement(folder: str, ref: str) -> str:
    file, _, name = ref.partition(".")
    try:
        return collection(folder, file)[name]
    except (KeyError, FileNotFoundError) as exc:
        raise StatementError(f"no statement {ref} in queries/{folder}/") from exc


def op_sql(ref: str) -> str:
    """The operational-store statement `"<file>.<name>"` of `queries/ops/`."""
    return statement(OPS, ref)


def duck_sql(ref: str) -> str:
    """The DuckDB statement `"<file>.<name>"` of `queries/analytic/`."""
    return statement(ANALYTIC, ref)


def every(folder: str) -> list[tuple[str, str]]:
    """(ref, text) of every statement in `queries/<folder>/`, for the checks."""
    files = sorted(
        e.name[:-4] for e in resources.files("queries").joinpath(folder).iterdir() if e.name.endswith(".sql")
    )
    return [(f"{file}.{name}", text) for file in files for name, text in collection(folder, file).items()]


def select_tree(text: str, *, dialect: str = "duckdb") -> exp.Select:
    """The syntax tree of a SELECT statement, to build on (filters, columns, order, limits)."""
    tree = sqlglot.parse_one(text, read=dialect)
    if not isinstance(tree, exp.Select):
        raise StatementError(f"not a SELECT: {text[:60]}")
    return tree


def insert_sql(table: str, columns: list[str], *, dialect: str = "sqlite") -> str:
    """`INSERT INTO table (columns) VALUES (?, ...)`, built as a syntax tree (an operational-store
    statement by default; `columns` come from the code, never from input)."""
    row = exp.Tuple(expressions=[exp.Placeholder() for _ in columns])
    return exp.insert(exp.Values(expressions=[row]), table, columns=columns).sql(dialect=dialect)


def where_in(text: str, lists: dict[str, int], *, dialect: str = "sqlite") -> str:
    """Statement `text` with `column IN (?, ?, ...)` added to its WHERE clause for each column of
    `lists` (with that many `?`; an empty list matches nothing), built on its syntax tree."""
    return _where_in(text, tuple(lists.items()), dialect)


@functools.lru_cache(maxsize=256)
def _where_in(text: str, lists: tuple[tuple[str, int], ...], dialect: str) -> str:
    tree = sqlglot.parse_one(text, read=dialect)
    for column, n in lists:
        test = exp.In(this=exp.column(column), expressions=[exp.Placeholder() for _ in range(n)]) if n else exp.false()
        tree = tree.where(test, copy=False)  # type: ignore[attr-defined]
    return tree.sql(dialect=dialect)


def update_sql(table: str, columns: list[str], keys: list[str], *, dialect: str = "sqlite") -> str:
    """`UPDATE table SET column = ?, ... WHERE key = ? AND ...`, built as a syntax tree."""
    where = exp.and_(*(exp.EQ(this=exp.column(k), expression=exp.Placeholder()) for k in keys))
    return exp.update(table, {c: exp.Placeholder() for c in columns}, where=where).sql(dialect=dialect)
