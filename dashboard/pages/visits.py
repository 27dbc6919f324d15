"""Return visits (回访): the visit plans, the figures of the user's offices with a chart, the visits,
and the form where a visitor (or the national administrator) records one (issue 18).

The form's callback asks the permission policy on the server (`visit.record` on the case, inside
`inspection.visits.record_visit`); the form drawn only for allowed users is a convenience.
"""

from __future__ import annotations

import datetime as dt

from dash import Input, Output, State, dcc, html, no_update
from flask_login import current_user

from access import policy
from dashboard import charts, ids, inputs
from dashboard import visit_views as vv
from dashboard.context import Context, Request
from dashboard.i18n import beijing_day, num, pct, t
from dashboard.page import Page
from dashboard.widgets import dropdown
from inspection.visits import VisitError


def rate(r: dict, lang: str) -> str:
    """A rate with its count and 95% interval, as people read it."""
    if r["rate"] is None:
        return "—"
    return f"{pct(r['rate'], lang)} ({r['k']}/{r['n']}; {pct(r['low'], lang)}–{pct(r['high'], lang)})"


def _mean(f: dict, lang: str) -> str:
    return num(f["satisfaction"]["mean"], lang, 2) + (
        f" (n={f['satisfaction']['n']})" if f["satisfaction"]["n"] else ""
    )


def _plans(got: list[dict], lang: str) -> html.Table:
    head = ["visit.plan", "visit.year", "visit.drawn_on", "visit.progress"]
    return html.Table(
        className="ranking compact",
        children=[
            html.Thead(html.Tr([html.Th(t(k, lang)) for k in head])),
            html.Tbody(
                [
                    html.Tr(
                        [
                            html.Td(p["spec"].get("title") or p["plan_id"]),
                            html.Td(str(p["spec"]["year"])),
                            html.Td(beijing_day(p["drawn_at"]) if p["drawn_at"] else t("visit.not_drawn", lang)),
                            html.Td(f"{num(p['recorded'], lang)} / {num(p['visits'], lang)}", className="num"),
                        ]
                    )
                    for p in got
                ]
            ),
        ],
    )


def _figures(by: dict, total: dict, lang: str) -> html.Table:
    head = [
        "visit.office",
        "visit.drawn",
        "visit.recorded",
        "visit.coverage",
        "visit.satisfaction",
        "visit.fulfilment",
        "visit.notices",
    ]

    def row(name: str, f: dict, cls: str | None = None) -> html.Tr:
        return html.Tr(
            [
                html.Td(name),
                html.Td(num(f["drawn"], lang), className="num"),
                html.Td(num(f["recorded"], lang), className="num"),
                html.Td(rate(f["coverage"], lang), className="num"),
                html.Td(_mean(f, lang), className="num"),
                html.Td(rate(f["fulfilment"], lang), className="num"),
                html.Td(num(f["notices"], lang), className="num"),
            ],
            className=cls,
        )

    return html.Table(
        className="ranking compact",
        children=[
            html.Thead(html.Tr([html.Th(t(k, lang)) for k in head])),
            html.Tbody([*(row(f["label"], f) for f in by.values()), row(t("visit.total", lang), total, "total")]),
        ],
    )


def _visits(got: list[dict], lang: str, link_cases: bool) -> html.Table:
    head = [
        "visit.case",
        "visit.office",
        "visit.visitor",
        "visit.status",
        "visit.date",
        "visit.reached",
        "visit.score",
        "visit.fulfilled",
        "visit.complaint",
        "visit.notice",
    ]
    yes, no = t("visit.yes", lang), t("visit.no", lang)

    def case(v: dict):
        return dcc.Link(v["case_no"], href=f"/case/{v['office_code']}/{v['case_no']}") if link_cases else v["case_no"]

    return html.Table(
        className="ranking compact visits",
        children=[
            html.Thead(html.Tr([html.Th(t(k, lang)) for k in head])),
            html.Tbody(
                [
                    html.Tr(
                        [
                            html.Td(case(v), className="mono"),
                            html.Td(v["office_name"]),
                            html.Td(v["visitor_name"]),
                            html.Td(t("visit.done" if v["recorded_at"] else "visit.pending", lang)),
                            html.Td(v["visited_on"] or "—"),
                            html.Td("—" if v["reached"] is None else (yes if v["reached"] else no)),
                            html.Td(num(v["satisfaction"], lang) if v["satisfaction"] is not None else "—"),
                            html.Td(t(f"visit.fulfilment.{v['fulfilment']}", lang) if v["fulfilment"] else "—"),
                            html.Td(v["complaint"] or "—"),
                            html.Td(
                                dcc.Link(v["notice_id"], href=f"/rectification/{v['notice_id']}")
                                if v["notice_id"] and link_cases
                                else (v["notice_id"] or "—")
                            ),
                        ],
                        className="overdue" if v["notice_id"] else None,
                    )
                    for v in got
                ]
            ),
        ],
    )


def _form(got: list[dict], lang: str) -> html.Section:
    """The record form: every input is in the page (a callback fires only when all exist); a user
    with nothing to record sees it hidden."""
    mine = [v for v in got if v["may_record"]]
    options = [
        {
            "label": f"{v['case_no']} · {v['office_name']}"
            + (f" · {t('visit.fulfilled', lang)}" if v["mediated"] else ""),
            "value": f"{v['plan_id']}|{v['office_code']}|{v['case_no']}",
        }
        for v in mine
    ]
    yes_no = [{"label": t("visit.yes", lang), "value": "yes"}, {"label": t("visit.no", lang), "value": "no"}]
    return html.Section(
        className="card rect-form",
        style=None if mine else {"display": "none"},
        children=[
            html.H3(t("visit.form", lang)),
            html.Label(t("visit.pick", lang), htmlFor=ids.VISIT_PICK),
            dropdown(lang, id=ids.VISIT_PICK, options=options, clearable=True),
            html.Label(t("visit.reached", lang), htmlFor=ids.VISIT_REACHED),
            dcc.RadioItems(id=ids.VISIT_REACHED, options=yes_no, inline=True),
            html.Label(t("visit.score", lang), htmlFor=ids.VISIT_SATISFACTION),
            dcc.RadioItems(
                id=ids.VISIT_SATISFACTION, options=[{"label": str(k), "value": k} for k in range(1, 6)], inline=True
            ),
            html.Label(t("visit.fulfilled", lang), htmlFor=ids.VISIT_FULFILMENT),
            dcc.RadioItems(
                id=ids.VISIT_FULFILMENT,
                options=[{"label": t(f"visit.fulfilment.{k}", lang), "value": k} for k in ("yes", "partly", "no")],
                inline=True,
            ),
            html.Label(t("visit.complaint", lang), htmlFor=ids.VISIT_COMPLAINT),
            dcc.Textarea(id=ids.VISIT_COMPLAINT, style={"width": "100%", "height": "4em"}, maxLength=2000),
            html.Label(t("visit.date", lang), htmlFor=ids.VISIT_DATE),
            dcc.DatePickerSingle(id=ids.VISIT_DATE, display_format="YYYY-MM-DD", date=dt.date.today().isoformat()),
            html.Button(t("visit.record", lang), id=ids.VISIT_RECORD, n_clicks=0),
            html.Div(id=ids.VISIT_MESSAGE),
        ],
    )


def view(req: Request) -> html.Section:
    lang = req.lang
    got = vv.readable(req.viewer)
    link_cases = req.viewer.user.role != "inspector"
    figures = got["figures"]
    for f in (figures or {}).values():
        f["label"] = t("visit.own", lang).format(name=f["office_name"]) if f["own"] else f["office_name"]
    return html.Section(
        className="card",
        id=ids.VISIT_LIST,
        children=[
            html.H2(t("visit.title", lang)),
            html.P(t("visit.intro", lang), className="note"),
            html.H3(t("visit.plans", lang)),
            _plans(got["plans"], lang) if got["plans"] else html.P(t("visit.none", lang)),
            *(
                [
                    html.H3(t("visit.figures", lang)),
                    html.Div(
                        className="two-col",
                        children=[
                            dcc.Graph(
                                figure=charts.visit_rates(figures, lang=lang, palette=req.palette),
                                config=charts.graph_config(lang),
                            ),
                            dcc.Graph(
                                figure=charts.satisfaction_bars(
                                    got["total"]["satisfaction"]["distribution"], lang=lang, palette=req.palette
                                ),
                                config=charts.graph_config(lang),
                            ),
                        ],
                    ),
                    _figures(figures, got["total"], lang),
                    html.P(t("visit.interval_note", lang), className="note"),
                ]
                if figures
                else []
            ),
            _form(got["visits"], lang),
            html.H3(t("visit.list", lang)),
            _visits(got["visits"], lang, link_cases) if got["visits"] else html.P(t("visit.none", lang)),
        ],
    )


PAGES = [Page("/visits", "visits", view, nav="nav.visits", order=48)]


def callbacks(app, ctx: Context) -> None:
    @app.callback(
        Output(ids.VISIT_MESSAGE, "children"),
        Input(ids.VISIT_RECORD, "n_clicks"),
        State(ids.VISIT_PICK, "value"),
        State(ids.VISIT_REACHED, "value"),
        State(ids.VISIT_SATISFACTION, "value"),
        State(ids.VISIT_FULFILMENT, "value"),
        State(ids.VISIT_COMPLAINT, "value"),
        State(ids.VISIT_DATE, "date"),
        State(ids.LANG, "value"),
        prevent_initial_call=True,
    )
    def _record(clicks, pick, reached, satisfaction, fulfilment, complaint, day, lang):
        lang = inputs.language(lang)
        if not clicks:
            return no_update
        if not policy.require(ctx.ops, actor=current_user.user, action="visits", what="record a visit"):
            return html.P(t("visit.refused", lang), className="error")
        plan_id, office, case_no = ((inputs.text(pick, "visit", limit=300) or "").split("|") + ["", ""])[:3]
        if not case_no:
            return html.P(t("visit.pick_missing", lang), className="error")
        reached = inputs.choice(reached, "reached", ("yes", "no"))
        if reached is None:
            return html.P(t("visit.reached_missing", lang), className="error")
        score = inputs.whole(satisfaction, "satisfaction", low=1, high=5) if satisfaction is not None else None
        kept = inputs.choice(fulfilment, "fulfilment", ("yes", "partly", "no"))
        visited = inputs.date(day, "visit date")
        if visited is None:
            return html.P(t("visit.date_missing", lang), className="error")
        try:
            got = vv.record(
                ctx.viewer(),
                plan_id,
                office,
                case_no,
                reached=reached == "yes",
                satisfaction=score,
                fulfilment=kept,
                complaint=inputs.text(complaint, "complaint", limit=2000),
                visited_on=visited,
            )
        except PermissionError:
            return html.P(t("visit.refused", lang), className="error")
        except VisitError as exc:
            return html.P(str(exc), className="error")
        if got["notice_id"]:
            return html.P(t("visit.notice_opened", lang).format(notice=got["notice_id"]), className="ok")
        return html.P(t("visit.recorded_ok", lang), className="ok")
