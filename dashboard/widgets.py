"""Components shared by several pages: refusal, breadcrumb, headline tiles, ranking table, confirm buttons."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from dash import dcc, html
from dash.development.base_component import Component

from dashboard import ids
from dashboard.i18n import num, pct, signed, t
from dashboard.view_types import Crumb, Figure, RankRow
from metrics.config import DIMENSIONS


def denied(lang: str) -> html.Div:
    return html.Div(t("denied", lang), className="error", role="alert", id=ids.DENIED)


ARIA_BREADCRUMB: dict[str, Any] = {"aria-label": "breadcrumb"}


def case_href(office_code: str, case_no: str) -> str:
    """The address of a case's page, its parts quoted (a case number may hold "/", "?" or "#")."""
    return f"/case/{quote(str(office_code), safe='')}/{quote(str(case_no), safe='')}"


def data_attr(name: str, value: str) -> dict[str, Any]:
    """A `data-<name>` attribute for a component's keywords (Dash accepts them; its types do not list them)."""
    return {f"data-{name}": value}


def breadcrumb(crumbs: list[Crumb], lang: str, *, last_linked: bool = False) -> html.Nav:
    items: list[Component] = []
    for k, c in enumerate(crumbs):
        label = c["name"] if c["level"] != "national" else t("level.national", lang) + " · " + c["name"]
        last = k == len(crumbs) - 1
        if c["linked"] and (not last or last_linked):
            items.append(dcc.Link(label, href=f"/place/{c['code']}", className="crumb"))
        else:
            items.append(html.Span(label, className="crumb current" if last else "crumb"))
        if not last:
            items.append(html.Span("›", className="sep"))
    return html.Nav(items, className="breadcrumb", id=ids.BREADCRUMB, **ARIA_BREADCRUMB)


# Which way a headline figure is better: its change is coloured better/worse, never by its sign
# (more overdue cases is worse, more closed cases better); the open cases and archives appraised
# are workload, neither better nor worse.
BETTER = {"accepted": 1, "closed": 1, "on_time_rate": 1, "open_cases": 0, "overdue": -1, "appraised": 0}


def _tile(label: str, fig: Figure, lang: str, *, kind: str = "num", better: int = 0) -> html.Div:
    value, change = fig["value"], fig["change"]
    shown = pct(value, lang) if kind == "pct" else num(value, lang)
    delta = signed(change, 1, pct_points=True) if kind == "pct" else signed(change)
    if change in (None, 0) or not better:
        cls = "delta"
    else:
        assert change is not None
        cls = "delta better" if change * better > 0 else "delta worse"
    return html.Div(
        className="kpi",
        children=[
            html.Div(label, className="kpi-label"),
            html.Div(shown, className="kpi-value"),
            html.Div([html.Span(delta, className=cls), " ", t("h.vs_last_year", lang)], className="kpi-change"),
        ],
    )


def headline(fig: dict[str, Figure], lang: str) -> html.Div:
    return html.Div(
        className="kpis",
        id=ids.HEADLINE,
        children=[
            _tile(t(f"h.{k}", lang), fig[k], lang, kind="pct" if k == "on_time_rate" else "num", better=BETTER[k])
            for k in ("accepted", "closed", "on_time_rate", "open_cases", "overdue", "appraised")
        ],
    )


def _interval_bar(interval: list[int] | None, rank: int | None, n: int) -> html.Div:
    if not interval or n < 1:
        return html.Div("—")
    lo, hi = min(interval[0], n), min(interval[1], n)  # never past the cell
    scale = max(n - 1, 1)
    return html.Div(
        className="ibar-cell",
        children=[
            html.Div(
                className="ibar",
                title=f"{lo}–{hi}",
                children=[
                    html.Div(
                        className="ibar-span",
                        style={
                            "left": f"{(lo - 1) / scale * 100:.1f}%",
                            "width": f"{max((hi - lo) / scale * 100, 1.5):.1f}%",
                        },
                    ),
                    *(
                        [html.Div(className="ibar-dot", style={"left": f"{(rank - 1) / scale * 100:.1f}%"})]
                        if rank
                        else []
                    ),
                ],
            ),
            html.Span(f"{lo}–{hi}", className="ibar-text"),
        ],
    )


def change(value: int | None) -> html.Span:
    if value is None:
        return html.Span("—", className="chg")
    if value == 0:
        return html.Span("＝", className="chg")
    return html.Span(("▲" if value > 0 else "▼") + str(abs(value)), className="chg up" if value > 0 else "chg down")


def ranking_table(
    rows: list[RankRow], lang: str, *, child_level: str | None, peers: int | None = None, mine: str | None = None
) -> html.Table:
    """The ranking rows; a rank reads "n of N" (`peers`: how many are ranked in the peer group, more
    than the rows when the peer group is wider than the offices shown); `mine`: the viewer's own
    office, its row highlighted."""
    n = max(peers or 0, len(rows), *(r["rank"] or 0 for r in rows), *((r["rank_interval"] or [0, 0])[1] for r in rows))
    head = html.Tr(
        [
            html.Th(t("col.rank", lang)),
            html.Th(t("col.office", lang)),
            html.Th(t("col.composite", lang)),
            *[html.Th(t(f"dim.{d}", lang)) for d in DIMENSIONS],
            html.Th(t("col.interval", lang)),
            html.Th(t("col.change", lang)),
            html.Th(t("col.profile", lang)),
        ]
    )
    body = []
    for r in rows:
        code = r["office_code"]
        if not r["linked"]:
            name: Component = html.Span(r["name"])
        elif child_level == "county":  # a county has no level below: its name opens the profile
            name = dcc.Link(r["name"], href=f"/office/{code}")
        else:
            name = dcc.Link(r["name"], href=f"/place/{code}")
        body.append(
            html.Tr(
                className="rank-row mine" if code == mine else "rank-row",
                **data_attr("code", code),
                children=[
                    html.Td(
                        t("rank.of", lang).format(rank=r["rank"], n=n) if r["rank"] is not None else "—",
                        className="num rank",
                    ),
                    html.Td([name, html.Span(code, className="code")]),
                    html.Td(num(r["composite"], lang, 1), className="num composite"),
                    *[html.Td(num((r["dimensions"] or {}).get(d), lang, 1), className="num") for d in DIMENSIONS],
                    html.Td(_interval_bar(r["rank_interval"], r["rank"], n)),
                    html.Td(change(r["rank_change"]), className="num"),
                    html.Td(dcc.Link("›", href=f"/office/{code}", className="profile-link") if r["linked"] else ""),
                ],
            )
        )
    return html.Table([html.Thead(head), html.Tbody(body)], className="ranking", id=ids.RANKING)


def signal_cell(value, key: str, lang: str) -> str:
    if value is None:
        return "—"
    return num(value, lang, 1) if key.endswith("days") else pct(value, lang)


def confirmed(
    confirm_id: str, button_id: str, label: str, message: str, *, secondary: bool = False
) -> dcc.ConfirmDialogProvider:
    """A button that asks before it acts: the callback listens to `confirm_id`'s `submit_n_clicks`."""
    return dcc.ConfirmDialogProvider(
        id=confirm_id,
        message=message,
        children=html.Button(label, id=button_id, n_clicks=0, className="button secondary" if secondary else "button"),
    )


def number_input(id_, value, **kw):
    return dcc.Input(id=id_, type="number", value=value, debounce=True, className="num-input", **kw)


def field(label: str, widget) -> html.Div:
    return html.Div(className="field", children=[html.Label(label), widget])


def indicator_figure(value: float | None, key: str, lang: str, kind: str) -> str:
    """An indicator figure; `key` (value, numerator, denominator, peer_median) decides its format."""
    if value is None:
        return "—"
    if kind in ("ratio",) and key in ("value", "peer_median"):
        return pct(value, lang)
    whole = key in ("numerator", "denominator") or kind in ("count", "median")
    return num(value, lang, 0 if whole else 2)
