"""The page registry: every dashboard page is one module that declares its pages; nothing else lists them.

A page module (any module of the `dashboard.pages` package, or one named in `extra_pages` /
`$IPDASH_EXTRA_PAGES`) defines `PAGES`, a list of `Page`, and optionally `callbacks(app, ctx)`,
which registers the page's own Dash callbacks. The registry builds the navigation from the pages
the user's role may open (`access.policy`), matches a path to its page, and refuses, on the server
and with an audit entry, a page whose permission the user lacks — the same way for every page.
Like Dash's `register_page`, but with the permission beside the layout and no module-level state:
each app builds its own registry, so tests can build apps with different pages side by side.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from types import ModuleType

from dash import dcc, html

from access import policy
from core import settings
from dashboard import widgets
from dashboard.context import Context, Request
from dashboard.i18n import t
from dashboard.page import Page


@dataclass
class Registry:
    pages: list[Page] = field(default_factory=list)
    modules: list[ModuleType] = field(default_factory=list)

    @classmethod
    def discover(cls, extra: Iterable[str] = ()) -> Registry:
        """The pages of every module of `dashboard.pages`, then those of the `extra` modules."""
        from dashboard import pages as package

        names = [f"{package.__name__}.{m.name}" for m in sorted(pkgutil.iter_modules(package.__path__), key=str)]
        env = settings.current().extra_page_modules
        reg = cls()
        for name in [*names, *extra, *env]:
            module = importlib.import_module(name)
            reg.modules.append(module)
            reg.pages.extend(getattr(module, "PAGES", []))
        seen: dict[tuple[str, ...], str] = {}
        for p in reg.pages:
            shape = tuple("<>" if s.startswith("<") else s for s in p.segments)
            if shape in seen:
                raise ValueError(f"two pages answer {p.path}: {seen[shape]} and {p.path}")
            seen[shape] = p.path
        reg.pages.sort(key=lambda p: p.order)
        return reg

    def register_callbacks(self, app, ctx: Context) -> None:
        for module in self.modules:
            hook = getattr(module, "callbacks", None)
            if hook is not None:
                hook(app, ctx)

    def resolve(self, user, parts: list[str]) -> tuple[Page, dict[str, str]] | None:
        """The page `parts` names ("/" is the user's home page) and its parameters, or None."""
        if not parts:
            homes = [p for p in self.pages if p.home]
            chosen = next(
                (p for p in homes if policy.allowed(actor=user, action=p.permission)), homes[0] if homes else None
            )
            return (chosen, {}) if chosen else None
        for p in self.pages:
            params = p.match(parts)
            if params is not None:
                return p, params
        return None

    def nav(self, user, lang: str) -> list[dcc.Link]:
        """The navigation: the pages with an entry that the user's role may open, in order."""
        return [
            dcc.Link(t(p.nav, lang), href=p.path, className="nav-link")
            for p in self.pages
            if p.nav and "<" not in p.path and policy.allowed(actor=user, action=p.permission)
        ]

    def render(self, req: Request, parts: list[str]):
        """The page for `parts` as `req`'s user may see it: a refusal (audited) when the role lacks
        the page's permission, "not found" for a path no page answers."""
        got = self.resolve(req.viewer.user, parts)
        if got is None:
            return html.P(t("not_found", req.lang), className="error", id="not-found")
        page, params = got
        if not policy.require(req.ctx.ops, actor=req.viewer.user, action=page.permission, what=req.path):
            return widgets.denied(req.lang)
        return page.render(req.with_params(params))
