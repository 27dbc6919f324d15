"""The permission policy: what each role may do, in one table, asked by every page and action.

Office-level scope (which offices' figures a user may read) is decided by the scoped query runner
and `dashboard.views.access`; this table decides which *kinds* of page and action a role has at all.
A refusal is written to the audit log by `require`, so every caller refuses the same way.
"""

from __future__ import annotations

from access import audit
from access.opstore import OpStore
from access.users import ROLES, User

# permission: what it allows
PERMISSIONS = {
    "rankings": "the overview, an office's rankings and its profile",
    "monitor": "the monitoring of open cases and its export",
    "cases": "the case explorer and a case's page",
    "report": "the annual assessment workbook",
    "methodology": "the methodology page",
    "archives": "an inspector's assigned archives: checklists, uploads and online entry",
    "inspection": "the inspection plans, their draws and results",
    "inspection.manage": "creating, locking, drawing, voiding and publishing inspection plans",
    "audit": "the audit log",
}

_OFFICE = {"rankings", "monitor", "cases", "report", "methodology"}
GRANTS: dict[str, frozenset[str]] = {
    "national_leader": frozenset(_OFFICE | {"inspection"}),
    "national_admin": frozenset(_OFFICE | {"inspection", "inspection.manage", "audit"}),
    "provincial": frozenset(_OFFICE),
    "prefecture": frozenset(_OFFICE),
    "inspector": frozenset({"archives", "cases", "methodology"}),
}
assert set(GRANTS) == set(ROLES), "every role has its grants"
assert all(p in PERMISSIONS for grants in GRANTS.values() for p in grants), "every grant is a known permission"


def allows(user: User | None, permission: str) -> bool:
    """Whether `user` (None: not signed in) holds `permission`; an unknown permission is nobody's."""
    if permission not in PERMISSIONS:
        raise KeyError(f"unknown permission '{permission}'")
    return user is not None and not user.disabled and permission in GRANTS.get(user.role, frozenset())


def require(ops: OpStore, user: User | None, permission: str, *, what: str) -> bool:
    """`allows(user, permission)`, writing a refusal to the audit log (action `access.denied`)."""
    if allows(user, permission):
        return True
    audit.record(
        ops,
        actor=user.username if user else "anonymous",
        action="access.denied",
        target=what[:200],
        detail={"what": what[:200], "permission": permission},
    )
    return False
