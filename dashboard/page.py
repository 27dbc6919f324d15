"""A dashboard page as its module declares it (`PAGES`): its path, the permission it needs and how it
is drawn. The registry (dashboard/registry.py) collects them; a page module needs only this."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from access import policy
from dashboard.context import Request


@dataclass(frozen=True)
class Page:
    """One page: its path, the permission it needs, and how it is drawn.

    `path` is a literal path or one with parameters, e.g. "/place/<code>"; the parameters reach
    `render` as `req.params`. `nav` is the i18n key of its navigation entry (None: not in the
    navigation); entries are ordered by `order`. A `home` page answers "/" for the users who may
    open it (the first by `order`)."""

    path: str
    permission: str
    render: Callable[[Request], Any]
    nav: str | None = None
    order: int = 100
    home: bool = False

    def __post_init__(self) -> None:
        if self.permission not in policy.PERMISSIONS:
            raise ValueError(f"page {self.path}: unknown permission '{self.permission}'")

    @property
    def segments(self) -> tuple[str, ...]:
        return tuple(s for s in self.path.strip("/").split("/") if s)

    def match(self, parts: list[str]) -> dict[str, str] | None:
        """The path parameters when `parts` (the path's segments) is this page, else None."""
        mine = self.segments
        if len(mine) != len(parts):
            return None
        params = {}
        for want, got in zip(mine, parts, strict=True):
            if want.startswith("<") and want.endswith(">"):
                params[want[1:-1]] = got
            elif want != got:
                return None
        return params
