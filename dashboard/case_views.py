"""Monitoring of open cases, the case explorer's data (server-side paging, sorting and filtering) and one case's page, through the
scoped runner: user input never becomes an identifier and every value is a bound parameter."""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Callable
from typing import Any

import polars as pl
from sqlglot import exp

from access import audit, policy
from dashboard import inputs
from dashboard.data import safe_csv
from dashboard.i18n import t
from dashboard.inputs import BadRequest
from dashboard.table_export import frame_xlsx
from dashboard.view_types import CasesPage, Denied, Monitor
from dashboard.views import Controls, Viewer, access, crumbs, home, office_grant, office_resource, tree
from ingest.contract import default_contract
from inspection.plans import archives_of_inspector
from metrics.indicators import register_inputs
from metrics.monitor import open_cases
from queries.loader import run, run_on_facts
from queries.statements import duck_sql, select_tree

# --- monitoring of open cases ----------------------------------------------------------------


def monitor(viewer: Viewer, controls: Controls, office: str | None) -> Monitor | Denied:
    """Open cases below `office` (default: the user's scope) at the as-of date, overdue first,
    with the status counts, the age profile and the acceptance backlog."""
    office = office or home(viewer)
    grant = (
        None if office is None else office_grant(viewer, office, access(viewer, office, what="monitor", need="full"))
    )
    if office is None or grant is None:
        return {"denied": True, "code": office}
    as_of = controls.as_of_date
    frame = viewer.cache.get(
        ("open", as_of, office),
        lambda: viewer.national_read(grant, lambda con: open_cases(con, viewer.config, scope=office, as_of=as_of)),
    )
    backlog = viewer.cache.get(
        ("backlog", as_of),
        lambda: viewer.national_read(grant, lambda con: run(con, "acceptance_backlog", as_of=as_of)),
    )
    mine = backlog.filter(pl.col("office_code") == office).to_dicts()
    counts = dict(frame.group_by("status").len().iter_rows()) if frame.height else {}
    bins = [(0, 30), (31, 90), (91, 180), (181, 365), (366, None)]
    ages = frame["age_days"] if frame.height else pl.Series([], dtype=pl.Int64)
    profile_ = [int(((ages >= lo) & (ages <= (hi if hi is not None else 10**9))).sum()) for lo, hi in bins]
    offices = tree(viewer).offices
    return {
        "denied": False,
        "code": office,
        "name": offices[office]["name"],
        "cases": frame,
        "counts": counts,
        "ages": profile_,
        "age_bins": bins,
        "backlog": mine[0] if mine else {"backlog": 0, "oldest_days": None},
        "names": {
            c: offices[c]["name"] for c in (frame["office_code"].unique() if frame.height else []) if c in offices
        },
    }


# The open-cases export: its columns, named as the page names them (never by their identifiers).
EXPORT_COLUMNS = {
    "office_code": "case.office_code",
    "office_name": "case.office_name",
    "case_no": "case.case_no",
    "case_kind": "case.case_kind",
    "received_date": "case.received_date",
    "accepted_date": "case.accepted_date",
    "deadline": "mon.deadline",
    "suspended_days": "case.suspended_days",
    "extension_days": "case.extension_days",
    "extension_over_cap": "mon.over_cap",
    "days_left": "mon.days_left",
    "age_days": "mon.age",
    "limit_used": "mon.limit_used",
    "status": "mon.status",
}


def export_words(frame: pl.DataFrame, names: dict[str, str], lang: str) -> pl.DataFrame:
    """The open cases as people read them: kinds and statuses by name, the share of the limit used
    as a percentage, yes/no, and the columns headed in `lang`."""
    contract = default_contract()
    kinds = {v: contract.label("case_kind", v, lang) for v in contract.enum_values["case_kind"]}
    statuses = {s: t(f"status.{s}", lang) for s in ("overdue", "warning", "ok", "no_limit")}
    frame = frame.with_columns(
        pl.col("office_code").replace_strict(names, default=pl.col("office_code")).alias("office_name"),
        pl.col("case_kind").replace_strict(kinds, default=pl.col("case_kind")),
        pl.col("status").replace_strict(statuses, default=pl.col("status")),
        (pl.col("limit_used") * 100).round(1),
        pl.when(pl.col("extension_over_cap"))
        .then(pl.lit(t("yes", lang)))
        .otherwise(pl.lit(t("no", lang)))
        .alias("extension_over_cap"),
    )
    present = [c for c in EXPORT_COLUMNS if c in frame.columns]
    return frame.select(present).rename({c: t(EXPORT_COLUMNS[c], lang) for c in present})


def monitor_export(
    viewer: Viewer,
    controls: Controls,
    *,
    office: str | None,
    status: str | None,
    lang: str = "zh",
    excel: bool = False,
) -> tuple[str, str | bytes] | None:
    """The open cases of `monitor(viewer, controls, office)` (of one status, when given) as a file
    name and its content in `lang` (names, not codes): CSV text defused against formula injection,
    or with `excel` an Excel workbook; the export is audited. None when refused."""
    if not policy.require(viewer.ops, actor=viewer.user, action="monitor", what="open-cases export"):
        return None
    got = monitor(viewer, controls, office)
    if got["denied"]:
        return None
    frame = got["cases"] if not status else got["cases"].filter(pl.col("status") == status)
    audit.record(
        viewer.ops,
        actor=viewer.user.username,
        action="export.open_cases",
        target=got["code"],
        detail={"rows": frame.height, "status": status, "format": "xlsx" if excel else "csv"},
    )
    names = {c: o["name"] for c, o in tree(viewer).offices.items()}
    words = export_words(frame, names, lang)
    if excel:
        return f"open-cases-{got['code']}.xlsx", frame_xlsx(words, t("mon.title", lang))
    return f"open-cases-{got['code']}.csv", safe_csv(words)


# --- the case explorer: server-side paging, sorting and filtering through the scoped runner -----

# The grid's columns are the select list of queries/analytic/cases.sql `grid` (a fixed list: user
# input never becomes an identifier); filters, sorting and paging are added to its syntax tree.
GRID = select_tree(duck_sql("cases.grid"))
IN_YEAR = select_tree(duck_sql("cases.active_in_year")).args["where"].this  # the condition alone
CASE_COLUMNS: dict[str, exp.Expr] = {e.alias: e.this for e in GRID.expressions}
DATE_COLUMNS = {"received_date", "accepted_date", "closed_date"}
ENUM_COLUMNS = {
    "case_kind": "case_kind",
    "source": "source",
    "closing_type": "closing_type",
    "review_outcome": "review_outcome",
}  # grid column -> its enumeration in the data contract
# A text filter on an enumeration column as a test of a value's code and its Chinese and English
# names (the grid shows the names): positive test, and whether the SQL condition is negated.
ENUM_TESTS = {
    "contains": (lambda name, text: text in name, False),
    "equals": (lambda name, text: name == text, False),
    "startsWith": (lambda name, text: name.startswith(text), False),
    "endsWith": (lambda name, text: name.endswith(text), False),
    "notEqual": (lambda name, text: name == text, True),
    "notContains": (lambda name, text: text in name, True),
}


def _lowered(name: str) -> Callable[[exp.Expr, exp.Expr], exp.Expr]:
    return lambda c, p: exp.func(name, exp.Lower(this=c), exp.Lower(this=p))


TEXT_OPS: dict[str, Callable[[exp.Expr, exp.Expr], exp.Expr]] = {
    "contains": _lowered("contains"),
    "equals": lambda c, p: exp.EQ(this=c, expression=p),
    "notEqual": lambda c, p: exp.NEQ(this=c, expression=p),
    "startsWith": _lowered("starts_with"),
    "endsWith": _lowered("ends_with"),
    "notContains": lambda c, p: exp.Not(this=_lowered("contains")(c, p)),
}
DATE_OPS: dict[str, type[exp.Binary]] = {
    "equals": exp.EQ,
    "lessThan": exp.LT,
    "greaterThan": exp.GT,
    "notEqual": exp.NEQ,
}
MAX_PAGE = 500


def _bind(params: dict, value: Any) -> exp.Placeholder:
    """A new bound parameter holding `value`."""
    name = f"p{len(params)}"
    params[name] = value
    return exp.Placeholder(this=name)


def _date(cond: dict, key: str, col: str) -> dt.date:
    raw = (cond.get(key) or "")[:10]
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise BadRequest(f"bad date {raw!r} for {col}") from None


def _condition(col: str, cond: dict, params: dict) -> exp.Expr:
    """One condition of AG Grid's filter model on `col`, with its value bound as a parameter."""
    c = CASE_COLUMNS[col].copy()
    kind = cond.get("type")
    if cond.get("filterType") == "date" or col in DATE_COLUMNS:
        low = _bind(params, _date(cond, "dateFrom", col))
        if kind == "inRange":
            return exp.Between(this=c, low=low, high=_bind(params, _date(cond, "dateTo", col)))
        if kind not in DATE_OPS:
            raise BadRequest(f"unknown operator {kind!r}")
        return DATE_OPS[kind](this=c, expression=low)
    if col in ENUM_COLUMNS:
        if kind not in ENUM_TESTS:
            raise BadRequest(f"unknown operator {kind!r}")
        test, negated = ENUM_TESTS[kind]
        text = str(cond.get("filter", ""))[:200].lower()
        contract = default_contract()
        enum = ENUM_COLUMNS[col]
        codes = [
            v
            for v in contract.enum_values[enum]
            if any(
                test(str(name).lower(), text)
                for name in (v, contract.label(enum, v, "zh"), contract.label(enum, v, "en"))
            )
        ]
        inside = exp.In(this=c, expressions=[_bind(params, code) for code in codes]) if codes else exp.false()
        return exp.Not(this=exp.Paren(this=inside)) if negated else inside
    if kind not in TEXT_OPS:
        raise BadRequest(f"unknown operator {kind!r}")
    return TEXT_OPS[kind](c, _bind(params, str(cond.get("filter", ""))[:200]))


def _filter(model: dict, params: dict) -> list[exp.Expr]:
    """The grid's filter model as conditions (one per column, its conditions joined by AND or OR)."""
    where: list[exp.Expr] = []
    for col, spec in (model or {}).items():
        if col not in CASE_COLUMNS or not isinstance(spec, dict):
            raise BadRequest(f"unknown column {col!r}")
        parts = [_condition(col, cond, params) for cond in spec.get("conditions") or [spec]]
        join = exp.or_ if str(spec.get("operator", "AND")).upper() == "OR" else exp.and_
        where.append(exp.Paren(this=join(*parts)))
    return where


@functools.lru_cache(maxsize=1024)
def _grid_sql(
    filters: str, sorts: str, by_office: bool, by_year: bool = False
) -> tuple[str, str, tuple[tuple[str, Any], ...]]:
    """The count and page statements of one grid request (its filter and sort models as JSON) and
    the values they bind; built once per distinct request shape (building the trees costs
    milliseconds, a page of a cached count less)."""
    params: dict[str, Any] = {}
    where = _filter(json.loads(filters), params)
    if by_office:
        where.append(exp.func("in_subtree", exp.column("office_code", table="o"), exp.Placeholder(this="office")))
    if by_year:
        where.append(exp.Paren(this=IN_YEAR.copy()))
    order = []
    for s in json.loads(sorts):
        if s.get("colId") not in CASE_COLUMNS or s.get("sort") not in ("asc", "desc"):
            raise BadRequest(f"cannot sort by {s.get('colId')!r}")
        order.append(exp.Ordered(this=CASE_COLUMNS[s["colId"]].copy(), desc=s["sort"] == "desc", nulls_first=False))
    order += [exp.Ordered(this=CASE_COLUMNS[k].copy(), nulls_first=False) for k in ("office_code", "case_no")]
    base = GRID.copy().where(exp.and_(*where)) if where else GRID.copy()
    count = base.copy().select(exp.Count(this=exp.Star()).as_("n"), append=False).sql(dialect="duckdb")
    page = (
        base.order_by(*order)
        .limit(exp.Placeholder(this="page_size"))
        .offset(exp.Placeholder(this="page_start"))
        .sql(dialect="duckdb")
    )
    return count, page, tuple(params.items())


def _grid_query(request: dict, office: str | None, year: int | None) -> tuple[str, str, dict[str, Any]]:
    """The count and page statements of a grid request's filters and sort (within `office`'s
    subtree, of the cases handled in `year`, when given) and the values they bind."""
    count, page, bound = _grid_sql(
        json.dumps(request.get("filterModel") or {}, sort_keys=True),
        json.dumps(request.get("sortModel") or [], sort_keys=True),
        bool(office),
        year is not None,
    )
    params: dict[str, Any] = {
        **dict(bound),
        **({"office": office} if office else {}),
        **({"year": inputs.year(year)} if year is not None else {}),
    }
    return count, page, params


def cases_page(viewer: Viewer, request: dict, *, office: str | None = None, year: int | None = None) -> CasesPage:
    """One page of the case grid for an AG Grid infinite-row-model request {startRow, endRow,
    sortModel, filterModel}: {"rowData": [...], "rowCount": total}. Scoped by the runner. `year`:
    only the cases handled at some time in that year (the page's chosen year)."""
    if not policy.require(viewer.ops, actor=viewer.user, action="cases", what="case explorer"):
        raise BadRequest("no access to the case explorer")
    request = inputs.mapping(request, "grid request")
    start = inputs.whole(request.get("startRow"), "startRow", default=0)
    end = min(start + MAX_PAGE, max(start, inputs.whole(request.get("endRow"), "endRow", default=start + 100)))
    if office and viewer.user.role != "inspector" and access(viewer, office, what="cases", need="full") is None:
        return {"rowData": [], "rowCount": 0}
    count, page, params = _grid_query(request, office, year)
    runner = viewer.runner()
    total = viewer.cache.get(
        ("case-count", viewer.user.username, count, tuple(sorted(params.items()))),
        lambda: int(runner.frame(count, **params)["n"][0]),
    )

    def page_rows() -> list[dict[str, Any]]:
        rows = runner.frame(page, **params, page_size=end - start, page_start=start)
        return [{k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in r.items()} for r in rows.to_dicts()]

    # The first page (what opening the explorer, a new filter or a new sort asks for) is kept with
    # the count: cases change only with a publish, which every key starts with. Later pages are read
    # each time, so that scrolling does not push the rankings out of the cache.
    got = (
        viewer.cache.get(("case-page", viewer.user.username, page, end, tuple(sorted(params.items()))), page_rows)
        if start == 0
        else page_rows()
    )
    return {"rowData": [dict(r) for r in got], "rowCount": total}


EXPORT_MOST = 100_000  # cases in one export of the case explorer


def cases_export(
    viewer: Viewer, request: object, *, office: str | None, year: int | None, lang: str, excel: bool
) -> tuple[str, str | bytes] | str | None:
    """Every case the grid's last request selects (its filters and sort; all pages), in words, as
    CSV text or an Excel workbook: (file name, content); a message instead when more than
    EXPORT_MOST cases are selected (nothing is cut off silently); None when refused. Scoped by
    the runner; audited."""
    if not policy.require(viewer.ops, actor=viewer.user, action="cases", what="case export"):
        return None
    request = inputs.mapping(request or {}, "grid request")
    if office and viewer.user.role != "inspector" and access(viewer, office, what="cases", need="full") is None:
        return None
    count, page, params = _grid_query(request, office, year)
    runner = viewer.runner()
    total = int(runner.frame(count, **params)["n"][0])
    if total > EXPORT_MOST:
        return t("case.export_too_many", lang).format(n=f"{total:,}", most=f"{EXPORT_MOST:,}")
    rows = runner.frame(page, **params, page_size=max(total, 1), page_start=0)
    contract = default_contract()
    rows = rows.with_columns(
        pl.col(col).replace_strict(
            {v: contract.label(enum, v, lang) for v in contract.enum_values[enum]}, default=pl.col(col)
        )
        for col, enum in ENUM_COLUMNS.items()
    ).rename({c: t(f"case.{c}", lang) for c in CASE_COLUMNS})
    audit.record(
        viewer.ops,
        actor=viewer.user.username,
        action="export.cases",
        target=office,
        detail={"rows": rows.height, "year": year, "format": "xlsx" if excel else "csv"},
    )
    name = f"cases-{office or 'all'}-{year or 'all'}"
    if excel:
        return f"{name}.xlsx", frame_xlsx(rows, t("nav.cases", lang))
    return f"{name}.csv", safe_csv(rows)


def case_detail(viewer: Viewer, office: str, case_no: str, controls: Controls) -> dict | None:
    """One case with its timeline facts, or None when it does not exist or is outside the scope."""
    if not policy.require(viewer.ops, actor=viewer.user, action="cases", what="case"):
        return None
    user = viewer.user
    resource = office_resource(viewer, office)
    assigned = policy.scope_for(user).archives_only and (office, case_no) in set(
        archives_of_inspector(viewer.ops, user.scope_code or "")
    )
    grant = (
        policy.grant(actor=user, action="case.read", resource=policy.Archive(resource, assigned=assigned))
        if resource is not None
        else None
    )
    if grant is None:  # outside the scope (or no such office): whether the case exists is not said
        viewer.denied(user.username, "scope.denied", {"office": office[:64], "what": "case", "case": case_no[:64]})
        return None
    found = viewer.national_read(
        grant, lambda con: con.sql(duck_sql("cases.year_of_case"), params={"office": office, "case_no": case_no}).pl()
    )
    if not found.height:
        return None
    year = int(found["y"][0])

    def q(con):
        register_inputs(con, viewer.config)
        return run_on_facts(
            con,
            "case_timeline",
            keep=False,
            year=year,
            as_of=controls.as_of_date if controls.year == year else dt.date(year, 12, 31),
            office=office,
            case_no=case_no,
        )

    rows = viewer.national_read(grant, q).to_dicts()
    if not rows:
        return None
    rec = rows[0]
    rec["office_name"] = tree(viewer).offices.get(office, {}).get("name")
    rec["crumbs"] = crumbs(viewer, office) if not assigned else []
    return rec
