"""The permission policy: one place that decides what a user may do, asked by every route,
callback, data function, export and report job (the shape Datasette uses: `allowed(actor=,
action=, resource=)`).

- Kinds of page and action (`rankings`, `cases`, `inspection.manage` …) are granted per role in
  `GRANTS`.
- Offices are resources: `office.read` (its figures, cases and profile) is allowed in the user's
  own subtree; `office.rows` (its ranking rows: names, scores and ranks) also for the office just
  above the user's own, whose ranking the user's office appears in (SPEC §1). An `Office` carries
  its chain of ancestors and its direct children, read from the office tree, so the decision needs
  no database.
- `scope_for(actor)` is the scope every read of the user's goes through (`queries.scope`).

`require` is `allowed` plus the audit entry of a refusal, so every caller refuses the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from access import audit
from access.opstore import OpStore
from access.users import ROLES, User
from queries.scope import Scope

# action: what it allows
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
    "rectification": "the rectification notices of the user's offices (answering and reviewing: per office, below)",
    "supervision": "the supervised cases of the user's offices (marking and concluding: per office, below)",
    "visits": "the return visits of the user's offices and their figures; for a visitor, the visits assigned to them",
    "subscriptions": "one's own subscriptions (digests, scheduled workbooks, alerts) and in-app notifications",
    "subscriptions.manage": "anyone's subscriptions: the national administrator",
}
OFFICE_ACTIONS = {
    "office.read": "an office's figures, cases and profile",
    "office.rows": "an office's ranking rows (names, scores, ranks)",
    "rectification.respond": "answer an office's rectification notice: a user of that office or an office above it",
    "rectification.review": "return or accept an office's response: the national administrator, or the province "
    "for the offices below it (never the office's own user)",
    "supervision.manage": "supervise a case of an office and conclude it: the national administrator, or the "
    "province for the offices below it",
    "assessment.self": "enter an office's self-score on a manual item of an assessment scheme: a user of that "
    "office or an office above it",
    "assessment.assess": "enter the assessor's score of an office's manual item: the national administrator, or the "
    "province for the offices below it (never the office's own user)",
}
# Roles that answer and review notices; the national leader reads them only.
_RESPONDERS = frozenset({"national_admin", "provincial", "prefecture"})
_REVIEWERS = frozenset({"national_admin", "provincial"})
SITE_ACTIONS = {"site.read": "the office tree (codes, names, levels) and the years on record: any signed-in user"}
ARCHIVE_ACTIONS = {
    "case.read": "one case's page: in the user's subtree, or assigned to the inspector",
    "visit.record": "record the return visit of a case: the visitor assigned to it, or the national administrator",
}

_OFFICE = {
    "rankings",
    "monitor",
    "cases",
    "report",
    "methodology",
    "rectification",
    "supervision",
    "visits",
    "subscriptions",
}
GRANTS: dict[str, frozenset[str]] = {
    "national_leader": frozenset(_OFFICE | {"inspection"}),
    "national_admin": frozenset(_OFFICE | {"inspection", "inspection.manage", "audit", "subscriptions.manage"}),
    "provincial": frozenset(_OFFICE),
    "prefecture": frozenset(_OFFICE),
    "inspector": frozenset({"archives", "cases", "methodology", "visits", "subscriptions"}),
}
assert set(GRANTS) == set(ROLES), "every role has its grants"
assert all(p in PERMISSIONS for grants in GRANTS.values() for p in grants), "every grant is a known action"

NO_SCOPE = "-"  # a user without an office scope matches no office


@dataclass(frozen=True)
class Archive:
    """A case as a resource: its office, and whether it is among the archives assigned to the
    acting inspector in standing draws (the list the inspector's scope is made of) — for
    `visit.record`, whether the acting inspector is the case's visitor."""

    office: Office
    assigned: bool = False


@dataclass(frozen=True)
class Office:
    """An office as a resource: its code, its chain (itself and its ancestors, the national office
    first) and its direct children, from the office tree."""

    code: str
    chain: tuple[str, ...]
    children: frozenset[str] = field(default_factory=frozenset)


Resource = Office | Archive | None
ACTIONS = {**PERMISSIONS, **OFFICE_ACTIONS, **SITE_ACTIONS, **ARCHIVE_ACTIONS}


def allowed(*, actor: User | None, action: str, resource: Resource = None) -> bool:
    """Whether `actor` (None: not signed in) may do `action` (on `resource`, for an office or a
    case). An unknown action is nobody's; a disabled user may do nothing."""
    if action not in ACTIONS:
        raise KeyError(f"unknown action '{action}'")
    if actor is None or actor.disabled or actor.role not in GRANTS:
        return False
    if action in PERMISSIONS:
        return action in GRANTS[actor.role]
    if action in SITE_ACTIONS:
        return True
    if isinstance(resource, Archive):
        if action == "visit.record":
            return actor.admin or (actor.role == "inspector" and resource.assigned)
        if action != "case.read" or "cases" not in GRANTS[actor.role]:
            return False
        return (
            resource.assigned
            if actor.role == "inspector"
            else allowed(actor=actor, action="office.read", resource=resource.office)
        )
    if not isinstance(resource, Office) or action not in OFFICE_ACTIONS or not resource.chain:
        return False
    if actor.role == "inspector":
        return False  # an inspector reads archives, never an office as such
    if action in ("rectification.respond", "assessment.self"):
        return actor.role in _RESPONDERS and (actor.national or actor.scope_code in resource.chain)
    if action in ("rectification.review", "supervision.manage", "assessment.assess"):
        if actor.role not in _REVIEWERS:
            return False
        return actor.national or (actor.scope_code in resource.chain and actor.scope_code != resource.code)
    if actor.national or (actor.scope_code is not None and actor.scope_code in resource.chain):
        return True
    return action == "office.rows" and actor.scope_code in resource.children


def _office_code(resource: Resource) -> str | None:
    """The office a resource is about (a case's office), None for none."""
    if isinstance(resource, Archive):
        return resource.office.code
    return resource.code if resource is not None else None


_MINT = object()


class Grant:
    """The policy's answer "yes", as a value: what a read beyond the actor's own scope must be given
    (`dashboard.views.Viewer.national_read`), so that such a read is always one the policy allowed,
    never one a caller says it checked. Only `grant` makes them."""

    __slots__ = ("actor", "action", "resource")

    def __init__(self, mint: object, actor: str, action: str, resource: str | None) -> None:
        if mint is not _MINT:
            raise TypeError("a Grant is made by access.policy.grant only")
        self.actor, self.action, self.resource = actor, action, resource

    def __repr__(self) -> str:
        return f"Grant({self.actor!r}, {self.action!r}, {self.resource!r})"


def grant(*, actor: User | None, action: str, resource: Resource = None) -> Grant | None:
    """A Grant when `allowed(...)`, else None."""
    if actor is None or not allowed(actor=actor, action=action, resource=resource):
        return None
    return Grant(_MINT, actor.username, action, _office_code(resource))


def require(ops: OpStore, *, actor: User | None, action: str, resource: Resource = None, what: str) -> bool:
    """`allowed(...)`, writing a refusal to the audit log: `access.denied` for a kind of page or
    action, `scope.denied` for an office."""
    if allowed(actor=actor, action=action, resource=resource):
        return True
    office = resource is not None
    audit.record(
        ops,
        actor=actor.username if actor else "anonymous",
        action="scope.denied" if office else "access.denied",
        target=(_office_code(resource) or what)[:200],
        detail={"what": what[:200], "permission": action, **({"scope": actor.scope_code} if office and actor else {})},
    )
    return False


def scope_for(actor: User) -> Scope:
    """The scope of every read the user makes: everything (national users), the user's subtree,
    or only the archives assigned to them (inspectors)."""
    if actor.role == "inspector":
        return Scope(None, archives_only=True)
    if actor.national:
        return Scope(None)
    return Scope(actor.scope_code or NO_SCOPE)
