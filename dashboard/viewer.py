"""Who is looking, at what: the signed-in user's view of the store (`Viewer`), the page controls,
the office tree and the one office access decision (`access`, which asks `access.policy`), and the
policy's grants for reads beyond the user's scope. No Dash here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from access import audit, policy
from access.opstore import OpStore
from access.users import User
from dashboard.cache import VersionedCache
from dashboard.view_types import Access, Need
from inspection.plans import archives_of_inspector
from metrics.config import Config
from queries.runner import QueryRunner
from queries.statements import duck_sql
from queries.store import Store


@dataclass(frozen=True)
class Controls:
    """The page controls that change what is computed (all part of every cache key)."""

    year: int
    as_of: dt.date | None = None
    method: str | None = None
    weights: tuple[tuple[str, float], ...] | None = None  # dimension weights of a what-if
    peer: str = "siblings"  # siblings | configured

    @property
    def as_of_date(self) -> dt.date:
        return self.as_of or dt.date(self.year, 12, 31)

    def key(self) -> tuple:
        return (self.year, self.as_of_date, self.method, self.weights, self.peer)


@dataclass
class Viewer:
    """One signed-in user's view of the store."""

    user: User
    store: Store
    ops: OpStore
    config: Config
    cache: VersionedCache

    def runner(self) -> QueryRunner:
        """The user's scoped query runner: every case- and office-level read from the web goes through it."""
        user = self.user
        scope = policy.scope_for(user)
        if scope.archives_only:  # an inspector: only the archives assigned to them in standing draws
            return QueryRunner(
                self.store, scope, actor=user.username, archives=archives_of_inspector(self.ops, user.scope_code or "")
            )
        return QueryRunner(self.store, scope, actor=user.username)

    def denied(self, actor: str, action: str, detail: dict) -> None:
        audit.record(self.ops, actor=actor, action=action, target=detail.get("office"), detail=detail)

    def national_read(self, grant: policy.Grant | None, compute):
        """Run `compute(con)` on a read connection that sees everything: only with the policy's
        `grant` to this user (a ranking needs every peer, a subtree's monitor every office of it).
        The connection is the thread's own, reused (Store.thread_reader: opening one costs about
        30 ms); the scoped runner shares it safely, as its scope is written into each query."""
        self.granted(grant)
        return compute(self.store.thread_reader())

    def granted(self, grant: policy.Grant | None) -> None:
        """Refuse (PermissionError) unless `grant` is the policy's grant to this user."""
        if not isinstance(grant, policy.Grant) or grant.actor != self.user.username:
            raise PermissionError(f"a read beyond the scope of {self.user.username} needs the policy's grant")

    def site(self) -> policy.Grant | None:
        """The grant every signed-in user has: the office tree and the years on record."""
        return policy.grant(actor=self.user, action="site.read")


# --- the office tree and the one permission decision -------------------------------------------


@dataclass
class Tree:
    offices: dict[str, dict]  # office_code -> {name, level, parent_code, ...}
    children: dict[str, list[str]] = field(default_factory=dict)
    national: str | None = None

    def chain(self, code: str) -> list[str]:
        """`code` and its ancestors, the national office first."""
        out = []
        while code in self.offices and code not in out:
            out.append(code)
            code = self.offices[code]["parent_code"]
        return out[::-1]

    def below(self, code: str | None) -> set[str]:
        """`code` and every office below it (empty for an unknown code): a walk down the children,
        not a climb up from each of the 3,200 offices."""
        if code not in self.offices:
            return set()
        out, todo = set(), [code]
        while todo:
            c = todo.pop()
            if c not in out:
                out.add(c)
                todo.extend(self.children.get(c, ()))
        return out


def tree(viewer: Viewer) -> Tree:
    def build() -> Tree:
        frame = viewer.national_read(viewer.site(), lambda con: con.sql(duck_sql("offices.paths")).pl())
        offices = {r["office_code"]: r for r in frame.to_dicts()}
        children: dict[str, list[str]] = {}
        for code, rec in offices.items():
            if rec["parent_code"]:
                children.setdefault(rec["parent_code"], []).append(code)
        national = next((c for c, r in offices.items() if r["level"] == "national"), None)
        return Tree(offices, children, national)

    return viewer.cache.get(("tree",), build)


def home(viewer: Viewer) -> str | None:
    """The office a user's overview starts at: the nation, or the user's own office."""
    if viewer.user.role == "inspector":
        return None
    return tree(viewer).national if viewer.user.national else viewer.user.scope_code


def access(viewer: Viewer, code: str | None, *, what: str, need: Need = "peers", log: bool = True) -> Access:
    """How much of office `code` the user may see: "full", "peers" (its ranking rows only) or None
    when that is less than `need` ("peers": any view of it; "full": its figures, cases, profile).

    A refusal is written to the audit log — also for the user's parent office, which the user sees
    as ranking rows only — unless `log` is False (for links merely not drawn)."""
    user = viewer.user
    got: Access = None
    office = office_resource(viewer, code)
    if office is not None:
        if policy.allowed(actor=user, action="office.read", resource=office):
            got = "full"
        elif need == "peers" and policy.allowed(actor=user, action="office.rows", resource=office):
            got = "peers"
    if got is None and log:
        viewer.denied(user.username, "scope.denied", {"office": str(code)[:64], "what": what, "scope": user.scope_code})
    return got


def office_resource(viewer: Viewer, code: str | None) -> policy.Office | None:
    """Office `code` as the policy sees it (its chain and children), None when there is no such office."""
    t = tree(viewer)
    if code not in t.offices:
        return None
    return policy.Office(code, tuple(t.chain(code)), frozenset(t.children.get(code, ())))


def office_grant(viewer: Viewer, code: str, how: Access) -> policy.Grant | None:
    """The policy's grant for reading what `access` said the user may see of office `code`."""
    office = office_resource(viewer, code)
    if how is None or office is None:
        return None
    return policy.grant(actor=viewer.user, action="office.read" if how == "full" else "office.rows", resource=office)
