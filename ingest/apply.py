"""Apply parsed rows to the store: in-file duplicates, cross-table checks, upsert by key.

Runs inside `Store.writer()`, so everything here is one transaction on a private copy. Each row
that reaches this step ends in exactly one bucket — loaded, updated, unchanged, rejected or
duplicate_in_file — which is what makes the summary reconcile.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import duckdb
import polars as pl
import sqlglot
from sqlglot import exp

from ingest.contract import Contract
from ingest.parse import ERROR_SCHEMA, META
from queries.statements import duck_sql, select_tree
from queries.store import rows, scalar

LEVELS = ("national", "provincial", "prefecture", "county")
SMALL_STAGE = 64  # rows staged as a table rather than a view (see `_stage`)
PROVENANCE = ("source_sha256", "source_row", "run_id")
# Recomputed, never compared: the offices' ancestors (from the tree), an appraisal's case closing year.
DERIVED = ("province_code", "prefecture_code", "closed_year")


@dataclass
class Counts:
    read: int = 0
    loaded: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    duplicate_in_file: int = 0

    def add(self, other: Counts) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


@dataclass
class Applied:
    counts: Counts
    errors: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=ERROR_SCHEMA))


def column_types(con: duckdb.DuckDBPyConnection, table: str) -> tuple[tuple[str, str], ...]:
    """(name, DuckDB type) of each column of `table` as `con` sees it (a temporary table first), from
    the relation's description: a third of the time of the same read from information_schema."""
    relation = con.table(table)
    return tuple(zip(relation.columns, (str(t) for t in relation.types), strict=True))


def target_columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    return [name for name, _ in column_types(con, table)]


def _errors(frame: pl.DataFrame, column: str | None, reason: pl.Expr | str) -> pl.DataFrame:
    value = pl.col(column).cast(pl.String) if column and column in frame.columns else pl.lit(None, pl.String)
    return frame.select(
        pl.col("_sheet"),
        pl.col("_row"),
        pl.lit(column, pl.String).alias("column"),
        value.alias("value"),
        (pl.lit(reason) if isinstance(reason, str) else reason).alias("reason"),
    )


def split_in_file(good: pl.DataFrame, key: list[str]) -> tuple[pl.DataFrame, int, pl.DataFrame]:
    """Drop exact repeats of a key within one file; reject keys repeated with different values.

    Returns (rows to apply, number of exact repeats, errors for conflicting rows).
    """
    data = [c for c in good.columns if c not in META]
    repeated = good.select(pl.struct(key).is_duplicated()).to_series()
    if not repeated.any():  # the usual case: nothing to hash
        return good, 0, pl.DataFrame(schema=ERROR_SCHEMA)
    good = good.with_row_index("__pos")
    single, good = good.filter(~repeated), good.filter(repeated)
    csv_like = good["_sheet"].null_count() == good.height
    zh = pl.format("第{}行", "_row") if csv_like else pl.format("工作表“{}”第{}行", "_sheet", "_row")
    en = pl.format("row {}", "_row") if csv_like else pl.format("sheet '{}' row {}", "_sheet", "_row")
    marked = good.with_columns(
        pl.struct(data).hash().alias("__h"),
        pl.len().over(key).alias("__n"),
        zh.alias("__zh"),
        en.alias("__where"),
    ).with_columns(pl.col("__h").n_unique().over(key).alias("__variants"))
    conflict = marked.filter(pl.col("__variants") > 1)
    errors = pl.DataFrame(schema=ERROR_SCHEMA)
    if conflict.height:
        rows_of = conflict.group_by(key).agg(
            pl.col("__zh").sort_by("__pos").str.join("、").alias("__zhrows"),
            pl.col("__where").sort_by("__pos").str.join(", ").alias("__rows"),
        )
        conflict = conflict.join(rows_of, on=key, how="left")
        errors = _errors(
            conflict,
            key[-1],
            pl.format(
                "同一文件中该记录出现多次且内容不同（{}），请保留一条 / the same key appears in {} "
                "of this file with different values; keep one",
                pl.col("__zhrows"),
                pl.col("__rows"),
            ),
        )
    clean = marked.filter(pl.col("__variants") == 1)
    # The first occurrence in reading order (sheet by sheet), not the smallest row number: the same
    # row number in two sheets is two rows.
    first = clean.filter(pl.col("__pos") == pl.col("__pos").min().over(key))
    duplicates = clean.height - first.height
    kept = pl.concat([single, first.drop("__h", "__n", "__variants", "__zh", "__where")]).sort("__pos").drop("__pos")
    return kept, duplicates, errors


def _q(name: str, table: str | None = None) -> exp.Column:
    """A quoted column reference (names come from the store's catalogue, never from input)."""
    return exp.column(name, table=table, quoted=True)


def _register(con: duckdb.DuckDBPyConnection, frame: pl.DataFrame) -> None:
    # Arrow string views (the newest compat level) hand Polars' strings over without a copy;
    # the default conversion to large_string cost 2.5 s at 5M cases.
    con.register("incoming", frame.with_row_index("_rid").to_arrow(compat_level=pl.CompatLevel.newest()))


def _stage(
    con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame, *, sha: str, run_id: int, contract: Contract
) -> None:
    """Expose `frame` as the view `stg`, cast to the target table's types, with provenance.

    For a file, a view over the registered Arrow data, not a copy: checks, comparison and insert
    read it in place. Up to SMALL_STAGE rows (an online appraisal), the cast rows are kept in a
    table once, so that the four checks, the comparison and the insert do not cast them again each.
    Rejected rows are removed by re-registering a filtered frame (`_remove`).
    """
    types = column_types(con, table)
    items = tuple(i.id for i in contract.items) if table == "appraisals" else ()
    view = _stage_sql(table, types, tuple(sorted(frame.columns)), items)
    # The file's digest and the run id are the connection's variables, which the view reads: its
    # statement depends on the shape of the input alone and is built once per shape (an online
    # appraisal paid 15 ms for building it each time).
    con.execute(duck_sql("ingest.set_source"), {"sha": sha})
    con.execute(duck_sql("ingest.set_run"), {"run": int(run_id)})
    _register(con, frame)
    con.execute(duck_sql("ingest.drop_stage"))
    con.execute(view)
    if frame.height <= SMALL_STAGE:
        con.execute(duck_sql("ingest.stage_rows"))
        con.execute(duck_sql("ingest.stage_view_of_rows"))
    else:
        con.execute(duck_sql("ingest.stage_view"))


@functools.lru_cache(maxsize=64)
def _stage_sql(table: str, types: tuple[tuple[str, str], ...], columns: tuple[str, ...], items: tuple[str, ...]) -> str:
    """CREATE TEMP VIEW stg for a frame of `columns` into `table` (its columns and DuckDB `types`)."""
    present = set(columns)
    select: list[exp.Expr] = []
    for col, dtype in types:
        expr: exp.Expr
        if col == "source_sha256":
            expr = exp.func("getvariable", exp.Literal.string("ingest_source_sha256"))
        elif col == "source_row":
            expr = exp.cast(exp.column("_row"), "INTEGER")
        elif col == "run_id":
            expr = exp.func("getvariable", exp.Literal.string("ingest_run_id"))
        elif col == "scores" and items:  # the items of the row's checklist (the others are empty)
            scores = exp.Map(
                keys=exp.Array(expressions=[exp.Literal.string(i) for i in items]),
                values=exp.Array(expressions=[exp.cast(_q(i), "DECIMAL(6,2)") for i in items]),
            )
            expr = exp.Anonymous(this="given_scores", expressions=[scores])
        elif col == "defects" and col in present:  # JSON text (ingest/parse.py finish_appraisals)
            expr = exp.cast(_q(col), "JSON")
        elif col == "notes" and items:  # the inspector's note on each item's deduction, where given
            notes = exp.Map(
                keys=exp.Array(expressions=[exp.Literal.string(i) for i in items]),
                values=exp.Array(
                    expressions=[_q(f"note_{i}") if f"note_{i}" in present else exp.Null() for i in items]
                ),
            )
            expr = exp.Anonymous(this="given_notes", expressions=[notes])
        elif col in present:
            expr = _q(col)
        else:
            expr = exp.Null()
        select.append(exp.alias_(exp.cast(expr, exp.DataType.build(dtype, dialect="duckdb")), col, quoted=True))
    view = sqlglot.parse_one(duck_sql("ingest.stage"), read="duckdb")
    body = view.expression
    body.set("expressions", [*select, *body.expressions])
    return view.sql(dialect="duckdb")


def _reject_sql(con: duckdb.DuckDBPyConnection, sql: str, params: dict | None = None) -> pl.DataFrame:
    """Rows of stg that fail a check: `sql` selects _sheet, _row, column, value, reason."""
    got = con.sql(sql, params=params or {}).pl()
    if not got.height:
        return pl.DataFrame(schema=ERROR_SCHEMA)
    return got.with_columns(pl.col("_row").cast(pl.String)).select([pl.col(c).cast(t) for c, t in ERROR_SCHEMA.items()])


def _cross_checks(con: duckdb.DuckDBPyConnection, kind: str) -> pl.DataFrame:
    sql = _cross_checks_sql(kind)
    return _reject_sql(con, sql) if sql else pl.DataFrame(schema=ERROR_SCHEMA)


@functools.lru_cache(maxsize=8)
def _cross_checks_sql(kind: str) -> str | None:
    """The cross-table checks of `kind` as one statement (one round trip instead of one per check:
    an online appraisal paid about 1 ms per statement), their rows in the order of the checks, then by sheet and row."""
    checks: list[str] = []
    if kind in ("cases", "staffing", "inspectors", "appraisals"):
        checks.append(duck_sql("ingest.unknown_office"))
    if kind == "appraisals":
        checks.append(duck_sql("ingest.unknown_case"))
        checks.append(duck_sql("ingest.unknown_inspector"))
        checks.append(duck_sql("ingest.unknown_draw_sample"))
    if not checks:
        return None
    parts = [
        select_tree(sql).select(exp.alias_(exp.Literal.number(k), "_check"), copy=False) for k, sql in enumerate(checks)
    ]
    union: exp.Query = parts[0]
    for part in parts[1:]:
        union = exp.union(union, part, distinct=False)
    out = [exp.column(c) for c in ("_sheet", "_row", "column", "value", "reason")]
    return exp.select(*out).from_(union.subquery("checks")).order_by("_check", "_sheet", "_row").sql(dialect="duckdb")


def _office_tree_checks(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Check the tree that staged offices would make with the stored ones (SPEC §2.1).

    A staged office is rejected when its parent is missing (or itself rejected), when the level does
    not step down by one, or when its new level would orphan offices already below it. Rejections
    cascade until the tree is consistent.
    """
    stored = {r[0]: (r[1], r[2]) for r in rows(con, duck_sql("offices.tree"))}
    staged = {r[0]: (r[1], r[2], r[3], r[4]) for r in rows(con, duck_sql("ingest.staged_offices"))}
    rejected: dict[str, tuple[str, str]] = {}
    while True:
        merged = dict(stored)
        merged.update({k: (v[0], v[1]) for k, v in staged.items() if k not in rejected})
        before = len(rejected)
        for code, (level, parent, _sheet, _row) in staged.items():
            if code in rejected:
                continue
            if level == "national":
                continue
            if parent in rejected:
                rejected[code] = (
                    "parent_code",
                    f"上级机构{parent}本次被拒收 / parent office {parent} was rejected in this file; fix it first",
                )
            elif parent not in merged:
                rejected[code] = ("parent_code", f"上级机构{parent}不存在 / parent office {parent} does not exist")
            elif LEVELS.index(merged[parent][0]) != LEVELS.index(level) - 1:
                rejected[code] = (
                    "level",
                    f"层级须比上级（{merged[parent][0]}）低一级 / level {level} does not "
                    f"step down by one from its parent's level {merged[parent][0]}",
                )
        for code, (level, _parent) in stored.items():
            p = merged.get(code, (level, _parent))[1]
            if (
                p in staged
                and p not in rejected
                and code not in staged
                and LEVELS.index(merged[p][0]) != LEVELS.index(merged[code][0]) - 1
            ):
                rejected[p] = (
                    "level",
                    f"改为{merged[p][0]}后其下级机构{code}层级不一致 / changing the level "
                    f"to {merged[p][0]} would leave sub-office {code} inconsistent",
                )
        if len(rejected) == before:
            break
    if not rejected:
        return pl.DataFrame(schema=ERROR_SCHEMA)
    return pl.DataFrame(
        [
            {
                "_sheet": staged[c][2],
                "_row": str(staged[c][3]),
                "column": col,
                "value": (staged[c][1] if col == "parent_code" else staged[c][0]),
                "reason": why,
            }
            for c, (col, why) in rejected.items()
        ],
        schema=ERROR_SCHEMA,
    )


def refresh_office_paths(con: duckdb.DuckDBPyConnection) -> None:
    """Recompute each office's province_code and prefecture_code from the tree."""
    con.execute(duck_sql("offices.refresh_paths"))


def _remove(con: duckdb.DuckDBPyConnection, frame: pl.DataFrame, errors: pl.DataFrame) -> pl.DataFrame:
    """Drop rejected rows from `frame` and re-register it under the `stg` view."""
    if not errors.height:
        return frame
    small = frame.height <= SMALL_STAGE  # as `_stage` decided for the whole frame
    frame = frame.join(errors.select(META).unique(), on=list(META), how="anti", nulls_equal=True)
    _register(con, frame)
    if small:
        con.execute(duck_sql("ingest.stage_rows"))
    return frame


def _insert(con: duckdb.DuckDBPyConnection, kind: str, only_new: bool, *, ordered: bool) -> None:
    """Insert staged rows into `kind` (`only_new`: only the rows new or changed by the comparison);
    cases go in ordered by office so a province's rows sit together.

    Input already ordered by office (most exports are) is inserted as it comes: sorting 5M wide
    rows would cost more than the rest of the ingest.
    """
    con.execute(_insert_sql(kind, tuple(target_columns(con, kind)), only_new, ordered))


@functools.lru_cache(maxsize=64)
def _insert_sql(kind: str, cols: tuple[str, ...], only_new: bool, ordered: bool) -> str:
    rows_ = exp.select(*(_q(c) for c in cols)).from_("stg")
    if only_new:
        new_or_changed = select_tree(duck_sql("ingest.new_or_changed"))
        rows_ = rows_.where(exp.In(this=exp.column("_rid"), query=exp.Subquery(this=new_or_changed)))
    if "office_code" in cols and not ordered:
        rows_ = rows_.order_by(_q("office_code"))
    insert = exp.insert(rows_, exp.to_table(kind), columns=[exp.to_identifier(c, quoted=True) for c in cols])
    return insert.sql(dialect="duckdb")


@functools.lru_cache(maxsize=64)
def _compare(kind: str, key: tuple[str, ...], data: tuple[str, ...]) -> str:
    """CREATE TEMP TABLE cmp: for each staged row, whether the store has its key (found), whether its
    data columns are all the same (same), and for cases whether the stored version is newer (stale)."""
    s, t = (lambda c: _q(c, "s")), (lambda c: _q(c, "t"))
    on = exp.and_(*(exp.EQ(this=s(k), expression=t(k)) for k in key))
    compared = [exp.NullSafeEQ(this=s(c), expression=t(c)) for c in data if c not in key]
    same = exp.and_(*compared) if compared else exp.true()
    cases = kind == "cases"
    stale = (
        exp.and_(
            exp.Not(this=exp.Is(this=s("updated_at"), expression=exp.Null())),
            exp.Not(this=exp.Is(this=t("updated_at"), expression=exp.Null())),
            exp.LT(this=s("updated_at"), expression=t("updated_at")),
        )
        if cases
        else exp.false()
    )
    select = (
        exp.select(
            exp.column("_rid", table="s"),
            exp.alias_(exp.Not(this=exp.Is(this=t(key[0]), expression=exp.Null())), "found"),
            exp.alias_(exp.func("coalesce", same, exp.false()), "same"),
            exp.alias_(exp.func("coalesce", stale, exp.false()), "stale"),
            exp.alias_(t("updated_at") if cases else exp.cast(exp.Null(), "TIMESTAMP"), "stored_at"),
        )
        .from_(exp.to_table("stg", alias="s"))
        .join(exp.to_table(kind, alias="t"), on=on, join_type="left")
    )
    return exp.Create(
        this=exp.to_table("cmp"),
        kind="TABLE",
        expression=select,
        properties=exp.Properties(expressions=[exp.TemporaryProperty()]),
    ).sql(dialect="duckdb")


def apply_rows(
    con: duckdb.DuckDBPyConnection,
    *,
    kind: str,
    frame: pl.DataFrame,
    key: list[str],
    sha: str,
    run_id: int,
    contract: Contract,
) -> Applied:
    """Upsert the good rows of one file into `kind`'s table; return its counts and new errors."""
    counts = Counts()
    frame, counts.duplicate_in_file, errors = split_in_file(frame, key)
    frame = frame.join(errors.select(META), on=list(META), how="anti", nulls_equal=True) if errors.height else frame
    _stage(con, kind, frame, sha=sha, run_id=run_id, contract=contract)
    checks = _office_tree_checks(con) if kind == "offices" else _cross_checks(con, kind)
    frame = _remove(con, frame, checks)
    ordered = "office_code" not in frame.columns or frame["office_code"].is_sorted()
    errors = pl.concat([errors, checks])
    if not scalar(
        con,
        exp.select(exp.Count(this=exp.Star()))
        .from_(exp.select("1").from_(kind).limit(1).subquery("t"))
        .sql(dialect="duckdb"),
    ):
        # An empty table: every row is new, no comparison needed.
        counts.loaded = frame.height
        _insert(con, kind, False, ordered=ordered)
        if kind == "offices":
            refresh_office_paths(con)
        counts.rejected = errors.select(META).unique().height
        return Applied(counts, errors)

    data = [c for c in target_columns(con, kind) if c not in PROVENANCE and c not in DERIVED]
    con.execute(duck_sql("ingest.drop_compare"))
    con.execute(_compare(kind, tuple(key), tuple(data)))
    stale_errors = (
        _reject_sql(
            con,
            duck_sql("ingest.stale_rows"),
        )
        if kind == "cases"
        else pl.DataFrame(schema=ERROR_SCHEMA)
    )
    errors = pl.concat([errors, stale_errors])
    tally = rows(
        con,
        duck_sql("ingest.compare_counts"),
    )[0]
    counts.loaded, counts.updated, counts.unchanged = (int(x) for x in tally)
    if counts.updated:
        changed = select_tree(duck_sql("ingest.changed_rows"))
        changed.set("expressions", [exp.Tuple(expressions=[_q(k, "s") for k in key])])
        where = exp.In(this=exp.Tuple(expressions=[_q(k) for k in key]), query=exp.Subquery(this=changed))
        con.execute(exp.delete(exp.to_table(kind, alias="t"), where=where).sql(dialect="duckdb"))
    if counts.loaded or counts.updated:
        _insert(con, kind, True, ordered=ordered)
    if kind == "offices":
        refresh_office_paths(con)
    counts.rejected = errors.select(META).unique().height
    return Applied(counts, errors)
