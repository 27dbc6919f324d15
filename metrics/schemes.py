"""Assessment schemes as offices publish them (issue 19): versioned TOML files of point items in
sections, validated on load with the file, key and problem named, and scored per office.

Item kinds (docs/assessment-schemes.md):

| kind | points |
|---|---|
| `per_unit` | `points` per case counted by the `count` filter over the case facts (or per item of an outside `source`, e.g. supervised cases closed), up to an optional `cap` |
| `growth` | `points` per percentage point of growth of the `count` on the year before, never below 0, up to `cap`; from a zero base: `zero_base = "zero"` (no points) or `"cap"` (the cap when the count grew from nothing) |
| `band` | a rate (`numerator` / `denominator` filters) or a count (`count`) mapped to points by `bands`, thresholds from the highest down: the first threshold the value reaches gives its points; `no_cases` when the denominator is 0 |
| `indicator` | today's normalised composite (0–100) times `scale` |
| `manual` | entered by people, at most `max`: the office's self-score and the assessor's score both kept; the assessor's counts |

Items belong to sections; a section's subtotal is capped by its `cap`. The total ranks the offices of
the scheme's `level` (equal totals share a rank). A filter is a DuckDB condition over the case facts'
columns (`closed_in_year AND case_kind = 'infringement_dispute'`); a column that is not one of them,
a subquery or a table is refused on load.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import polars as pl
import sqlglot
from sqlglot import exp

from core import settings
from metrics.config import Config
from metrics.indicators import register_inputs
from metrics.ranking import composite_runs, composites, rank_interval
from queries.loader import FACT_INPUTS, facts_sql, facts_versions
from queries.result_cache import cached_frame
from queries.statements import duck_sql

KINDS = ("per_unit", "growth", "band", "indicator", "manual")
LEVELS = ("provincial", "prefecture", "county")
SOURCES = ("supervised_closed",)  # counts the caller supplies from the operational store
FACT_COLUMNS = frozenset(
    {
        "office_code", "case_no", "case_kind", "source", "received_date", "accepted_date", "closed_date",
        "closing_type", "suspended_days", "extension_days", "sectors", "review_outcome", "has_limit",
        "accepted_in_year", "closed_in_year", "open_at_as_of", "as_of", "deadline", "extension_over_cap",
        "acceptance_due", "net_days",
    }
)  # fmt: skip
# Functions a filter may call, by sqlglot's name for them (list_contains reads as ARRAY_CONTAINS).
FUNCTIONS = frozenset({"array_contains", "coalesce", "year", "month", "datediff", "lower", "upper"})
OPERATORS = (exp.Binary, exp.Predicate, exp.Connector, exp.Unary, exp.Cast, exp.Case, exp.If, exp.Paren)


class SchemeError(ValueError):
    """The scheme file is not usable; the message names the file, the key and the problem."""


@dataclass(frozen=True)
class Section:
    id: str
    zh: str
    en: str
    cap: float | None


@dataclass(frozen=True)
class Item:
    id: str
    section: str
    kind: str
    zh: str
    en: str
    cap: float | None = None
    points: float = 0.0  # per_unit: per case; growth: per percentage point
    count: str | None = None
    source: str | None = None
    numerator: str | None = None
    denominator: str | None = None
    bands: tuple[tuple[float, float], ...] = ()
    no_cases: float = 0.0
    zero_base: str = "zero"
    scale: float = 0.0
    max: float = 0.0


@dataclass(frozen=True)
class Scheme:
    id: str
    version: str
    level: str
    zh: str
    en: str
    source: str
    sections: tuple[Section, ...]
    items: tuple[Item, ...]
    sha256: str
    year: int | None = None
    file: str = ""
    filters: dict[str, str] = field(default_factory=dict, compare=False)
    rank_interval: bool = False  # rank intervals from the Monte Carlo of its indicator items


def _number(file: str, key: str, value: Any, *, low: float = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < low:
        raise SchemeError(f"{file}: {key}: a number of at least {low:g}, not {value!r}")
    return float(value)


def _text(file: str, key: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise SchemeError(f"{file}: {key}: a non-empty text")
    return value


def check_filter(file: str, key: str, text: Any) -> str:
    """A filter over the case facts, parsed and checked: only their columns, no tables or subqueries,
    only the functions of FUNCTIONS."""
    text = _text(file, key, text)
    try:
        tree = sqlglot.parse_one(text, read="duckdb")
    except sqlglot.errors.ParseError as exc:
        raise SchemeError(f"{file}: {key}: not a condition DuckDB can read ({str(exc).splitlines()[0]})") from exc
    for node in tree.walk():
        if isinstance(node, exp.Select | exp.Subquery | exp.Table | exp.Query):
            raise SchemeError(f"{file}: {key}: a condition over one case's facts, without queries or tables")
        if isinstance(node, exp.Column) and (node.table or node.name not in FACT_COLUMNS):
            raise SchemeError(f"{file}: {key}: unknown column '{node.sql()}'; use {', '.join(sorted(FACT_COLUMNS))}")
        if isinstance(node, exp.Func) and (isinstance(node, exp.Anonymous) or not isinstance(node, OPERATORS)):
            name = (node.name if isinstance(node, exp.Anonymous) else node.sql_name()).lower()
            if name not in FUNCTIONS:
                allowed = "list_contains, coalesce, year, month, date_diff, lower, upper"
                spelled = node.sql(dialect="duckdb").split("(")[0].lower()  # as the scheme's author wrote it
                raise SchemeError(f"{file}: {key}: function '{spelled}' is not allowed; use {allowed}")
    return tree.sql(dialect="duckdb")


def parse_scheme(text: str, file: str = "scheme.toml") -> Scheme:
    """The scheme of a TOML text, every key checked (SchemeError naming file, key and problem)."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SchemeError(f"{file}: not valid TOML ({exc})") from exc
    for key in ("id", "version", "zh", "en", "source"):
        _text(file, key, raw.get(key))
    level = raw.get("level")
    if level not in LEVELS:
        raise SchemeError(f"{file}: level: one of {', '.join(LEVELS)}, not {level!r}")
    year = raw.get("year")
    if year is not None and (not isinstance(year, int) or not 1990 <= year <= 2100):
        raise SchemeError(f"{file}: year: a year such as 2024 (or leave it out for any year)")
    sections = []
    for k, s in enumerate(raw.get("section", [])):
        where = f"section[{k}]"
        cap = s.get("cap")
        sections.append(
            Section(
                _text(file, f"{where}.id", s.get("id")),
                _text(file, f"{where}.zh", s.get("zh")),
                _text(file, f"{where}.en", s.get("en")),
                None if cap is None else _number(file, f"{where}.cap", cap),
            )
        )
    if not sections:
        raise SchemeError(f"{file}: section: at least one section")
    if len({s.id for s in sections}) != len(sections):
        raise SchemeError(f"{file}: section: two sections share an id")
    items = [_item(file, k, i, {s.id for s in sections}) for k, i in enumerate(raw.get("item", []))]
    if not items:
        raise SchemeError(f"{file}: item: at least one item")
    if len({i.id for i in items}) != len(items):
        raise SchemeError(f"{file}: item: two items share an id")
    interval = raw.get("rank_interval", False)
    if not isinstance(interval, bool):
        raise SchemeError(f"{file}: rank_interval: true or false")
    if interval and not any(i.kind == "indicator" for i in items):
        raise SchemeError(
            f"{file}: rank_interval: only a scheme with an indicator item has one (its other points are exact counts)"
        )
    return Scheme(
        raw["id"],
        str(raw["version"]),
        level,
        raw["zh"],
        raw["en"],
        raw["source"],
        tuple(sections),
        tuple(items),
        hashlib.sha256(text.encode("utf-8")).hexdigest(),
        year,
        file,
        rank_interval=interval,
    )


def _item(file: str, k: int, raw: dict, sections: set[str]) -> Item:
    where = f"item[{k}]"
    kind = raw.get("kind")
    if kind not in KINDS:
        raise SchemeError(f"{file}: {where}.kind: unknown item kind {kind!r}; use {', '.join(KINDS)}")
    section = raw.get("section")
    if section not in sections:
        raise SchemeError(f"{file}: {where}.section: {section!r} is not a section of the scheme")
    cap = raw.get("cap")
    base = {
        "id": _text(file, f"{where}.id", raw.get("id")),
        "section": section,
        "kind": kind,
        "zh": _text(file, f"{where}.zh", raw.get("zh")),
        "en": _text(file, f"{where}.en", raw.get("en")),
        "cap": None if cap is None else _number(file, f"{where}.cap", cap),
    }
    if kind == "per_unit":
        if ("count" in raw) == ("source" in raw):
            raise SchemeError(f"{file}: {where}: give either count (a filter) or source ({', '.join(SOURCES)})")
        if "source" in raw and raw["source"] not in SOURCES:
            raise SchemeError(f"{file}: {where}.source: one of {', '.join(SOURCES)}")
        return Item(
            **base,
            points=_number(file, f"{where}.points", raw.get("points")),
            count=check_filter(file, f"{where}.count", raw["count"]) if "count" in raw else None,
            source=raw.get("source"),
        )
    if kind == "growth":
        zero = raw.get("zero_base", "zero")
        if zero not in ("zero", "cap"):
            raise SchemeError(f"{file}: {where}.zero_base: 'zero' or 'cap'")
        if zero == "cap" and cap is None:
            raise SchemeError(f"{file}: {where}.zero_base: 'cap' needs the item's cap")
        return Item(
            **base,
            points=_number(file, f"{where}.points", raw.get("points")),
            count=check_filter(file, f"{where}.count", raw.get("count")),
            zero_base=zero,
        )
    if kind == "band":
        bands = raw.get("bands")
        if not isinstance(bands, list) or not bands or not all(isinstance(b, list) and len(b) == 2 for b in bands):
            raise SchemeError(f"{file}: {where}.bands: a list of [threshold, points] pairs")
        pairs = tuple(
            (_number(file, f"{where}.bands[{j}]", b[0], low=-math.inf), _number(file, f"{where}.bands[{j}]", b[1]))
            for j, b in enumerate(bands)
        )
        if any(pairs[j][0] <= pairs[j + 1][0] for j in range(len(pairs) - 1)):
            raise SchemeError(
                f"{file}: {where}.bands: thresholds must run from the highest down, each lower than the last"
            )
        if ("count" in raw) == ("numerator" in raw):
            raise SchemeError(f"{file}: {where}: give either count or numerator and denominator")
        if "numerator" in raw and "denominator" not in raw:
            raise SchemeError(f"{file}: {where}.denominator: a rate needs its denominator")
        return Item(
            **base,
            bands=pairs,
            no_cases=_number(file, f"{where}.no_cases", raw.get("no_cases", 0)),
            count=check_filter(file, f"{where}.count", raw["count"]) if "count" in raw else None,
            numerator=check_filter(file, f"{where}.numerator", raw["numerator"]) if "numerator" in raw else None,
            denominator=check_filter(file, f"{where}.denominator", raw["denominator"])
            if "denominator" in raw
            else None,
        )
    if kind == "indicator":
        return Item(**base, scale=_number(file, f"{where}.scale", raw.get("scale")))
    return Item(**base, max=_number(file, f"{where}.max", raw.get("max")))


def load_scheme(path: str | Path) -> Scheme:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise SchemeError(f"{p}: cannot be read ({exc.strerror})") from exc
    return parse_scheme(text, str(p))


def default_scheme_path() -> Path:
    return Path(__file__).parent / "schemes" / "example-provincial.toml"


def available_schemes() -> tuple[list[Scheme], list[str]]:
    """The shipped example and every scheme file of the folder $IPDASH_SCHEMES (*.toml), each loaded
    and checked; and the problems of those that could not be (file, key, problem)."""
    paths = [default_scheme_path()]
    folder = settings.current().schemes
    if folder:
        paths += sorted(folder.glob("*.toml"))
    schemes, problems = [], []
    for path in paths:
        try:
            schemes.append(load_scheme(path))
        except SchemeError as exc:
            problems.append(str(exc))
    return schemes, problems


# The year-bound facts, as the year before sees them: a growth item counts both years in one pass.
YEAR_BEFORE = {
    "accepted_in_year": "year(accepted_date) = $year - 1",
    "closed_in_year": "coalesce(year(closed_date) = $year - 1, false)",
    "as_of": "make_date($year - 1, 12, 31)",
    "open_at_as_of": "accepted_date <= make_date($year - 1, 12, 31) AND (closed_date IS NULL OR closed_date > "
    "make_date($year - 1, 12, 31))",
}


def year_before(condition: exp.Expr) -> exp.Expr:
    """`condition` with the year-bound columns of the case facts read for the year before."""

    def swap(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Column) and node.name in YEAR_BEFORE:
            return exp.Paren(this=sqlglot.parse_one(YEAR_BEFORE[node.name], read="duckdb"))
        return node

    return condition.copy().transform(swap)


# A case is in the facts of a year when accepted or closed in it, or open at its end. With growth
# items the facts also hold the year before's cases, and every count says which year's it is.
RELEVANT = "accepted_in_year OR closed_in_year OR open_at_as_of"
RELEVANT_BEFORE = (
    "year(c.accepted_date) = $year - 1 OR year(c.closed_date) = $year - 1 OR (c.accepted_date <= "
    "make_date($year - 1, 12, 31) AND (c.closed_date IS NULL OR c.closed_date > make_date($year - 1, 12, 31)))"
)


def _widened(facts: exp.Expr) -> exp.Expr:
    """The case facts with the year before's cases as well (its `relevant` step's condition widened)."""
    for cte in facts.find_all(exp.CTE):
        if cte.alias == "relevant":
            select = cte.this
            where = select.args["where"].this
            select.set(
                "where",
                exp.Where(this=exp.or_(exp.Paren(this=where), sqlglot.parse_one(RELEVANT_BEFORE, read="duckdb"))),
            )
            return facts
    raise AssertionError("the case facts have no `relevant` step")  # queries/case_facts.sql changed


def _counts_sql(scheme: Scheme) -> tuple[str, list[str]]:
    """SELECT unit, one count per filter of the scheme (and, for a growth item, its count of the year
    before) FROM the case facts GROUP BY unit — one pass over the facts; the names."""
    facts = sqlglot.parse_one(facts_sql(False), read="duckdb")
    growth = any(i.kind == "growth" for i in scheme.items)
    if growth:
        facts = _widened(facts)
    now = sqlglot.parse_one(RELEVANT, read="duckdb")
    names: list[str] = []
    projections: list[exp.Expr] = [exp.column(c) for c in PATH]

    def count(condition: exp.Expr, name: str) -> None:
        projections.append(exp.Filter(this=exp.Count(this=exp.Star()), expression=exp.Where(this=condition)).as_(name))
        names.append(name)

    for item in scheme.items:
        for part in ("count", "numerator", "denominator"):
            text = getattr(item, part)
            if text is None:
                continue
            condition = sqlglot.parse_one(text, read="duckdb")
            if not growth:
                count(condition, f"{item.id}__{part}")
                continue
            count(exp.and_(exp.Paren(this=now.copy()), exp.Paren(this=condition)), f"{item.id}__{part}")
            if item.kind == "growth":
                before = year_before(exp.Paren(this=exp.and_(exp.Paren(this=now.copy()), exp.Paren(this=condition))))
                count(before, f"{item.id}__before")
    # Counts add up: one row per case (the facts before they are repeated for every office of the
    # case's path), grouped by the path, and summed up to the scheme's level in `_rolled_up`.
    query = exp.select(*projections).from_(exp.to_table("facts")).group_by(*(exp.column(c) for c in PATH))
    query.set("with_", facts.args["with_"])
    return query.sql(dialect="duckdb"), names


PATH = ("office_code", "province_code", "prefecture_code")
UNIT_OF_LEVEL = {"provincial": "province_code", "prefecture": "prefecture_code", "county": "office_code"}


def _rolled_up(counts: pl.DataFrame, names: list[str], level: str) -> dict[str, dict]:
    """Office of `level` -> its subtree's counts, summed from the counts per case office."""
    unit = UNIT_OF_LEVEL[level]
    summed = (
        counts.filter(pl.col(unit).is_not_null())
        .group_by(unit)
        .agg([pl.col(n).sum() for n in names])
        .rename({unit: "office_code"})
    )
    return {r["office_code"]: r for r in summed.iter_rows(named=True)}


def _capped(points: float, cap: float | None) -> tuple[float, bool]:
    if cap is not None and points > cap:
        return cap, True
    return points, False


def band_points(value: float | None, item: Item) -> float:
    """The points of the first band whose threshold `value` reaches; `no_cases` for no value."""
    if value is None:
        return item.no_cases
    for threshold, points in item.bands:
        if value >= threshold - 1e-12:
            return points
    return 0.0


def assess(
    con: duckdb.DuckDBPyConnection,
    config: Config,
    scheme: Scheme,
    *,
    year: int,
    manual: dict[tuple[str, str], dict] | None = None,
    outside: dict[str, dict[str, int]] | None = None,
) -> list[dict]:
    """Score every office of the scheme's level for `year`, ranked by total.

    `manual`: (office, item) -> {"self": score or None, "assessor": score or None} (the operational
    store's manual scores); `outside`: source -> office -> count, each office counting its subtree."""
    manual, outside = manual or {}, outside or {}
    register_inputs(con, config)
    query, names = _counts_sql(scheme)
    counts: dict[str, dict] = {}
    if names:  # one pass; kept in the result cache of the publish, like the indicators
        got = cached_frame(
            con,
            query,
            {"year": year, "as_of": dt.date(year, 12, 31)},
            depends=FACT_INPUTS,
            versions=facts_versions(con, False, year),
        )
        counts = _rolled_up(got, names, scheme.level)
    offices = con.sql(duck_sql("offices.of_level"), params={"level": scheme.level}).pl()
    composite = (
        composites(con, config, year=year, level=scheme.level, within=None)
        if any(i.kind == "indicator" for i in scheme.items)
        else {}
    )
    out = []
    for code, name in offices.iter_rows():
        now = counts.get(code, {})
        items = {i.id: _score(i, code, now, composite, manual, outside) for i in scheme.items}
        sections = {}
        for s in scheme.sections:
            raw = sum(v["points"] for i, v in items.items() if _section(scheme, i) == s.id)
            points, capped = _capped(raw, s.cap)
            sections[s.id] = {"points": round(points, 4), "uncapped": round(raw, 4), "capped": capped}
        total = round(sum(s["points"] for s in sections.values()), 4)
        pending = [i for i, v in items.items() if v.get("pending")]
        out.append(
            {
                "office_code": code,
                "name": name,
                "items": items,
                "sections": sections,
                "total": total,
                "pending": pending,
            }
        )
    out.sort(key=lambda o: (-o["total"], o["office_code"]))
    for k, o in enumerate(out):
        o["rank"] = k + 1 if k == 0 or o["total"] != out[k - 1]["total"] else out[k - 1]["rank"]
        o["rank_interval"] = None
    if scheme.rank_interval and out:
        _rank_intervals(con, config, scheme, year, out)
    return out


def _rank_intervals(con: duckdb.DuckDBPyConnection, config: Config, scheme: Scheme, year: int, out: list[dict]) -> None:
    """Each office's rank interval: its total recomputed in every Monte Carlo run of the composite
    (the indicator items take that run's composite, through the same item and section caps; the
    other points are exact) and ranked within the run."""
    codes, runs = composite_runs(con, config, year=year, level=scheme.level)
    at = {c: k for k, c in enumerate(codes)}
    totals = np.zeros((len(out), runs.shape[1]))
    for k, o in enumerate(out):
        comp = runs[at[o["office_code"]]] if o["office_code"] in at else np.full(runs.shape[1], np.nan)
        comp = np.nan_to_num(comp, nan=0.0)  # no composite: the item gives 0, as in the official total
        for s in scheme.sections:
            section = np.zeros(runs.shape[1])
            for item in scheme.items:
                if _section(scheme, item.id) != s.id:
                    continue
                if item.kind == "indicator":
                    raw = comp * item.scale
                    section += np.minimum(raw, item.cap) if item.cap is not None else raw
                else:
                    section += o["items"][item.id]["points"]
            totals[k] += np.minimum(section, s.cap) if s.cap is not None else section
    lo, hi = rank_interval(totals, *config.scoring.monte_carlo.interval)
    for k, o in enumerate(out):
        o["rank_interval"] = [int(lo[k]), int(hi[k])]


def _section(scheme: Scheme, item_id: str) -> str:
    return next(i.section for i in scheme.items if i.id == item_id)


def _score(item: Item, code: str, now: dict, composite: dict, manual: dict, outside: dict) -> dict:
    def n(row: dict, part: str) -> int:
        return int(row.get(f"{item.id}__{part}") or 0)

    if item.kind == "per_unit":
        count = outside.get(item.source, {}).get(code, 0) if item.source else n(now, "count")
        points, capped = _capped(count * item.points, item.cap)
        return {"count": count, "points": round(points, 4), "capped": capped}
    if item.kind == "growth":
        count, base = n(now, "count"), n(now, "before")
        if base == 0:
            growth = None
            raw = (item.cap or 0.0) if item.zero_base == "cap" and count > 0 else 0.0
        else:
            growth = (count - base) / base * 100
            raw = max(growth, 0.0) * item.points
        points, capped = _capped(raw, item.cap)
        return {
            "count": count,
            "base": base,
            "growth_pp": None if growth is None else round(growth, 4),
            "points": round(points, 4),
            "capped": capped,
        }
    if item.kind == "band":
        if item.count is not None:
            value: float | None = float(n(now, "count"))
            detail = {"count": n(now, "count")}
        else:
            num, den = n(now, "numerator"), n(now, "denominator")
            value = num / den if den else None
            detail = {"numerator": num, "denominator": den}
        points, capped = _capped(band_points(value, item), item.cap)
        return {
            **detail,
            "value": None if value is None else round(value, 6),
            "points": round(points, 4),
            "capped": capped,
        }
    if item.kind == "indicator":
        value = composite.get(code)
        raw = 0.0 if value is None else value * item.scale
        points, capped = _capped(raw, item.cap)
        return {"value": value, "points": round(points, 4), "capped": capped}
    got = manual.get((code, item.id), {})
    assessor, own = got.get("assessor"), got.get("self")
    points, capped = _capped(float(assessor) if assessor is not None else 0.0, item.cap)
    return {
        "self": own,
        "assessor": assessor,
        "points": round(points, 4),
        "capped": capped,
        "pending": assessor is None,
    }
