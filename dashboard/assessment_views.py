"""An assessment scheme's results for the dashboard (issue 19), cut to the rows the policy lets the
user read: an office's row shows where the user may read that office, or the ranking it appears in
(the rows of the office above it, `office.rows`), as on the ranking pages. No Dash here."""

from __future__ import annotations

from access import policy
from dashboard import views
from dashboard.viewer import Viewer, office_resource
from inspection.assessment import AssessmentError, record_manual, results
from metrics.schemes import Scheme, SchemeError, available_schemes, default_scheme_path, load_scheme


def scheme(wanted: str | None = None) -> Scheme:
    """The scheme whose `id version` (or id) is `wanted` among the available ones; the shipped
    example when none is asked for or none matches."""
    schemes, _ = available_schemes()
    for s in schemes:
        if wanted in (f"{s.id} {s.version}", s.id):
            return s
    return load_scheme(default_scheme_path())


def visible(viewer: Viewer, code: str) -> bool:
    tree = views.tree(viewer)
    parent = tree.offices.get(code, {}).get("parent_code")
    return policy.allowed(actor=viewer.user, action="office.read", resource=office_resource(viewer, code)) or (
        parent is not None
        and policy.allowed(actor=viewer.user, action="office.rows", resource=office_resource(viewer, parent))
    )


def scored(viewer: Viewer, year: int, wanted: str | None = None) -> dict:
    """{"scheme", "offices" (the rows the user may read), "published_at", "error"}."""
    chosen = scheme(wanted)
    if not policy.require(viewer.ops, actor=viewer.user, action="rankings", what="assessment scheme"):
        return {"scheme": chosen, "offices": [], "published_at": None, "error": None}
    try:
        got = results(viewer.ops, viewer.store, viewer.config, chosen, year=year)
    except (AssessmentError, SchemeError) as exc:
        return {"scheme": chosen, "offices": [], "published_at": None, "error": str(exc)}
    rows = [o for o in got["offices"] if visible(viewer, o["office_code"])]
    return {"scheme": chosen, "offices": rows, "published_at": got["published_at"], "error": None}


def may_score(viewer: Viewer, code: str) -> list[str]:
    """The manual scores the user may enter for office `code`: "self" and/or "assessor"."""
    office = office_resource(viewer, code)
    if office is None:
        return []
    return [
        role
        for role, action in (("self", "assessment.self"), ("assessor", "assessment.assess"))
        if policy.allowed(actor=viewer.user, action=action, resource=office)
    ]


def enter(
    viewer: Viewer,
    *,
    year: int,
    office_code: str,
    item_id: str,
    role: str,
    score: float,
    evidence: list,
    wanted: str | None = None,
) -> dict:
    """Enter a manual score as the signed-in user (the policy decides: PermissionError if not)."""
    return record_manual(
        viewer.ops,
        scheme(wanted),
        year=year,
        office_code=office_code,
        item_id=item_id,
        score=score,
        role=role,
        actor=viewer.user.username,
        evidence=evidence,
        evidence_dir=viewer.store.path.parent / "evidence",
        user=viewer.user,
        office=office_resource(viewer, office_code),
    )
