"""Supervised cases for the dashboard, checked by the permission policy before anything is drawn.

The list holds the supervised cases of the user's offices; a case's page shows its supervision and,
to a user the policy allows (`supervision.manage` on the case's office), the form to mark or
conclude it. No Dash here.
"""

from __future__ import annotations

import datetime as dt

from access import policy
from dashboard import views
from dashboard.rectification_views import offices_of
from dashboard.viewer import Viewer, office_resource
from inspection.supervision import conclude, supervise, supervised


def listed(viewer: Viewer, *, status: str | None = None, as_of: dt.date | None = None) -> list[dict]:
    """The supervised cases the user may read, each with its office's name."""
    if not policy.require(viewer.ops, actor=viewer.user, action="supervision", what="supervised cases"):
        return []
    names = views.tree(viewer).offices
    got = supervised(viewer.ops, viewer.store, viewer.config, offices=offices_of(viewer), as_of=as_of, status=status)
    for r in got:
        r["office_name"] = names.get(r["office_code"], {}).get("name", r["office_code"])
        r["supervisor_name"] = names.get(r["supervisor"], {}).get("name", r["supervisor"])
    return got


def of_case(viewer: Viewer, office_code: str, case_no: str, as_of: dt.date | None = None) -> dict:
    """{"record": the case's supervision (its status at `as_of`, default today) or None, "may": the
    user may mark or conclude it}. Called for a case whose page the user may read (the page asked
    the policy first)."""
    records = [
        r for r in supervised(viewer.ops, viewer.store, viewer.config, offices={office_code}) if r["case_no"] == case_no
    ]
    office = office_resource(viewer, office_code)
    may = policy.allowed(actor=viewer.user, action="supervision.manage", resource=office)
    if records:
        names = views.tree(viewer).offices
        records[0]["supervisor_name"] = names.get(records[0]["supervisor"], {}).get("name", records[0]["supervisor"])
    return {"record": records[0] if records else None, "may": may}


def mark(viewer: Viewer, office_code: str, case_no: str, *, due: dt.date, note: str) -> dict:
    """Supervise the case as the signed-in user (PermissionError when the policy refuses)."""
    national = views.tree(viewer).national
    return supervise(
        viewer.ops,
        viewer.store,
        office_code=office_code,
        case_no=case_no,
        due_date=due,
        note=note,
        supervisor=(national if viewer.user.national else viewer.user.scope_code) or "",
        actor=viewer.user.username,
        user=viewer.user,
        office=office_resource(viewer, office_code),
    )


def close(viewer: Viewer, office_code: str, case_no: str, *, conclusion: str) -> dict:
    return conclude(
        viewer.ops,
        viewer.store,
        office_code=office_code,
        case_no=case_no,
        conclusion=conclusion,
        actor=viewer.user.username,
        user=viewer.user,
        office=office_resource(viewer, office_code),
    )
