"""Monitoring of open cases, the case explorer's data (server-side paging, sorting and filtering) and one case's page, through the
scoped runner: user input never becomes an identifier and every value is a bound parameter."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl

from access import audit, policy
from dashboard.data import safe_csv
from dashboard.views import Controls, Viewer, access, crumbs, home, tree
from ingest.contract import default_contract
from metrics.indicators import register_inputs
from metrics.monitor import open_cases
from queries.loader import run, run_on_facts

# --- monitoring of open cases ----------------------------------------------------------------


def monitor(viewer: Viewer, controls: Controls, office: str | None) -> dict[str, Any]:
    """Open cases below `office` (default: the user's scope) at the as-of date, overdue first,
    with the status counts, the age profile and the acceptance backlog."""
    office = office or home(viewer)
    if office is None or access(viewer, office, what="monitor") != "full":
        return {"denied": True, "code": office}
    as_of = controls.as_of_date
    frame = viewer.cache.get(
        ("open", as_of, office),
        lambda: viewer.national_read(lambda con: open_cases(con, viewer.config, scope=office, as_of=as_of)),
    )
    backlog = viewer.cache.get(
        ("backlog", as_of), lambda: viewer.national_read(lambda con: run(con, "acceptance_backlog", as_of=as_of))
    )
    mine = backlog.filter(pl.col("office_code") == office).to_dicts()
    counts = dict(frame.group_by("status").len().iter_rows()) if frame.height else {}
    bins = [(0, 30), (31, 90), (91, 180), (181, 365), (366, None)]
    ages = frame["age_days"] if frame.height else pl.Series([], dtype=pl.Int64)
    profile_ = [int(((ages >= lo) & (ages <= (hi if hi is not None else 10**9))).sum()) for lo, hi in bins]
    return {
        "denied": False,
        "code": office,
        "name": tree(viewer).offices[office]["name"],
        "cases": frame,
        "counts": counts,
        "ages": profile_,
        "age_bins": bins,
        "backlog": mine[0] if mine else {"backlog": 0, "oldest_days": None},
    }


def monitor_export(
    viewer: Viewer, controls: Controls, *, office: str | None, status: str | None
) -> tuple[str, str] | None:
    """The open cases of `monitor(viewer, controls, office)` (of one status, when given) as a CSV
    file name and text, defused against formula injection; the export is audited. None when refused."""
    if not policy.require(viewer.ops, viewer.user, "monitor", what="open-cases export"):
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
        detail={"rows": frame.height, "status": status},
    )
    return f"open-cases-{got['code']}.csv", safe_csv(frame)


# --- the case explorer: server-side paging, sorting and filtering through the scoped runner -----

CASE_COLUMNS = {  # grid column -> SQL expression (a fixed list: user input never becomes an identifier)
    "office_code": "c.office_code",
    "office_name": "o.name",
    "case_no": "c.case_no",
    "case_kind": "c.case_kind",
    "source": "c.source",
    "received_date": "c.received_date",
    "accepted_date": "c.accepted_date",
    "closed_date": "c.closed_date",
    "closing_type": "c.closing_type",
    "review_outcome": "c.review_outcome",
}
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
TEXT_OPS = {
    "contains": ("contains(lower({c}), lower(${p}))", "{}"),
    "equals": ("{c} = ${p}", "{}"),
    "notEqual": ("{c} <> ${p}", "{}"),
    "startsWith": ("starts_with(lower({c}), lower(${p}))", "{}"),
    "endsWith": ("ends_with(lower({c}), lower(${p}))", "{}"),
    "notContains": ("NOT contains(lower({c}), lower(${p}))", "{}"),
}
DATE_OPS = {"equals": "{c} = ${p}", "lessThan": "{c} < ${p}", "greaterThan": "{c} > ${p}", "notEqual": "{c} <> ${p}"}
MAX_PAGE = 500


class BadRequest(ValueError):
    """A grid request that names an unknown column or operator."""


def _filter_sql(model: dict, params: dict) -> list[str]:
    where = []
    for col, spec in (model or {}).items():
        if col not in CASE_COLUMNS or not isinstance(spec, dict):
            raise BadRequest(f"unknown column {col!r}")
        c = CASE_COLUMNS[col]
        conds = spec.get("conditions") or [spec]
        parts = []
        for cond in conds:
            p = f"p{len(params)}"
            kind = cond.get("type")
            if cond.get("filterType") == "date" or col in DATE_COLUMNS:
                raw = (cond.get("dateFrom") or "")[:10]
                try:
                    params[p] = dt.date.fromisoformat(raw)
                except ValueError:
                    raise BadRequest(f"bad date {raw!r} for {col}") from None
                if kind == "inRange":
                    q = f"p{len(params)}"
                    try:
                        params[q] = dt.date.fromisoformat((cond.get("dateTo") or "")[:10])
                    except ValueError:
                        raise BadRequest(f"bad date for {col}") from None
                    parts.append(f"{c} BETWEEN ${p} AND ${q}")
                elif kind in DATE_OPS:
                    parts.append(DATE_OPS[kind].format(c=c, p=p))
                else:
                    raise BadRequest(f"unknown operator {kind!r}")
            elif col in ENUM_COLUMNS:
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
                for k, code in enumerate(codes):
                    params[f"{p}_{k}"] = code
                inside = f"{c} IN ({', '.join(f'${p}_{k}' for k in range(len(codes)))})" if codes else "FALSE"
                parts.append(f"NOT ({inside})" if negated else inside)
            else:
                if kind not in TEXT_OPS:
                    raise BadRequest(f"unknown operator {kind!r}")
                params[p] = str(cond.get("filter", ""))[:200]
                parts.append(TEXT_OPS[kind][0].format(c=c, p=p))
        join = " OR " if str(spec.get("operator", "AND")).upper() == "OR" else " AND "
        where.append("(" + join.join(parts) + ")")
    return where


def cases_page(viewer: Viewer, request: dict, *, office: str | None = None) -> dict:
    """One page of the case grid for an AG Grid infinite-row-model request {startRow, endRow,
    sortModel, filterModel}: {"rowData": [...], "rowCount": total}. Scoped by the runner."""
    if not policy.require(viewer.ops, viewer.user, "cases", what="case explorer"):
        raise BadRequest("no access to the case explorer")
    start = max(0, int(request.get("startRow") or 0))
    end = min(start + MAX_PAGE, max(start, int(request.get("endRow") or start + 100)))
    params: dict[str, Any] = {}
    where = _filter_sql(request.get("filterModel") or {}, params)
    if office:
        if access(viewer, office, what="cases") != "full" and viewer.user.role != "inspector":
            return {"rowData": [], "rowCount": 0}
        params["office"] = office
        where.append(
            "(o.office_code = $office OR o.parent_code = $office OR o.prefecture_code = $office "
            "OR o.province_code = $office)"
        )
    order = []
    for s in request.get("sortModel") or []:
        if s.get("colId") not in CASE_COLUMNS or s.get("sort") not in ("asc", "desc"):
            raise BadRequest(f"cannot sort by {s.get('colId')!r}")
        order.append(f"{CASE_COLUMNS[s['colId']]} {s['sort'].upper()} NULLS LAST")
    order += ["c.office_code", "c.case_no"]
    cond = (" WHERE " + " AND ".join(where)) if where else ""
    base = "FROM cases AS c JOIN offices AS o ON o.office_code = c.office_code" + cond
    select = ", ".join(f"{expr} AS {name}" for name, expr in CASE_COLUMNS.items())
    runner = viewer.runner()
    total = viewer.cache.get(
        ("case-count", viewer.user.username, base, tuple(sorted(params.items()))),
        lambda: int(runner.frame(f"SELECT count(*) AS n {base}", **params)["n"][0]),
    )
    rows = runner.frame(
        f"SELECT {select} {base} ORDER BY {', '.join(order)} LIMIT $page_size OFFSET $page_start",
        **params,
        page_size=end - start,
        page_start=start,
    )
    return {
        "rowData": [
            {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in r.items()} for r in rows.to_dicts()
        ],
        "rowCount": total,
    }


def case_detail(viewer: Viewer, office: str, case_no: str, controls: Controls) -> dict | None:
    """One case with its timeline facts, or None when it does not exist or is outside the scope."""
    if not policy.require(viewer.ops, viewer.user, "cases", what="case"):
        return None
    runner = viewer.runner()
    found = runner.frame(
        "SELECT c.office_code, year(c.accepted_date) AS y FROM cases AS c "
        "WHERE c.office_code = $office AND c.case_no = $case_no",
        office=office,
        case_no=case_no,
    )
    if not found.height:
        if viewer.user.role != "inspector":
            runner.allows(office, what="case")  # logs the attempt when the office is outside the scope
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

    rows = viewer.national_read(q).to_dicts()
    if not rows:
        return None
    rec = rows[0]
    rec["office_name"] = tree(viewer).offices.get(office, {}).get("name")
    rec["crumbs"] = crumbs(viewer, office) if viewer.user.role != "inspector" else []
    return rec
