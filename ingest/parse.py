"""Typed parsing and row rules, vectorised in Polars, with a reason for every rejected cell.

Input: the text frame from `readers` (canonical column names, `_sheet`, `_row`). Output: the typed
frame and, for every bad cell, one error row (sheet, row, column, original value, reason). The
reasons are written for the clerk who must fix the file, in Chinese and English.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import polars as pl

from ingest.contract import Checklist, Column, Contract, KindSpec

LIST_SEPARATORS = r"[;,，；、|/\r\n]+"  # a line break (Alt+Enter in Excel) separates too
EARLIEST = dt.date(1985, 1, 1)  # the Patent Law took effect on 1985-04-01
LATEST = dt.date(2100, 12, 31)
EXCEL_EPOCH = dt.date(1899, 12, 30)
META = ("_sheet", "_row")
EXTRA = "_extra"  # a reader's own reason for rejecting a whole row (e.g. too many fields)
ERROR_SCHEMA = {"_sheet": pl.String, "_row": pl.String, "column": pl.String, "value": pl.String, "reason": pl.String}


@dataclass
class Parsed:
    typed: pl.DataFrame  # good rows, typed, plus _sheet/_row
    errors: pl.DataFrame  # one row per bad cell: _sheet, _row, column, value, reason
    rejected_rows: pl.DataFrame  # raw text of the rejected rows (for the quarantine)
    blank_rows: int


def _fold_expr(col: pl.Expr) -> pl.Expr:
    return col.str.to_lowercase().str.replace_all(r"[\s_\-]+", "")


EXCEL_ERRORS = (
    r"^#(N/A|REF!|VALUE!|DIV/0!|NAME\?|NUM!|NULL!|SPILL!|CALC!|GETTING_DATA|FIELD!|BLOCKED!|CONNECT!|BUSY!|UNKNOWN!)$"
)
_CN_DIGITS = (["〇", "○", "零", "一", "二", "三", "四", "五", "六", "七", "八", "九"], list("001123456789"))
# A date followed by a time of day, as Excel and clerks write date-times.
DATE_TIME = r"^([^\sT]+)[\sT]+(\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?$"


def _chinese_numerals(s: pl.Expr) -> pl.Expr:
    """二〇二四年三月五日 -> 2024年3月5日 (digits one by one; 十 as in 十二, 二十, 二十一, 十)."""
    digits = s.str.replace_many(*_CN_DIGITS)
    tens = (
        digits.str.replace_all(r"(\d)十(\d)", "${1}${2}")
        .str.replace_all(r"(\d)十", "${1}0")
        .str.replace_all(r"十(\d)", "1${1}")
        .str.replace_all("十", "10")
    )
    return pl.when(s.str.contains("[〇○零一二三四五六七八九十]")).then(tens).otherwise(s)


def _date_expr(s: pl.Expr) -> pl.Expr:
    """Parse every date form of SPEC §2 from normalised text; null where it is not a date."""
    s = _chinese_numerals(s)
    eight = s.str.contains(r"^\d{8}$")
    serial = s.str.contains(r"^\d{1,5}(\.0+)?$")
    separated = s.str.replace(r"日$", "").str.replace_all(r"[/.年月]", "-")
    from_eight = (s.str.slice(0, 4) + "-" + s.str.slice(4, 2) + "-" + s.str.slice(6, 2)).str.strptime(
        pl.Date, "%Y-%m-%d", strict=False
    )
    from_serial = pl.lit(EXCEL_EPOCH) + pl.duration(days=s.str.replace(r"\.0+$", "").cast(pl.Int64, strict=False))
    from_sep = pl.when(separated.str.contains(r"^\d{4}-\d{1,2}-\d{1,2}$")).then(
        separated.str.strptime(pl.Date, "%Y-%m-%d", strict=False)
    )
    return pl.when(eight).then(from_eight).when(serial).then(from_serial.cast(pl.Date)).otherwise(from_sep)


def _timestamp_expr(s: pl.Expr) -> pl.Expr:
    """A date form, optionally followed by a time `H:MM[:SS]`, or an Excel serial with fraction."""
    parts = s.str.extract_groups(r"^([^\sT]+)(?:[\sT]+(\d{1,2}):(\d{2})(?::(\d{2}))?)?$")
    date_part = _date_expr(parts.struct.field("1"))
    seconds = (
        parts.struct.field("2").cast(pl.Int64, strict=False).fill_null(0) * 3600
        + parts.struct.field("3").cast(pl.Int64, strict=False).fill_null(0) * 60
        + parts.struct.field("4").cast(pl.Int64, strict=False).fill_null(0)
    )
    bad_time = (
        (parts.struct.field("2").cast(pl.Int64, strict=False).fill_null(0) > 23)
        | (parts.struct.field("3").cast(pl.Int64, strict=False).fill_null(0) > 59)
        | (parts.struct.field("4").cast(pl.Int64, strict=False).fill_null(0) > 59)
    )
    serial_frac = s.str.contains(r"^\d{1,5}\.\d+$") & ~s.str.contains(r"^\d{1,5}\.0+$")
    from_serial = pl.lit(dt.datetime(1899, 12, 30)) + pl.duration(
        milliseconds=(s.cast(pl.Float64, strict=False) * 86_400_000).round(0).cast(pl.Int64, strict=False)
    )
    combined = date_part.cast(pl.Datetime("us")) + pl.duration(seconds=seconds)
    return pl.when(serial_frac).then(from_serial.cast(pl.Datetime("us"))).when(bad_time).then(None).otherwise(combined)


def _amount(s: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """(value, ok) of a money amount: `12500`, `12,500.50`, `¥1,234.50`, `500元`, `1.2万` (= 12,000).

    Commas count only as thousands separators in groups of three (`12,5` and `1,2,3` are refused,
    never read as 125 or 123); at most two decimals once 万 is applied."""
    body = s.str.replace(r"^[¥$]\s*", "").str.replace(r"\s*(万元|万|元)$", "")
    wan = s.str.contains(r"万元?$")
    grouped = body.str.contains(r"^\d{1,3}(,\d{3})+(\.\d+)?$")
    plain = pl.when(grouped).then(body.str.replace_all(",", "")).otherwise(body)
    number = pl.when(plain.str.contains(r"^\d{1,15}(\.\d+)?$")).then(plain.cast(pl.Float64, strict=False))
    value = pl.when(wan).then((number * 10_000).round(6)).otherwise(number)
    ok = value.is_not_null() & ((value * 100).round(0) - value * 100).abs().lt(1e-6)
    return pl.when(ok).then(value.round(2)), ok


def _split_list(s: pl.Expr) -> pl.Expr:
    return s.str.replace_all(LIST_SEPARATORS, ";").str.split(";")


def _clean_list(s: pl.Expr) -> pl.Expr:
    return _split_list(s).list.eval(pl.element().str.strip_chars()).list.eval(pl.element().filter(pl.element() != ""))


ZH = {
    "required": "必填项为空 / required value is missing",
    "code": "机构代码应为6位数字 / must be a 6-digit office code",
    "year": "年度应为1985–2100之间的四位数 / must be a year between 1985 and 2100",
    "int": "应为不小于0的整数 / must be a whole number of 0 or more",
    "decimal": "应为不小于0的金额，最多两位小数；可带¥、元、万，千分位逗号须三位一组 / must be an amount of 0 or more "
    "with at most 2 decimals; ¥, 元 and 万 are accepted, thousands separators only in groups of three (12,500)",
    "excel_error": "单元格是Excel错误值，请在Excel中改正公式或填入实际值 / the cell holds an Excel error value; "
    "correct the formula or enter the value in Excel",
    "date_time": "该列只填日期，此处带有非零时刻 / this column takes a date only, and this value has a time of day",
    "score": "分数应为不小于0的数 / score must be a number of 0 or more",
    "bool": "应为是/否 / must be yes or no (是/否)",
    "date": "日期无法识别（支持2024-03-05、2024/3/5、2024.3.5、2024年3月5日、20240305或Excel日期）"
    " / not a date in an accepted form",
    "date_range": "日期不在1985-01-01至2100-12-31之间 / date outside 1985-01-01..2100-12-31",
    "timestamp": "时间无法识别 / not a date-time in an accepted form",
}


def _enum_reason(contract: Contract, enum: str) -> str:
    values = contract.enum_values[enum]
    return f"不是可接受的取值 / not an accepted value; use one of: {', '.join(values)} (or their Chinese labels)"


def _date_parts(s: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """(the date, whether a time of day was given) of a date column's text `s`."""
    timed = s.str.extract_groups(DATE_TIME)
    clock = [timed.struct.field(str(i)).cast(pl.Int64, strict=False).fill_null(0) for i in (2, 3, 4)]
    has_time = timed.struct.field("1").is_not_null() & ((clock[0] > 0) | (clock[1] > 0) | (clock[2] > 0))
    has_time = has_time | s.str.contains(r"^\d{1,5}\.\d*[1-9]\d*$")  # an Excel serial with a fraction
    return _date_expr(pl.coalesce(timed.struct.field("1"), s)), has_time


def _filled(col: Column, s: pl.Expr) -> pl.Expr:
    return s.fill_null(pl.lit(col.default)) if col.default is not None else s


def _typed_column(
    col: Column, contract: Contract, s: pl.Expr, date_parts: tuple[pl.Expr, pl.Expr] | None = None
) -> tuple[pl.Expr, pl.Expr]:
    """The typed value and the error (reason or null) of column `col`, from normalised text `s`.
    `date_parts`: a date column's `_date_parts`, when the caller has computed them as columns
    (an expression used four times is evaluated four times)."""
    s = _filled(col, s)
    missing = s.is_null()
    # when/then chains grow branch by branch; a chain without `otherwise` yields null elsewhere.
    err: Any = (
        pl.when(missing)
        .then(pl.lit(ZH["required"] if col.required else None))
        .when(s.str.contains(EXCEL_ERRORS))
        .then(pl.lit(ZH["excel_error"]))
    )
    base = col.base
    if base == "text":
        value = s
    elif base == "code":
        ok = s.str.contains(r"^\d{6}$")
        value = pl.when(ok).then(s)
        err = err.when(~ok).then(pl.lit(ZH["code"]))
    elif base == "year":
        value = s.cast(pl.Int32, strict=False)
        err = err.when(value.is_null() | (value < 1985) | (value > 2100)).then(pl.lit(ZH["year"]))
    elif base == "int":
        ok = s.str.contains(r"^\d{1,9}(\.0+)?$")
        value = pl.when(ok).then(s.str.replace(r"\.0+$", "").cast(pl.Int32, strict=False))
        err = err.when(~ok).then(pl.lit(ZH["int"]))
    elif base in ("decimal", "score"):
        if base == "decimal":
            value, ok = _amount(s)
        else:
            ok = s.str.contains(r"^\d{1,3}(\.\d{1,2})?$")
            value = pl.when(ok).then(s.cast(pl.Float64, strict=False))
        err = err.when(~ok).then(pl.lit(ZH[base]))
    elif base == "bool":
        mapped = _fold_expr(s).replace_strict(contract.enums["bool"], default=None, return_dtype=pl.String)
        value = mapped == "true"
        err = err.when(mapped.is_null()).then(pl.lit(ZH["bool"]))
    elif base == "enum":
        assert col.enum is not None  # the contract loader requires it of enum columns
        mapped = _fold_expr(s).replace_strict(contract.enums[col.enum], default=None, return_dtype=pl.String)
        value = mapped
        err = err.when(mapped.is_null()).then(pl.lit(_enum_reason(contract, col.enum)))
    elif base == "enumlist":
        assert col.enum is not None
        items = _clean_list(s.fill_null(""))
        mapped = items.list.eval(
            _fold_expr(pl.element()).replace_strict(contract.enums[col.enum], default=None, return_dtype=pl.String)
        )
        bad = mapped.list.eval(pl.element().is_null()).list.any()
        value = mapped.list.unique().list.sort()
        err = err.when(bad).then(pl.lit(_enum_reason(contract, col.enum)))
    elif base == "list":
        value = _clean_list(s.fill_null(""))
    elif base == "date":
        value, has_time = date_parts if date_parts is not None else _date_parts(s)
        err = (
            err.when(has_time & value.is_not_null())
            .then(pl.lit(ZH["date_time"]))
            .when(value.is_null())
            .then(pl.lit(ZH["date"]))
            .when((value < EARLIEST) | (value > LATEST))
            .then(pl.lit(ZH["date_range"]))
        )
        value = pl.when(has_time).then(None).otherwise(value)
    elif base == "timestamp":
        value = _timestamp_expr(s)
        err = err.when(value.is_null()).then(pl.lit(ZH["timestamp"]))
    else:  # pragma: no cover - the contract loader rejects unknown types
        raise AssertionError(col.type)
    if not col.required and base not in ("list", "enumlist"):
        value = pl.when(missing).then(None).otherwise(value)
    return value.alias(col.name), err.otherwise(None).alias(f"__err_{col.name}")


def _normalise(name: str, wide: bool) -> pl.Expr:
    """NFKC (only where the column holds non-ASCII: it is costly), trim, empty -> null."""
    e = pl.col(name)
    if wide:
        e = e.str.normalize("NFKC")
    e = e.str.strip_chars()
    return pl.when(e == "").then(None).otherwise(e)


# Columns with fewer distinct values than this share of rows are parsed once per distinct value
# and joined back (dates, enums, codes); the others (case numbers) are parsed row by row.
DISTINCT_SHARE = 0.3
# Up to this many rows (an online appraisal is one) every column is typed in one select: the
# per-column queries and joins below cost 60 ms of fixed overhead, which only pays off on files.
SMALL_FRAME = 64


def _typed_frame(frame: pl.DataFrame, spec: KindSpec, contract: Contract) -> pl.DataFrame:
    """META + every column typed + `__err_<col>` + `__null_<col>` (normalised text is empty).

    Columns are built as independent lazy queries and collected together, so Polars spreads them
    over the cores.
    """
    present = [c for c in frame.columns if c not in META and c != EXTRA]
    if frame.height <= SMALL_FRAME:
        return _typed_small(frame, spec, contract, present)
    distinct_counts = frame.select([pl.col(c).n_unique() for c in present]).row(0) if present else ()
    n_distinct = dict(zip(present, distinct_counts))
    lazy = frame.lazy()
    parts: list[pl.LazyFrame] = []
    for col in spec.columns:
        if col.name not in present:
            blank = pl.DataFrame({col.name: pl.Series([None], dtype=pl.String)})
            value, err = _typed_column(col, contract, _normalise(col.name, False))
            row = blank.select(value, err, pl.lit(True).alias(f"__null_{col.name}"))
            parts.append(
                pl.LazyFrame({"__i": pl.Series([0] * frame.height, dtype=pl.UInt8)})
                .join(
                    row.lazy().with_columns(pl.lit(0, dtype=pl.UInt8).alias("__i")),
                    on="__i",
                    how="left",
                    maintain_order="left",
                )
                .drop("__i")
            )
            continue
        direct = n_distinct[col.name] > DISTINCT_SHARE * frame.height and n_distinct[col.name] > 1000
        if direct:
            wide = bool(frame.select(pl.col(col.name).str.contains(r"[^\x00-\x7F]").any()).item())
            norm = _normalise(col.name, wide)
            value, err = _typed_column(col, contract, norm)
            parts.append(lazy.select(value, err, norm.is_null().alias(f"__null_{col.name}")))
            continue
        norm = _normalise(col.name, True)  # NFKC is cheap on the distinct values
        value, err = _typed_column(col, contract, norm)
        table = lazy.select(pl.col(col.name).unique()).select(
            pl.col(col.name).alias("__key"), value, err, norm.is_null().alias(f"__null_{col.name}")
        )
        parts.append(
            lazy.select(pl.col(col.name).alias("__key"))
            .join(table, on="__key", how="left", nulls_equal=True, maintain_order="left")
            .drop("__key")
        )
    # The in-memory engine runs these many small joins about twice as fast as the default here.
    collected = pl.collect_all([frame.lazy().select(*META, pl.col(EXTRA).alias("__err_")), *parts], engine="in-memory")
    return pl.concat(collected, how="horizontal")


def _typed_small(frame: pl.DataFrame, spec: KindSpec, contract: Contract, present: list[str]) -> pl.DataFrame:
    """What `_typed_frame` makes, in one select: the same expressions on every row (a column the
    file lacks is a column of nulls, typed as the blank row is)."""
    missing, dates, out = _memo(
        ("small", spec.kind, tuple(present)), contract, lambda: _small_exprs(spec, contract, present)
    )
    return frame.with_columns(missing).with_columns(dates).select(out)


# Expressions built for a contract, by what they depend on besides it (an online appraisal built the
# same few hundred expressions on every entry: 5 ms). Polars expressions are immutable and reusable.
T = TypeVar("T")
_EXPRS: dict[tuple, tuple[Contract, Any]] = {}
_EXPRS_MOST = 64


def _memo(key: tuple, contract: Contract, build: Callable[[], T]) -> T:
    """`build()`, kept for `contract` (by identity; the entry holds it, so its id is not reused) and `key`."""
    full = (id(contract), *key)
    got = _EXPRS.get(full)
    if got is not None and got[0] is contract:
        return got[1]
    value = build()
    if len(_EXPRS) >= _EXPRS_MOST:
        _EXPRS.clear()
    _EXPRS[full] = (contract, value)
    return value


def _small_exprs(
    spec: KindSpec, contract: Contract, present: list[str]
) -> tuple[list[pl.Expr], list[pl.Expr], list[pl.Expr]]:
    missing = [pl.lit(None, dtype=pl.String).alias(c.name) for c in spec.columns if c.name not in present]
    dates: list[pl.Expr] = []
    out: list[pl.Expr] = [*(pl.col(m) for m in META), pl.col(EXTRA).alias("__err_")]
    for col in spec.columns:
        norm = _normalise(col.name, col.name in present)
        parts = None
        if col.base == "date":  # parsed once into two columns, then read by value and error
            value, has_time = _date_parts(_filled(col, norm))
            dates += [value.alias(f"__date_{col.name}"), has_time.alias(f"__time_{col.name}")]
            parts = (pl.col(f"__date_{col.name}"), pl.col(f"__time_{col.name}"))
        value, err = _typed_column(col, contract, norm, parts)
        out += [value, err, norm.is_null().alias(f"__null_{col.name}")]
    return missing, dates, out


def _rule_errors(kind: str, contract: Contract) -> list[tuple[str, pl.Expr]]:
    """Row rules across columns (SPEC §2), evaluated on typed values: (column, reason-or-null)."""
    c = pl.col
    if kind == "cases":
        return [
            (
                "accepted_date",
                pl.when(c("accepted_date") < c("received_date")).then(
                    pl.lit("立案日期早于收到日期 / accepted_date is before received_date")
                ),
            ),
            (
                "closed_date",
                pl.when(c("closed_date") < c("accepted_date")).then(
                    pl.lit("结案日期早于立案日期 / closed_date is before accepted_date")
                ),
            ),
            (
                "closing_type",
                pl.when(c("closed_date").is_not_null() & c("closing_type").is_null())
                .then(pl.lit("已结案件须填写结案方式 / a closed case needs its closing_type"))
                .when(c("closed_date").is_null() & c("closing_type").is_not_null())
                .then(pl.lit("未结案件不应有结案方式（或缺少结案日期） / closing_type given but closed_date is empty")),
            ),
            (
                "case_no",
                pl.when(c("case_no").str.len_chars() > 100).then(
                    pl.lit("案号过长（超过100字） / case_no longer than 100 characters")
                ),
            ),
        ]
    if kind == "offices":
        return [
            (
                "parent_code",
                pl.when((c("level") == "national") & c("parent_code").is_not_null())
                .then(pl.lit("国家级机构不应有上级 / the national office has no parent"))
                .when((c("level") != "national") & c("parent_code").is_null())
                .then(pl.lit("非国家级机构须填写上级机构代码 / parent_code is required below the national level"))
                .when(c("parent_code") == c("office_code"))
                .then(pl.lit("上级机构不能是自身 / an office cannot be its own parent")),
            ),
        ]
    if kind == "appraisals":
        return _appraisal_rules(contract)
    return []


def parse(
    frame: pl.DataFrame,
    spec: KindSpec,
    contract: Contract,
    issues: pl.DataFrame | None = None,
    draws: dict[str, str] | None = None,
) -> Parsed:
    """Type every column of `frame`, apply the row rules, and split good rows from bad ones.

    `issues`: cell problems the reader found (ERROR_SCHEMA), such as a formula without a value;
    their rows are rejected with that reason in place of whatever the empty cell would have caused."""
    if EXTRA not in frame.columns:
        frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias(EXTRA))
    data_cols = [c for c in frame.columns if c not in META and c != EXTRA]
    typed = _typed_frame(frame, spec, contract)
    if spec.kind == "appraisals":  # the checklist each row is scored under; `draws`: draw_id -> its plan's
        typed = resolve_versions(typed, contract, draws or {})
    if issues is not None:
        issues = issues.join(frame.select(META), on=list(META), how="semi", nulls_equal=True)
    flagged = issues is not None and issues.height > 0
    if flagged:
        assert issues is not None
        marks = issues.select(*META).unique().with_columns(pl.lit(True).alias("__issue"))
        typed = typed.join(marks, on=list(META), how="left", nulls_equal=True, maintain_order="left")
    present_nulls = [f"__null_{c}" for c in data_cols]
    blank = pl.all_horizontal([pl.col(c) for c in present_nulls]) if present_nulls else pl.lit(True)
    if flagged:
        blank = blank & pl.col("__issue").is_null()
    mask = typed.select((~blank).alias("keep")).to_series()
    n_blank = int(mask.len() - mask.sum())
    typed = typed.filter(mask).drop([c for c in typed.columns if c.startswith("__null_")])
    raw = frame.filter(mask)

    rules = _memo(("rules", spec.kind), contract, lambda: _rule_errors(spec.kind, contract))
    if rules:
        typed = typed.with_columns(
            [pl.coalesce(pl.col(f"__err_{col}"), expr).alias(f"__err_{col}") for col, expr in rules]
        )
    err_cols = [c for c in typed.columns if c.startswith("__err_")]
    bad_row = pl.any_horizontal([pl.col(c).is_not_null() for c in err_cols])
    if flagged:
        bad_row = bad_row | pl.col("__issue").is_not_null()
    typed = typed.with_columns(bad_row.alias("__bad"))

    bad = typed.filter(pl.col("__bad"))
    raw_bad = raw.join(bad.select(META), on=list(META), how="semi", nulls_equal=True)
    long = []
    for c in err_cols:
        name = c.removeprefix("__err_")
        part = bad.filter(pl.col(c).is_not_null()).select(
            *META, pl.lit(name).alias("column"), pl.col(c).alias("reason")
        )
        if part.height:
            rawvals = raw_bad.select(
                *META, (pl.col(name) if name in data_cols else pl.lit(None, pl.String)).cast(pl.String).alias("value")
            )
            part = part.join(rawvals, on=list(META), how="left", nulls_equal=True)
            long.append(part.select(list(ERROR_SCHEMA)))
    err_frame = pl.concat(long) if long else pl.DataFrame(schema=ERROR_SCHEMA)
    if flagged:
        assert issues is not None
        keys = [*META, "column"]
        err_frame = pl.concat(
            [err_frame.join(issues, on=keys, how="anti", nulls_equal=True), issues.select(list(ERROR_SCHEMA))]
        ).sort(pl.col("_sheet"), pl.col("_row").cast(pl.Int64), "column", nulls_last=False)
    good = typed.filter(~pl.col("__bad")).drop([*err_cols, "__bad", *(["__issue"] if flagged else [])])
    return Parsed(good, err_frame, raw_bad.drop(EXTRA), n_blank)


def _per_version(contract: Contract, value: Callable[[Checklist], pl.Expr | None]) -> pl.Expr:
    """`value(checklist)` for the row's checklist version (null where it gives None)."""
    out: Any = pl
    for version, cl in contract.checklists.items():
        got = value(cl)
        if got is not None:
            out = out.when(pl.col("checklist_version") == version).then(got)
    return out.otherwise(None) if out is not pl else pl.lit(None)


def _appraisal_rules(contract: Contract) -> list[tuple[str, pl.Expr]]:
    """Each item is scored under the row's checklist: its items present and no other, points at
    most the item's maximum, defects counted in whole numbers, veto items of that checklist."""
    c = pl.col
    version = c("checklist_version")
    known = list(contract.checklists)
    given = c(GIVEN_VERSION)
    out: list[tuple[str, pl.Expr]] = [
        (
            "checklist_version",
            pl.when(given.is_not_null() & ~given.is_in(known))
            .then(pl.lit(f"未知的评查表版本 / unknown checklist version; 可用 known: {'、'.join(known)}"))
            .when(given.is_not_null() & c(DRAW_VERSION).is_not_null() & (given != c(DRAW_VERSION)))
            .then(
                pl.lit("该批次的评查表版本不同 / the plan of this draw uses another checklist version: ")
                + c(DRAW_VERSION)
            ),
        )
    ]
    for item in contract.items:
        versions = [v for v, cl in contract.checklists.items() if cl.item(item.id)]
        has = version.is_in(versions)
        rule = (
            pl.when(has & c(item.id).is_null())
            .then(pl.lit("缺少该项（评查表 ") + version + pl.lit("） / missing: an item of checklist ") + version)
            .when(~has & version.is_in(known) & c(item.id).is_not_null())  # an unknown version: said once
            .then(
                pl.lit("评查表 ")
                + version
                + pl.lit(" 没有该项，请留空 / not an item of checklist ")
                + version
                + pl.lit("; leave it empty")
            )
        )
        for v in versions:
            it = contract.checklists[v].item(item.id)
            assert it is not None
            if it.kind == "points":
                rule = rule.when((version == v) & (c(item.id) > it.max)).then(
                    pl.lit(f"超过该项满分{it.max:g} / above this item's maximum of {it.max:g}")
                )
            else:
                rule = rule.when((version == v) & (c(item.id) != c(item.id).floor())).then(
                    pl.lit("填写缺陷处数（整数） / the number of defects, a whole number")
                )
        out.append((item.id, rule))
    restricted = [(v, [x.id for x in cl.vetoes]) for v, cl in contract.checklists.items()]
    if any(set(ids) != set(contract.enum_values.get("veto", ())) for _, ids in restricted):
        veto_rule: Any = pl
        for v, ids in restricted:
            foreign = c("veto").list.eval(~pl.element().is_in(ids)).list.any()
            veto_rule = veto_rule.when((version == v) & foreign).then(
                pl.lit(f"含评查表 {v} 以外的否决项 / a veto item that checklist {v} does not have; 可用 allowed: ")
                + pl.lit("、".join(x.zh for x in contract.checklists[v].vetoes))
            )
        out.append(("veto", veto_rule))
    return out


GIVEN_VERSION, DRAW_VERSION = "__given_version", "__draw_version"


def resolve_versions(typed: pl.DataFrame, contract: Contract, draws: dict[str, str]) -> pl.DataFrame:
    """The checklist each appraisal row is scored under: its draw's plan's (`draws`: draw_id ->
    version), else the version it names, else the default. What the row named and what its plan
    uses are kept aside for the rules (naming another version than the plan's is an error)."""
    if "checklist_version" not in typed.columns:
        typed = typed.with_columns(pl.lit(None, pl.String).alias("checklist_version"))
    named = pl.when(pl.col("checklist_version").str.strip_chars() != "").then(
        pl.col("checklist_version").str.strip_chars()
    )
    of_draw = (
        pl.col("draw_id").replace_strict(draws, default=None, return_dtype=pl.String)
        if draws
        else pl.lit(None, pl.String)
    )
    return typed.with_columns(named.alias(GIVEN_VERSION), of_draw.alias(DRAW_VERSION)).with_columns(
        pl.coalesce(pl.col(DRAW_VERSION), pl.col(GIVEN_VERSION), pl.lit(contract.checklist.version)).alias(
            "checklist_version"
        )
    )


def finish_appraisals(typed: pl.DataFrame, contract: Contract) -> pl.DataFrame:
    """Score parsed appraisal rows under each row's checklist: an item scored by deduction turns its
    defect count into points (max − per defect × defects, never below zero; the count is kept in
    `defects`, JSON); then total (zero on a veto where the checklist says so), grade, historical flag."""
    if "checklist_version" not in typed.columns or typed["checklist_version"].null_count() == typed.height:
        typed = typed.with_columns(pl.lit(contract.checklist.version).alias("checklist_version"))
    typed = typed.drop([c for c in (GIVEN_VERSION, DRAW_VERSION) if c in typed.columns])

    def counted(cl: Checklist, item_id: str) -> bool:
        it = cl.item(item_id)
        return it is not None and it.kind == "deduction"

    deducted = [i.id for i in contract.items if any(counted(cl, i.id) for cl in contract.checklists.values())]

    def points(item_id: str) -> Callable[[Checklist], pl.Expr | None]:
        def of(cl: Checklist) -> pl.Expr | None:
            it = cl.item(item_id)
            if it is None:
                return None
            if it.kind == "points":
                return pl.col(item_id)
            return pl.max_horizontal(pl.lit(0.0), pl.lit(it.max) - pl.lit(it.per_defect) * pl.col(item_id))

        return of

    def defect_pair(item_id: str) -> pl.Expr:
        counts_here = _per_version(contract, lambda cl: pl.lit(True) if counted(cl, item_id) else None)
        return pl.when(counts_here).then(pl.lit(f'"{item_id}":') + pl.col(item_id).cast(pl.Int64).cast(pl.String))

    if deducted:
        pairs = pl.concat_list([defect_pair(i) for i in deducted]).list.drop_nulls().list.join(",")
        typed = typed.with_columns(pl.when(pairs != "").then(pl.lit("{") + pairs + pl.lit("}")).alias("defects"))
    else:  # no item of any checklist is scored by deduction
        typed = typed.with_columns(pl.lit(None, pl.String).alias("defects"))
    typed = typed.with_columns(
        [_per_version(contract, points(i.id)).cast(pl.Float64).alias(i.id) for i in contract.items]
    )
    vetoed = pl.col("veto").list.len() > 0
    summed = pl.sum_horizontal([pl.col(i.id) for i in contract.items]).round(2)
    total = _per_version(
        contract, lambda cl: pl.when(vetoed).then(pl.lit(0.0)).otherwise(summed) if cl.veto_total_zero else summed
    )

    def grade(cl: Checklist) -> pl.Expr:
        out: Any = pl.when(vetoed).then(pl.lit(cl.grades[-1].id))
        for g in cl.grades:
            out = out.when(pl.col("total") >= g.min).then(pl.lit(g.id))
        return out.otherwise(pl.lit(cl.grades[-1].id))

    return typed.with_columns(total.alias("total")).with_columns(
        _per_version(contract, grade).alias("grade"),
        (pl.col("draw_id") == "").alias("historical"),
    )
