"""Side by side: chosen offices of one level with their rank, composite, dimension scores and every
indicator, and a chart of the dimensions (issue 20 item 4).

The offices are chosen from those one level below the user's home office (for the nation: the
provinces) and kept in the address (`/compare?offices=330000,320000`), so a comparison can be
shared. Each chosen office is asked of the policy; one the user may not open in full refuses the
page (and the refusal is audited), as any other address for it would.
"""

from __future__ import annotations

from dash import Input, Output, State, dcc, html, no_update

from dashboard import charts, ids, inputs, views
from dashboard.context import Context, Request, first, query_of
from dashboard.i18n import num, t
from dashboard.page import Page
from dashboard.widgets import denied, dropdown, indicator_figure, table_exports
from metrics.config import DIMENSIONS

MOST = 8  # offices compared at once


def chosen(arg: str | None) -> list[str]:
    """The address's offices ("330000,320000"), each once, at most MOST."""
    out: list[str] = []
    for code in (arg or "").split(","):
        code = code.strip()
        if code and code not in out and len(code) <= 32:
            out.append(code)
    return out[:MOST]


def render(req: Request) -> html.Div:
    v = req.viewer
    lang = req.lang
    home_code = views.home(v)
    if not home_code:
        return denied(lang)
    tree = views.tree(v)
    level = views.LEVEL_BELOW.get(tree.offices[home_code]["level"]) or tree.offices[home_code]["level"]
    options = [
        {"label": f"{tree.offices[c]['name']} · {c}", "value": c}
        for c in sorted(tree.children.get(home_code, []) or [home_code])
    ]
    codes = chosen(req.arg("offices"))
    shown: list[str] = []
    refused: list[str] = []
    for code in codes:
        (shown if views.access(v, code, what="compare", need="full") is not None else refused).append(code)
    parts: list = [
        html.H2(t("cmp.title", lang)),
        html.P(t("cmp.hint", lang).format(most=MOST), className="note"),
        dropdown(lang, id=ids.COMPARE_PICK, options=options, value=shown, multi=True, className="compare-pick"),
    ]
    if refused:  # an office the user may not open in full: nothing is shown (the refusal is audited)
        return denied(lang)
    if not shown:
        return html.Div(parts)
    within = None if tree.offices[home_code]["level"] == "national" else home_code
    office_level = tree.offices[shown[0]]["level"]
    grant = views.office_grant(v, shown[0], "full")
    ranking = views.ranking(
        v, grant, req.controls, level=office_level, within=within if office_level == level else None
    )
    rows = {o["office_code"]: o for o in ranking.offices}
    ranked = sum(1 for o in ranking.offices if o["rank"] is not None)
    offices = [rows[c] for c in shown if c in rows]
    other = [c for c in shown if c not in rows]  # of another level than the first: said, not dropped
    if other:
        parts.append(html.P(t("cmp.other_level", lang).format(codes="、".join(other)), className="note"))
    head = html.Tr([html.Th(t("cmp.row", lang)), *[html.Th(o["name"]) for o in offices]])
    body = [
        html.Tr(
            [
                html.Th(t("col.rank", lang)),
                *[
                    html.Td(t("rank.of", lang).format(rank=o["rank"], n=ranked) if o["rank"] else "—", className="num")
                    for o in offices
                ],
            ]
        ),
        html.Tr(
            [
                html.Th(t("col.composite", lang)),
                *[html.Td(num(o["composite"], lang, 1), className="num") for o in offices],
            ]
        ),
        *[
            html.Tr(
                [
                    html.Th(t(f"dim.{d}", lang)),
                    *[html.Td(num(o["dimensions"][d], lang, 1), className="num") for o in offices],
                ]
            )
            for d in DIMENSIONS
        ],
        *[
            html.Tr(
                [
                    html.Th(f"{i.id} {i.zh if lang == 'zh' else i.en}"),
                    *[
                        html.Td(
                            t("ind.insufficient", lang)
                            if o["indicators"][i.id]["status"] == "insufficient"
                            else indicator_figure(o["indicators"][i.id]["value"], "value", lang, i.value),
                            className="num",
                        )
                        for o in offices
                    ],
                ]
            )
            for i in v.config.indicators
        ],
    ]
    parts += [
        html.Section(
            className="card",
            children=[
                html.H3(t("cmp.title", lang)),
                table_exports(ids.COMPARE_TABLE, "comparison", lang),
                html.Table([html.Thead(head), html.Tbody(body)], className="ranking compact", id=ids.COMPARE_TABLE),
            ],
        ),
        html.Section(
            className="card",
            children=[
                dcc.Graph(
                    id=ids.COMPARE_CHART,
                    figure=charts.compare_dimensions(offices, lang=lang, palette=req.palette),
                    config=charts.graph_config(lang),
                )
            ],
        ),
    ]
    return html.Div(parts)


PAGES = [Page("/compare", "rankings", render, nav="nav.compare", order=15)]


def callbacks(app, ctx: Context) -> None:
    @app.callback(
        Output(ids.URL, "search", allow_duplicate=True),
        Input(ids.COMPARE_PICK, "value"),
        State(ids.URL, "search"),
        prevent_initial_call=True,
    )
    def _pick(values, search):
        """The chosen offices go to the address (the page is drawn from it, the policy asked there)."""
        picked = [inputs.text(x, "office", limit=32) or "" for x in (inputs.items(values, "offices") or [])]
        query = query_of(search)
        if ",".join(chosen(",".join(picked))) == (first(query, "offices") or ""):
            return no_update
        rest = [f"{k}={w}" for k, vs in query.items() if k != "offices" for w in vs]
        parts = [*rest, *([f"offices={','.join(chosen(','.join(picked)))}"] if picked else [])]
        return "?" + "&".join(parts) if parts else ""
