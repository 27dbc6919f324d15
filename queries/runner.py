"""The one query runner through which all case- and office-level reads from the web pass.

It rewrites each query to the user's scope (queries/scope.py), binds every user value as a
parameter, and refuses anything but a read. A request for an office outside the scope returns
nothing of it and is reported through `on_denied` (the dashboard writes it to the audit log).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import polars as pl

from queries.loader import sql
from queries.scope import ARCHIVE_TABLE, SCOPE_PARAM, Scope, scope_sql
from queries.statements import duck_sql
from queries.store import Store


@dataclass
class QueryRunner:
    """Reads `store` as a user with `scope`; `actor` names the user in denial reports."""

    store: Store
    scope: Scope
    actor: str = "anonymous"
    on_denied: Callable[[str, str, dict], None] | None = None
    archives: list[tuple[str, str]] | None = None  # an inspector's assigned (office_code, case_no)

    def frame(self, text: str, **params: Any) -> pl.DataFrame:
        """Run one SELECT scoped to the user, with `params` bound by name."""
        scoped = scope_sql(text, self.scope)
        if not self.scope.national and f"${SCOPE_PARAM}" in scoped:
            params = {**params, SCOPE_PARAM: self.scope.office_code}
        con = self.store.thread_reader()
        if not self.scope.archives_only:
            return con.sql(scoped, params=params).pl()
        con.register(ARCHIVE_TABLE, pl.DataFrame(self.archives or [], schema=["office_code", "case_no"], orient="row"))
        try:
            return con.sql(scoped, params=params).pl()
        finally:
            con.unregister(ARCHIVE_TABLE)

    def named(self, name: str, **params: Any) -> pl.DataFrame:
        """Run `queries/<name>.sql` scoped to the user."""
        return self.frame(sql(name), **params)

    def allows(self, office_code: str, *, what: str) -> bool:
        """True when `office_code` is in the scope; otherwise report the attempt and return False
        (for a national scope an unknown office is not an attempt outside it, so nothing is reported)."""
        inside = self.frame(duck_sql("offices.count_one"), c=office_code)["n"][0]
        if not inside and self.on_denied and not self.scope.national:
            self.on_denied(
                self.actor, "scope.denied", {"office": office_code, "what": what, "scope": self.scope.office_code}
            )
        return bool(inside)
