"""An office's profile: composite, rank and its interval, dimensions, indicators, sensitivity."""

from __future__ import annotations

from dash import dcc, html

from dashboard import charts, ids, views
from dashboard.context import Request
from dashboard.followup import overdue_panel, visit_panel
from dashboard.i18n import num, pct, t
from dashboard.page import Page
from dashboard.view_types import Denied, Profile, ProfileMissing, ProfileNational
from dashboard.widgets import breadcrumb, change, data_attr, denied, indicator_figure, signal_cell, table_exports
from metrics.config import DIMENSIONS


def profile_page(v: Profile | ProfileNational | ProfileMissing | Denied, lang: str, palette: str) -> html.Div:
    if v["denied"]:
        return denied(lang)
    if v["national"]:
        return html.Div(dcc.Link(v["name"], href=f"/place/{v['code']}"))
    head = [
        breadcrumb(v["crumbs"], lang, last_linked=v["level"] != "county"),
        html.H2(f"{v['name']} · {t('profile.title', lang)}", id=ids.PROFILE_TITLE),
    ]
    links = html.Div(
        className="links",
        children=[
            dcc.Link(t("profile.cases", lang), href=f"/cases?office={v['code']}"),
            dcc.Link(t("profile.monitor", lang), href=f"/monitor?office={v['code']}"),
        ],
    )
    if v["missing"]:
        return html.Div([*head, html.P(t("not_ranked", lang)), links])
    o = v["office"]
    interval = o["rank_interval"]
    summary = html.Div(
        className="kpis",
        children=[
            html.Div(
                className="kpi",
                children=[
                    html.Div(t("col.composite", lang), className="kpi-label"),
                    html.Div(num(o["composite"], lang, 1), className="kpi-value", id=ids.PROFILE_COMPOSITE),
                ],
            ),
            html.Div(
                className="kpi",
                children=[
                    html.Div(t("col.rank", lang), className="kpi-label"),
                    html.Div(
                        str(o["rank"]) if o["rank"] is not None else "—", className="kpi-value", id=ids.PROFILE_RANK
                    ),
                    html.Div(f"/ {v['peers']}", className="kpi-change"),
                ],
            ),
            html.Div(
                className="kpi",
                children=[
                    html.Div(t("col.interval", lang), className="kpi-label"),
                    html.Div(
                        f"{interval[0]}–{interval[1]}" if interval else "—",
                        className="kpi-value",
                        id=ids.PROFILE_INTERVAL,
                    ),
                ],
            ),
            html.Div(
                className="kpi",
                children=[
                    html.Div(t("col.change", lang), className="kpi-label"),
                    html.Div(change(o["rank_change"]), className="kpi-value"),
                ],
            ),
            *[
                html.Div(
                    className="kpi",
                    children=[
                        html.Div(t(f"dim.{d}", lang), className="kpi-label"),
                        html.Div(num(o["dimensions"][d], lang, 1), className="kpi-value", id=f"{ids.PROFILE_DIM}-{d}"),
                    ],
                )
                for d in DIMENSIONS
            ],
        ],
    )
    ind_rows = [
        html.Tr(
            className="insufficient" if e["status"] == "insufficient" else "",
            **data_attr("id", e["id"]),
            children=[
                html.Td(e["id"]),
                html.Td(e["en"] if lang == "en" else e["zh"]),
                html.Td(t(f"dim.{e['dimension']}", lang)),
                html.Td(
                    t("ind.insufficient", lang)
                    if e["status"] == "insufficient"
                    else indicator_figure(e["value"], "value", lang, e["value_kind"]),
                    className="num",
                ),
                html.Td(indicator_figure(e["numerator"], "numerator", lang, e["value_kind"]), className="num"),
                html.Td(indicator_figure(e["denominator"], "denominator", lang, e["value_kind"]), className="num"),
                html.Td(indicator_figure(e["peer_median"], "peer_median", lang, e["value_kind"]), className="num"),
                html.Td(num(e["score"], lang, 1), className="num"),
            ],
        )
        for e in v["indicators"]
    ]
    indicators = html.Table(
        className="ranking indicators",
        id=ids.PROFILE_INDICATORS,
        children=[
            html.Thead(
                html.Tr(
                    [
                        html.Th(t(k, lang))
                        for k in (
                            "ind.id",
                            "ind.name",
                            "ind.dimension",
                            "ind.value",
                            "ind.num",
                            "ind.den",
                            "ind.median",
                            "ind.score",
                        )
                    ]
                )
            ),
            html.Tbody(ind_rows),
        ],
    )
    sens = v["sensitivity"]
    sens_rows = [
        html.Tr([html.Td(f"{t('sens.without', lang)} {k}"), html.Td(r if r is not None else "—", className="num")])
        for k, r in sens["without"].items()
    ]
    sens_rows += [
        html.Tr(
            [
                html.Td(f"{t('sens.method', lang)}: {t('method.' + m, lang)}"),
                html.Td(r if r is not None else "—", className="num"),
            ]
        )
        for m, r in sens["methods"].items()
    ]
    sig = v["signals"]
    sig_rows = [
        html.Tr(
            [
                html.Td(t(f"sig.{s}", lang)),
                html.Td(signal_cell(sig.get(s), s, lang), className="num"),
                html.Td(signal_cell(sig.get(f"{s}_peer_median"), s, lang), className="num"),
            ]
        )
        for s in ("acceptance_gap_days", "extension_rate", "late_withdrawal_rate", "deadline_bunching_rate")
    ]
    sig_rows.append(
        html.Tr(
            [
                html.Td(t("sig.disposition_days", lang)),
                html.Td(num(sig.get("disposition_days"), lang, 0), className="num"),
                html.Td(""),
            ]
        )
    )
    insp = [
        html.Tr(
            [
                html.Td(r["year"]),
                html.Td(num(r["appraised"], lang), className="num"),
                html.Td(num(r["unqualified"], lang), className="num"),
                html.Td(
                    f"{pct(r['unqualified_rate'], lang)} ({pct(r['ci_low'], lang)}–{pct(r['ci_high'], lang)})",
                    className="num",
                ),
            ]
        )
        for r in v["inspections"]
    ]
    return html.Div(
        [
            *head,
            links,
            summary,
            html.Section(
                className="card",
                children=[
                    html.H3(t("profile.indicators", lang)),
                    table_exports(ids.PROFILE_INDICATORS, f"indicators-{v['code']}", lang),
                    indicators,
                ],
            ),
            html.Div(
                className="row",
                children=[
                    html.Div(
                        className="card half",
                        children=[
                            dcc.Graph(
                                figure=charts.dimension_bars(o, v["dimension_median"], lang=lang, palette=palette),
                                config=charts.graph_config(lang),
                            )
                        ],
                    ),
                    html.Div(
                        className="card half",
                        children=[
                            dcc.Graph(
                                id=ids.PROFILE_TREND,
                                figure=charts.trend_line(
                                    v["trend"], lang=lang, palette=palette, median=v["trend_median"]
                                ),
                                config=charts.graph_config(lang),
                            )
                        ],
                    ),
                ],
            ),
            html.Div(
                className="row",
                children=[
                    html.Section(
                        className="card half",
                        children=[
                            html.H3(t("profile.sensitivity", lang)),
                            html.P(f"{t('col.rank', lang)} {sens['rank']} / {sens['peers']}", className="note"),
                            html.Table(html.Tbody(sens_rows), className="ranking compact", id=ids.PROFILE_SENSITIVITY),
                        ],
                    ),
                    html.Section(
                        className="card half",
                        children=[
                            html.H3(t("profile.signals", lang)),
                            html.Table(
                                [
                                    html.Thead(
                                        html.Tr([html.Th(""), html.Th(v["name"]), html.Th(t("ind.median", lang))])
                                    ),
                                    html.Tbody(sig_rows),
                                ],
                                className="ranking compact",
                            ),
                            html.H3(t("profile.inspections", lang)),
                            html.Table(
                                [
                                    html.Thead(
                                        html.Tr(
                                            [
                                                html.Th(t(k, lang))
                                                for k in (
                                                    "insp.year",
                                                    "insp.appraised",
                                                    "insp.unqualified",
                                                    "insp.rate",
                                                )
                                            ]
                                        )
                                    ),
                                    html.Tbody(insp),
                                ],
                                className="ranking compact",
                            )
                            if insp
                            else html.P(t("none", lang)),
                        ],
                    ),
                ],
            ),
        ]
    )


def render(req: Request) -> html.Div:
    v, code = req.viewer, req.params["code"]
    page = req.ctx.cached_page(
        req, "profile", code, lambda: profile_page(views.profile(v, code, req.controls), req.lang, req.palette)
    )
    return html.Div(
        [
            page,
            overdue_panel(v, code, req.controls.as_of_date, req.lang),
            visit_panel(v, code, req.controls.year, req.lang),
        ]
    )


PAGES = [Page("/office/<code>", "rankings", render, order=12)]
