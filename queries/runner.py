"""The one query runner through which all case- and office-level reads from the web pass.

It rewrites each query to the user's scope (queries/scope.py, the scope `access.policy.scope_for`
gives), binds every user value as a parameter, and refuses anything but a read. Whether a user may
open an office or a case at all is the policy's decision, made (and audited) before any read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl

from queries.loader import sql
from queries.scope import ARCHIVE_TABLE, SCOPE_PARAM, Scope, scope_sql
from queries.store import Store


@dataclass
class QueryRunner:
    """Reads `store` as a user with `scope`; `actor` names the user."""

    store: Store
    scope: Scope
    actor: str = "anonymous"
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
