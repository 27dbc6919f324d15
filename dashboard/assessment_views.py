"""An assessment scheme's results for the dashboard (issue 19), cut to the rows the policy lets the
user read: an office's row shows where the user may read that office, or the ranking it appears in
(the rows of the office above it, `office.rows`), as on the ranking pages. No Dash here."""

from __future__ import annotations

from access import policy
from dashboard import views
from dashboard.viewer import Viewer, office_resource
from inspection.assessment import AssessmentError, results
from metrics.schemes import Scheme, SchemeError, default_scheme_path, load_scheme


def scheme() -> Scheme:
    return load_scheme(default_scheme_path())


def visible(viewer: Viewer, code: str) -> bool:
    tree = views.tree(viewer)
    parent = tree.offices.get(code, {}).get("parent_code")
    return policy.allowed(actor=viewer.user, action="office.read", resource=office_resource(viewer, code)) or (
        parent is not None
        and policy.allowed(actor=viewer.user, action="office.rows", resource=office_resource(viewer, parent))
    )


def scored(viewer: Viewer, year: int) -> dict:
    """{"scheme", "offices" (the rows the user may read), "published_at", "error"}."""
    chosen = scheme()
    if not policy.require(viewer.ops, actor=viewer.user, action="rankings", what="assessment scheme"):
        return {"scheme": chosen, "offices": [], "published_at": None, "error": None}
    try:
        got = results(viewer.ops, viewer.store, viewer.config, chosen, year=year)
    except (AssessmentError, SchemeError) as exc:
        return {"scheme": chosen, "offices": [], "published_at": None, "error": str(exc)}
    rows = [o for o in got["offices"] if visible(viewer, o["office_code"])]
    return {"scheme": chosen, "offices": rows, "published_at": got["published_at"], "error": None}
