"""What a page module is given: the app's context (stores, config, cache, jobs) and one request."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from dash import ALL, html
from flask_login import current_user

from access.opstore import OpStore
from dashboard import ids, inputs, views, widgets
from dashboard.cache import VersionedCache
from dashboard.report_jobs import ReportJobs
from dashboard.view_types import Need
from metrics.config import DIMENSIONS, METHODS, Config
from queries.store import Store


@dataclass
class Context:
    """One app's shared state, handed to every page's `render` (through `Request`) and `callbacks`."""

    store: Store
    ops: OpStore
    config: Config
    cache: VersionedCache
    jobs: ReportJobs

    def viewer(self) -> views.Viewer:
        """The signed-in user's view (the login guard runs before any page or callback)."""
        return views.Viewer(current_user.user, self.store, self.ops, self.config, self.cache)

    def cached_page(
        self,
        req: Request,
        kind: str,
        code: str | None,
        build: Callable[[], Any],
        extra: object = None,
        *,
        need: Need = "full",
    ) -> Any:
        """A page about office `code`, built once per data version, view and kind of viewer. The access
        decision (and the audit entry of a refusal) is made on every request, before the cache;
        `need`: "peers" for a page a user may see of their parent office (its ranking rows)."""
        v = req.viewer
        if code is None or views.access(v, code, what=kind, need=need) is None:
            return widgets.denied(req.lang)
        viewer_key = "national" if v.user.national else v.user.scope_code
        key = ("page", kind, code, viewer_key, req.controls.key(), req.lang, req.palette, extra)
        got = self.cache.entry(key, lambda: widgets.encoded(build()))
        if not got.reads_appraisals():
            return got.value
        return html.Div([got.value, widgets.freshness(got.computed_at, stale=got.stale, lang=req.lang)])


@dataclass(frozen=True)
class Request:
    """One page request: who asks, for which path and with which controls."""

    ctx: Context
    viewer: views.Viewer
    path: str
    query: dict[str, list[str]]
    controls: views.Controls
    lang: str
    palette: str
    params: dict[str, str] = field(default_factory=dict)

    def arg(self, name: str) -> str | None:
        """The first value of query parameter `name`, or None."""
        return first(self.query, name)

    def with_params(self, params: dict[str, str]) -> Request:
        return dataclasses.replace(self, params=params)


def query_of(search: object) -> dict[str, list[str]]:
    """A location's query string (`?a=1&b=2`, or nothing) parsed."""
    return parse_qs((inputs.text(search, "search") or "").lstrip("?"))


def first(query: dict[str, list[str]], name: str) -> str | None:
    """The first value of `name` in a parsed query string (`urllib.parse.parse_qs`), or None."""
    got = query.get(name)
    return got[0] if got else None


class OutsideYear(inputs.BadRequest):
    """An as-of date outside the chosen year: refused with a message, never silently dropped."""

    def __init__(self, day: dt.date, year: int) -> None:
        super().__init__(
            f"as of {day.isoformat()} is not in {year}: choose a date of {year}, or none (31 December)",
            f"截至日期 {day.isoformat()} 不在 {year} 年内",
        )
        self.day, self.year = day, year


def control_deps(dep: Callable[[Any, str], Any]) -> list:
    """The view's controls as callback dependencies (`dep`: Input or State), in the order
    `parse_controls` and the pages take them: year, as-of, method, peer group, weights, language, palette."""
    return [
        dep(ids.YEAR, "value"),
        dep(ids.AS_OF, "date"),
        dep(ids.METHOD, "value"),
        dep(ids.PEER, "value"),
        dep({"type": ids.WEIGHT, "dim": ALL}, "value"),
        dep(ids.LANG, "value"),
        dep(ids.PALETTE, "value"),
    ]


def parse_controls(year, as_of, method, peer, weights, config: Config) -> views.Controls:
    """Controls from the widgets' values; defaults become None so that the default view shares its
    cache entry (and its numbers) with `ipdash scores`."""
    chosen_year = inputs.year(year)
    day = inputs.date(as_of, "as of")
    if day is not None and day.year != chosen_year:
        raise OutsideYear(day, chosen_year)
    given = inputs.items(weights, "weights")
    if given and len(given) != len(DIMENSIONS):
        raise inputs.BadRequest(f"weights must be {len(DIMENSIONS)} numbers, one per dimension", "维度权重数目不符")
    values = [inputs.number(v, f"weight of {d}", low=0, high=100) for d, v in zip(DIMENSIONS, given)]
    w = None
    if any(v is not None for v in values):
        chosen = {
            d: v if v is not None else float(config.scoring.dimension_weights[d]) for d, v in zip(DIMENSIONS, values)
        }
        if chosen != {d: float(config.scoring.dimension_weights[d]) for d in DIMENSIONS} and sum(chosen.values()) > 0:
            w = tuple(chosen.items())
    method = inputs.choice(method, "method", METHODS)
    return views.Controls(
        year=chosen_year,
        as_of=day,
        method=None if method == config.scoring.method else method,
        weights=w,
        peer="configured"
        if inputs.choice(peer, "peer group", ("siblings", "configured")) == "configured"
        else "siblings",
    )
