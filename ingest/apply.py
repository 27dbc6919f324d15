"""Apply parsed rows to the store: in-file duplicates, cross-table checks, upsert by key.

Runs inside `Store.writer()`, so everything here is one transaction on a private copy. Each row
that reaches this step ends in exactly one bucket — loaded, updated, unchanged, rejected or
duplicate_in_file — which is what makes the summary reconcile.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb
import polars as pl

from ingest.contract import Contract
from ingest.parse import ERROR_SCHEMA, META
from queries.store import rows, scalar

LEVELS = ("national", "provincial", "prefecture", "county")
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


def target_columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    return [
        r[0]
        for r in rows(
            con,
            "SELECT column_name FROM information_schema.columns WHERE table_name = $t ORDER BY ordinal_position",
            {"t": table},
        )
    ]


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
    single, good = good.filter(~repeated), good.filter(repeated)
    marked = good.with_columns(
        pl.struct(data).hash().alias("__h"),
        pl.len().over(key).alias("__n"),
    ).with_columns(pl.col("__h").n_unique().over(key).alias("__variants"))
    conflict = marked.filter(pl.col("__variants") > 1)
    errors = pl.DataFrame(schema=ERROR_SCHEMA)
    if conflict.height:
        rows_of = conflict.group_by(key).agg(
            pl.col("_row").cast(pl.Int64).sort().cast(pl.String).str.join(", ").alias("__rows")
        )
        conflict = conflict.join(rows_of, on=key, how="left")
        errors = _errors(
            conflict,
            key[-1],
            pl.format(
                "同一文件中该记录出现多次且内容不同（第{}行），请保留一条 / the same key appears in rows {} "
                "of this file with different values; keep one",
                pl.col("__rows"),
                pl.col("__rows"),
            ),
        )
    clean = marked.filter(pl.col("__variants") == 1)
    first = clean.filter(pl.col("_row").cast(pl.Int64) == pl.col("_row").cast(pl.Int64).min().over(key))
    duplicates = clean.height - first.height
    kept = pl.concat([single, first.drop("__h", "__n", "__variants")]).sort(
        pl.col("_sheet"), pl.col("_row").cast(pl.Int64), nulls_last=False
    )
    return kept, duplicates, errors


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _register(con: duckdb.DuckDBPyConnection, frame: pl.DataFrame) -> None:
    # Arrow string views (the newest compat level) hand Polars' strings over without a copy;
    # the default conversion to large_string cost 2.5 s at 5M cases.
    con.register("incoming", frame.with_row_index("_rid").to_arrow(compat_level=pl.CompatLevel.newest()))


def _stage(
    con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame, *, sha: str, run_id: int, contract: Contract
) -> None:
    """Expose `frame` as the view `stg`, cast to the target table's types, with provenance.

    A view over the registered Arrow data, not a copy: checks, comparison and insert read it in
    place. Rejected rows are removed by re-registering a filtered frame (`_remove`).
    """
    types = dict(
        rows(
            con,
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_name = $t ORDER BY ordinal_position",
            {"t": table},
        )
    )
    present = set(frame.columns)
    items = [i.id for i in contract.checklist.items] if table == "appraisals" else []
    select = []
    for col, dtype in types.items():
        if col == "source_sha256":
            expr = _literal(sha)
        elif col == "source_row":
            expr = "_row::INTEGER"
        elif col == "run_id":
            expr = str(int(run_id))
        elif col == "scores" and items:
            expr = (
                f"MAP([{', '.join(_literal(i) for i in items)}], "
                f"[{', '.join(f'{chr(34)}{i}{chr(34)}::DECIMAL(6,2)' for i in items)}])"
            )
        elif col in present:
            expr = f'"{col}"'
        else:
            expr = "NULL"
        select.append(f'CAST({expr} AS {dtype}) AS "{col}"')
    _register(con, frame)
    con.execute("DROP VIEW IF EXISTS stg")
    con.execute(
        f"CREATE TEMP VIEW stg AS SELECT {', '.join(select)}, _sheet, _row::INTEGER AS _row, _rid FROM incoming"
    )


def _reject_sql(con: duckdb.DuckDBPyConnection, sql: str, params: dict | None = None) -> pl.DataFrame:
    """Rows of stg that fail a check: `sql` selects _sheet, _row, column, value, reason."""
    got = con.sql(sql, params=params or {}).pl()
    if not got.height:
        return pl.DataFrame(schema=ERROR_SCHEMA)
    return got.with_columns(pl.col("_row").cast(pl.String)).select([pl.col(c).cast(t) for c, t in ERROR_SCHEMA.items()])


def _office_exists(column: str = "office_code") -> str:
    return (
        f"SELECT _sheet, _row, '{column}' AS column, s.{column} AS value, "
        f"'机构代码不在机构名录中，请先导入机构 / office ' || s.{column} || "
        f"' is not in the office roster; ingest it with `ipdash ingest offices` first' AS reason "
        f"FROM stg s WHERE s.{column} NOT IN (SELECT office_code FROM offices)"
    )


def _cross_checks(con: duckdb.DuckDBPyConnection, kind: str) -> pl.DataFrame:
    checks: list[str] = []
    if kind in ("cases", "staffing", "inspectors", "appraisals"):
        checks.append(_office_exists())
    if kind == "appraisals":
        checks.append(
            "SELECT _sheet, _row, 'case_no' AS column, s.case_no AS value, "
            "'案件不存在：该机构没有此案号，请先导入案件 / no case ' || s.case_no || ' at office ' || "
            "s.office_code || '; ingest the case first' AS reason FROM stg s "
            "WHERE s.office_code IN (SELECT office_code FROM offices) AND NOT EXISTS "
            "(SELECT 1 FROM cases c WHERE c.office_code = s.office_code AND c.case_no = s.case_no)"
        )
        checks.append(
            "SELECT _sheet, _row, 'inspector_id' AS column, s.inspector_id AS value, "
            "'评查人员不在名录中 / inspector ' || s.inspector_id || ' is not in the inspector roster; "
            "ingest inspectors first' AS reason FROM stg s "
            "WHERE s.inspector_id NOT IN (SELECT inspector_id FROM inspectors)"
        )
        checks.append(
            "SELECT _sheet, _row, 'draw_id' AS column, s.draw_id AS value, "
            "CASE WHEN s.draw_id NOT IN (SELECT draw_id FROM draw_samples) "
            "THEN '抽查批次不存在 / draw ' || s.draw_id || ' is unknown' "
            "ELSE '该案件未被此批次抽中 / draw ' || s.draw_id || ' did not sample case ' || s.case_no END AS reason "
            "FROM stg s WHERE s.draw_id <> '' AND NOT EXISTS (SELECT 1 FROM draw_samples d WHERE "
            "d.draw_id = s.draw_id AND d.office_code = s.office_code AND d.case_no = s.case_no)"
        )
    found = [_reject_sql(con, sql) for sql in checks]
    return pl.concat(found) if found else pl.DataFrame(schema=ERROR_SCHEMA)


def _office_tree_checks(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Check the tree that staged offices would make with the stored ones (SPEC §2.1).

    A staged office is rejected when its parent is missing (or itself rejected), when the level does
    not step down by one, or when its new level would orphan offices already below it. Rejections
    cascade until the tree is consistent.
    """
    stored = {r[0]: (r[1], r[2]) for r in rows(con, "SELECT office_code, level, parent_code FROM offices")}
    staged = {
        r[0]: (r[1], r[2], r[3], r[4])
        for r in rows(con, "SELECT office_code, level, parent_code, _sheet, _row FROM stg")
    }
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
    con.execute("""
        UPDATE offices o SET province_code = p.province_code, prefecture_code = p.prefecture_code
        FROM (
            WITH RECURSIVE walk(office_code, level, province_code, prefecture_code) AS (
                SELECT office_code, level, NULL::VARCHAR, NULL::VARCHAR FROM offices WHERE level = 'national'
                UNION ALL
                SELECT c.office_code, c.level,
                       CASE WHEN c.level = 'provincial' THEN c.office_code ELSE w.province_code END,
                       CASE WHEN c.level = 'prefecture' THEN c.office_code ELSE w.prefecture_code END
                FROM offices c JOIN walk w ON c.parent_code = w.office_code
            ) SELECT * FROM walk
        ) p WHERE o.office_code = p.office_code""")


def _remove(con: duckdb.DuckDBPyConnection, frame: pl.DataFrame, errors: pl.DataFrame) -> pl.DataFrame:
    """Drop rejected rows from `frame` and re-register it under the `stg` view."""
    if not errors.height:
        return frame
    frame = frame.join(errors.select(META).unique(), on=list(META), how="anti", nulls_equal=True)
    _register(con, frame)
    return frame


def _insert(con: duckdb.DuckDBPyConnection, kind: str, where: str, *, ordered: bool) -> None:
    """Insert staged rows into `kind`; cases go in ordered by office so a province's rows sit together.

    Input already ordered by office (most exports are) is inserted as it comes: sorting 5M wide
    rows would cost more than the rest of the ingest.
    """
    cols = target_columns(con, kind)
    names = ", ".join(f'"{c}"' for c in cols)
    order = " ORDER BY office_code" if "office_code" in cols and not ordered else ""
    con.execute(f"INSERT INTO {kind} ({names}) SELECT {names} FROM stg {where}{order}")


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
    if not scalar(con, f"SELECT count(*) FROM (SELECT 1 FROM {kind} LIMIT 1)"):
        # An empty table: every row is new, no comparison needed.
        counts.loaded = frame.height
        _insert(con, kind, "", ordered=ordered)
        if kind == "offices":
            refresh_office_paths(con)
        counts.rejected = errors.select(META).unique().height
        return Applied(counts, errors)

    data = [c for c in target_columns(con, kind) if c not in PROVENANCE and c not in DERIVED]
    on = " AND ".join(f's."{k}" = t."{k}"' for k in key)
    same = " AND ".join(f's."{c}" IS NOT DISTINCT FROM t."{c}"' for c in data if c not in key)
    stale = (
        "s.updated_at IS NOT NULL AND t.updated_at IS NOT NULL AND s.updated_at < t.updated_at"
        if kind == "cases"
        else "false"
    )
    con.execute("DROP TABLE IF EXISTS cmp")
    con.execute(
        f"""CREATE TEMP TABLE cmp AS SELECT s._rid,
        t."{key[0]}" IS NOT NULL AS found, coalesce({same}, false) AS same, coalesce({stale}, false) AS stale,
        t.updated_at AS stored_at
        FROM stg s LEFT JOIN {kind} t ON {on}"""
        if kind == "cases"
        else f"""CREATE TEMP TABLE cmp AS
        SELECT s._rid, t."{key[0]}" IS NOT NULL AS found, coalesce({same}, false) AS same,
        false AS stale, NULL::TIMESTAMP AS stored_at FROM stg s LEFT JOIN {kind} t ON {on}"""
    )
    stale_errors = (
        _reject_sql(
            con,
            """SELECT _sheet, _row, 'updated_at' AS column,
        strftime(s.updated_at, '%Y-%m-%d %H:%M:%S') AS value,
        '比库中版本旧（库中更新时间 ' || strftime(c.stored_at, '%Y-%m-%d %H:%M:%S') || '），未采用 / older than the '
        || 'stored version (stored updated_at ' || strftime(c.stored_at, '%Y-%m-%d %H:%M:%S') || '); not applied'
        AS reason FROM cmp c JOIN stg s USING (_rid) WHERE c.found AND NOT c.same AND c.stale""",
        )
        if kind == "cases"
        else pl.DataFrame(schema=ERROR_SCHEMA)
    )
    errors = pl.concat([errors, stale_errors])
    tally = rows(
        con,
        """SELECT count(*) FILTER (WHERE NOT found),
        count(*) FILTER (WHERE found AND NOT same AND NOT stale),
        count(*) FILTER (WHERE found AND same) FROM cmp""",
    )[0]
    counts.loaded, counts.updated, counts.unchanged = (int(x) for x in tally)
    key_cols = ", ".join(f'"{k}"' for k in key)
    if counts.updated:
        con.execute(f"""DELETE FROM {kind} t WHERE ({key_cols}) IN (
            SELECT ({", ".join(f's."{k}"' for k in key)}) FROM stg s JOIN cmp c USING (_rid)
            WHERE c.found AND NOT c.same AND NOT c.stale)""")
    if counts.loaded or counts.updated:
        _insert(
            con,
            kind,
            "WHERE _rid IN (SELECT _rid FROM cmp WHERE NOT found OR (NOT same AND NOT stale))",
            ordered=ordered,
        )
    if kind == "offices":
        refresh_office_paths(con)
    counts.rejected = errors.select(META).unique().height
    return Applied(counts, errors)
