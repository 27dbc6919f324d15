"""Return visits (回访) for the dashboard, checked by the permission policy before anything is drawn.

Office users read the visits of their offices and their figures; an inspector reads the visits
assigned to them as visitor. Recording a visit asks the policy (`visit.record` on the case, as
`inspection.visits.record_visit` does): its visitor, or the national administrator. No Dash here.
"""

from __future__ import annotations

import datetime as dt

from access import policy
from dashboard import views
from dashboard.rectification_views import offices_of, subtree
from dashboard.viewer import Viewer, office_resource
from inspection.visits import figures, list_visit_plans, list_visits, record_visit


def _visitor(viewer: Viewer) -> str | None:
    return viewer.user.scope_code if viewer.user.role == "inspector" else None


def may_record(viewer: Viewer, visit: dict) -> bool:
    office = office_resource(viewer, visit["office_code"])
    if office is None:
        return False
    assigned = _visitor(viewer) is not None and visit["visitor_id"] == _visitor(viewer)
    return policy.allowed(actor=viewer.user, action="visit.record", resource=policy.Archive(office, assigned=assigned))


def readable(viewer: Viewer) -> dict:
    """{"plans", "visits", "figures" (by office, None for a visitor), "total"} the user may read."""
    empty: dict = {"plans": [], "visits": [], "figures": None, "total": None}
    if not policy.require(viewer.ops, actor=viewer.user, action="visits", what="return visits"):
        return empty
    visitor = _visitor(viewer)
    got = (
        list_visits(viewer.ops, visitor=visitor)
        if visitor is not None
        else list_visits(viewer.ops, offices=offices_of(viewer))
    )
    names = views.tree(viewer).offices
    plans = {p["plan_id"]: p for p in list_visit_plans(viewer.ops)}
    for v in got:
        v["office_name"] = names.get(v["office_code"], {}).get("name", v["office_code"])
        v["plan_title"] = plans[v["plan_id"]]["spec"].get("title") or v["plan_id"]
        v["may_record"] = not v["recorded_at"] and may_record(viewer, v)
    seen = {v["plan_id"] for v in got}
    shown = [p for p in plans.values() if p["plan_id"] in seen or (viewer.user.national and visitor is None)]
    if visitor is not None:
        return {**empty, "plans": shown, "visits": got}
    return {"plans": shown, "visits": got, "figures": by_group(viewer, got), "total": figures(got) if got else None}


def by_group(viewer: Viewer, visits: list[dict]) -> dict[str, dict]:
    """The figures of each office directly below the user's own (each with its whole subtree; the
    user's own office's cases on a row of their own), as the rest of the dashboard drills down: a
    province's prefectures, the nation's provinces. One visit or two per office says little; a
    prefecture's dozen says more."""
    t = views.tree(viewer)
    root = t.national if viewer.user.national else viewer.user.scope_code
    grouped: dict[str, list[dict]] = {}
    for v in visits:
        chain = t.chain(v["office_code"])
        below = (
            chain[chain.index(root) + 1] if root in chain and chain.index(root) + 1 < len(chain) else v["office_code"]
        )
        grouped.setdefault(below, []).append(v)
    out = {}
    for code in sorted(grouped):
        out[code] = {
            **figures(grouped[code]),
            "office_name": t.offices.get(code, {}).get("name", code),
            "own": code == root,  # the user's own office's cases only, not its subtree
        }
    return out


def office_figures(viewer: Viewer, code: str | None, year: int) -> dict | None:
    """The figures of `code`'s subtree for the visit plans of `year`; None when the user may not read
    `code` fully or there were no visits."""
    if code is None or views.access(viewer, code, what="return-visit figures", need="full", log=False) != "full":
        return None
    if not policy.allowed(actor=viewer.user, action="visits"):
        return None
    got = list_visits(viewer.ops, offices=subtree(viewer, code), year=year)
    return figures(got) if got else None


def record(
    viewer: Viewer,
    plan_id: str,
    office_code: str,
    case_no: str,
    *,
    reached: bool,
    satisfaction: int | None,
    fulfilment: str | None,
    complaint: str | None,
    visited_on: dt.date,
) -> dict:
    """Record a visit as the signed-in user (PermissionError when the policy refuses)."""
    office = office_resource(viewer, office_code)
    if office is None:
        raise PermissionError(f"no office {office_code}")
    visitor = _visitor(viewer)
    mine = visitor is not None and any(
        v["visitor_id"] == visitor and v["case_no"] == case_no and v["office_code"] == office_code
        for v in list_visits(viewer.ops, plan_id=plan_id, visitor=visitor)
    )
    return record_visit(
        viewer.ops,
        plan_id,
        office_code,
        case_no,
        reached=reached,
        satisfaction=satisfaction,
        fulfilment=fulfilment,
        complaint=complaint,
        visited_on=visited_on,
        actor=viewer.user.username,
        user=viewer.user,
        resource=policy.Archive(office, assigned=mine),
    )
