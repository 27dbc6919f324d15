"""The overview and an office's page: headline, ranking of the offices below, tile map, trend."""

from __future__ import annotations

from urllib.parse import unquote

from dash import Input, Output, State, dcc, html, no_update

from access import policy
from dashboard import charts, ids, inputs, table_export, views
from dashboard.context import Context, Request, control_deps, parse_controls
from dashboard.i18n import t
from dashboard.page import Page
from dashboard.view_types import Denied, Place, Standing
from dashboard.widgets import breadcrumb, data_attr, denied, headline, indicator_figure, ranking_table
from metrics.config import DIMENSIONS


def place_page(
    v: Place | Denied, lang: str, palette: str, map_key: str, *, mine: str | None = None, as_of: str = ""
) -> html.Div:
    """`mine`: the viewer's own office (its row highlighted); `as_of`: the date open cases are judged at."""
    if v["denied"]:
        return denied(lang)
    parts: list = [breadcrumb(v["crumbs"], lang), html.H2(v["name"], id=ids.PLACE_TITLE)]
    if v["standing"]:
        parts.append(standing_card(v["standing"], v["code"], lang, palette, as_of))
    if v["headline"]:
        parts.append(headline(v["headline"], lang, v["code"]))
    if v["child_level"]:
        title = f"{t('rank.title', lang)} · {t('level.' + v['child_level'], lang)}"
        note = [html.P(t("rank.peers_only", lang), className="note")] if v["access"] == "peers" else []
        if v["peers"]:
            group = v["peer_group"]
            among = t("rank.among_group" if group else "rank.among_nation", lang).format(
                n=v["peers"], level=level_word(v["child_level"], lang), group=v["peer_group_name"] or ""
            )
            note.append(html.P(among, className="note", id=ids.RANK_AMONG))
        parts.append(
            html.Section(
                className="card",
                children=[
                    html.H3(title),
                    *note,
                    html.Div(
                        className="table-exports",
                        children=[
                            html.Button(
                                t("table.xlsx", lang), id=ids.TABLE_XLSX, n_clicks=0, className="button secondary"
                            ),
                            html.Button(
                                t("table.csv", lang),
                                className="button secondary table-csv",
                                **data_attr("name", f"ranking-{v['code']}"),
                            ),
                        ],
                    ),
                    ranking_table(v["rows"], lang, child_level=v["child_level"], peers=v["peers"], mine=mine),
                ],
            )
        )
        charts_row = []
        if v["national"] and v["rows"]:
            charts_row.append(
                html.Div(
                    className="card half",
                    children=[
                        dcc.RadioItems(
                            id=ids.MAP_KEY,
                            value=map_key,
                            inline=True,
                            className="map-key",
                            options=[{"label": t("col.composite", lang), "value": "composite"}]
                            + [{"label": t(f"dim.{d}", lang), "value": d} for d in DIMENSIONS],
                        ),
                        dcc.Graph(
                            id=ids.TILE_MAP,
                            config=charts.graph_config(lang),
                            figure=charts.tile_map(
                                v["rows"],
                                value_key=map_key,
                                lang=lang,
                                palette=palette,
                                title=t("col.composite" if map_key == "composite" else f"dim.{map_key}", lang),
                            ),
                        ),
                    ],
                )
            )
        if v["trend"]:
            charts_row.append(
                html.Div(
                    className="card half",
                    children=[
                        dcc.Graph(
                            id=ids.TREND,
                            config=charts.graph_config(lang),
                            figure=charts.trend_box(v["trend"], lang=lang, palette=palette),
                        )
                    ],
                )
            )
        if charts_row:
            parts.append(html.Div(charts_row, className="row"))
    else:
        parts.append(dcc.Link(t("profile.title", lang), href=f"/office/{v['code']}"))
    return html.Div(parts)


def level_word(level: str, lang: str) -> str:
    """A level's name inside a sentence ("county" in English, 县级 in Chinese)."""
    word = t(f"level.{level}", lang)
    return word if lang == "zh" else word.lower()


def standing_card(s: Standing, code: str, lang: str, palette: str, as_of: str) -> html.Section:
    """Where the office stands and why, in words: rank of N with the interval said plainly, the change
    on last year, the indicators furthest below the peers' median; and a chart of where its overdue
    and near-deadline cases sit by the offices below it."""
    level = level_word(s["level"], lang)
    lines: list = []
    if s["level"] != "national":
        if s["rank"] is None:
            lines.append(html.P(t("stand.unranked", lang), id=ids.STANDING_RANK))
        else:
            key = "stand.rank_group" if s["group"] else "stand.rank_nation"
            said = t(key, lang).format(n=s["peers"], rank=s["rank"], level=level, group=s["group_name"] or "")
            change = s["rank_change"]
            moved = (
                t("stand.no_change", lang)
                if change is None
                else t("stand.same", lang)
                if change == 0
                else t("stand.up" if change > 0 else "stand.down", lang).format(n=abs(change))
            )
            lines.append(html.P([html.Strong(said), "；" if lang == "zh" else "; ", moved], id=ids.STANDING_RANK))
            if s["rank_interval"]:
                lo, hi = s["rank_interval"]
                lines.append(
                    html.P(
                        t("stand.interval_tight" if lo == hi else "stand.interval", lang).format(lo=lo, hi=hi),
                        className="note",
                    )
                )
        weak = [
            html.Li(
                t("stand.weak_line", lang).format(
                    name=w["zh"] if lang == "zh" else w["en"],
                    value=indicator_figure(w["value"], "value", lang, w["value_kind"]),
                    median=indicator_figure(w["peer_median"], "peer_median", lang, w["value_kind"]),
                )
            )
            for w in s["weakest"]
        ]
        lines += [
            html.H4(t("stand.weakest", lang)),
            html.Ul(weak, id=ids.STANDING_WEAKEST)
            if weak
            else html.P(t("stand.none_weak", lang), id=ids.STANDING_WEAKEST),
        ]
    rows = [r for r in s["open_by_office"] if r["overdue"] or r["warning"]]
    open_part: list = [html.H4(t("stand.open", lang).format(as_of=as_of))]
    if rows:
        named = [{**r, "name": t("stand.own", lang) if r["code"] == code else r["name"]} for r in rows]
        open_part.append(
            dcc.Graph(
                id=ids.STANDING_OPEN,
                figure=charts.open_by_office(named, lang=lang, palette=palette),
                config=charts.graph_config(lang),
            )
        )
    else:
        open_part.append(html.P(t("stand.open_none", lang).format(as_of=as_of), id=ids.STANDING_OPEN))
    open_part.append(dcc.Link(t("stand.to_monitor", lang), href=f"/monitor?office={code}"))
    return html.Section(
        className="card standing",
        id=ids.STANDING,
        children=[
            html.H3(t("stand.title", lang)),
            html.Div(
                className="row", children=[html.Div(lines, className="half"), html.Div(open_part, className="half")]
            )
            if lines
            else html.Div(open_part),
        ],
    )


def render(req: Request) -> html.Div:
    """The overview ("/": the nation, or the user's own office) or the page of office `code`."""
    v = req.viewer
    code = req.params.get("code") or views.home(v)
    return req.ctx.cached_page(
        req,
        "place",
        code,
        lambda: place_page(
            views.place(v, code or "", req.controls),
            req.lang,
            req.palette,
            "composite",
            mine=v.user.scope_code,
            as_of=req.controls.as_of_date.isoformat(),
        ),
        need="peers",  # a user sees its parent office's page as ranking rows
    )


PAGES = [
    Page("/", "rankings", render, nav="nav.overview", order=10, home=True),
    Page("/place/<code>", "rankings", render, order=11),
]


def _office_of(v, path: object) -> str | None:
    """The office a page's address shows: `/place/<code>`, else the user's home (as `render`)."""
    text = inputs.text(path, "pathname")
    if text and text.startswith("/place/") and len(text.split("/")) > 2:
        return unquote(text.split("/")[2])
    return views.home(v)


def callbacks(app, ctx: Context) -> None:
    @app.callback(
        Output(ids.TILE_MAP, "figure"),
        Input(ids.MAP_KEY, "value"),
        State(ids.URL, "pathname"),
        *control_deps(State),
        prevent_initial_call=True,
    )
    def _map(key, path, year, as_of, method, peer, weights, lang, palette):
        v = ctx.viewer()
        if not policy.require(ctx.ops, actor=v.user, action="rankings", what="province map"):
            return no_update
        code = _office_of(v, path)
        place = views.place(v, code or "", parse_controls(year, as_of, method, peer, weights, ctx.config))
        if place["denied"] or not place["national"]:
            return no_update
        key = key if key in ("composite", *DIMENSIONS) else "composite"
        title = t("col.composite" if key == "composite" else f"dim.{key}", lang or "zh")
        return charts.tile_map(
            place["rows"], value_key=key, title=title, lang=lang or "zh", palette=palette or "viridis"
        )

    @app.callback(
        Output(ids.TABLE_DOWNLOAD, "data"),
        Input(ids.TABLE_XLSX, "n_clicks"),
        State(ids.URL, "pathname"),
        *control_deps(State),
        prevent_initial_call=True,
    )
    def _ranking_xlsx(clicks, path, year, as_of, method, peer, weights, lang, _palette):
        """The ranking on the page as an Excel workbook (views.place asks the policy)."""
        v = ctx.viewer()
        if not clicks or not policy.require(ctx.ops, actor=v.user, action="rankings", what="ranking export"):
            return no_update
        code = _office_of(v, path)
        got = table_export.ranking_xlsx(
            v, code or "", parse_controls(year, as_of, method, peer, weights, ctx.config), inputs.language(lang)
        )
        if got is None:
            return no_update
        name, content = got
        return dcc.send_bytes(content, name)

    # the address's href (a path): dcc.Location with callback-nav opens it without a reload
    @app.callback(Output(ids.URL, "href"), Input(ids.TILE_MAP, "clickData"), prevent_initial_call=True)
    def _map_click(click):
        """A click on a province opens its page, when the user may open it (else nothing happens:
        no page that would only say it may not)."""
        try:
            code = str(click["points"][0]["customdata"])
        except (TypeError, KeyError, IndexError):
            return no_update
        if not code or views.access(ctx.viewer(), code, what="province map", need="full", log=False) is None:
            return no_update
        return f"/place/{code}"
