"""Rectification notices (整改): the list of the user's offices' notices and one notice's page, where
the office answers and the level above returns or accepts (issue 18).

Every step goes through `dashboard.rectification_views.take_step`, which the permission policy
decides on the server; the buttons drawn are only a convenience.
"""

from __future__ import annotations

from dash import Input, Output, State, dcc, html, no_update
from dash import ctx as dash_ctx
from flask_login import current_user

from access import policy
from dashboard import ids, inputs, widgets
from dashboard import rectification_views as rv
from dashboard.context import Context, Request
from dashboard.i18n import num, t, when
from dashboard.page import Page
from ingest.contract import default_contract
from inspection.rectification import RectificationError


def _veto(code: str, lang: str) -> str:
    return default_contract().label("veto", code, lang) or code


def _status(n: dict, lang: str) -> html.Span:
    words = t(f"rect.status.{n['status']}", lang)
    if n.get("overdue"):
        return html.Span([words, " · ", html.Strong(t("rect.overdue", lang), className="warning")])
    return html.Span(words)


def list_view(req: Request) -> html.Section:
    lang = req.lang
    got = rv.notices(req.viewer)
    overdue = sum(1 for n in got if n["overdue"])
    head = ["rect.notice", "rect.office", "rect.plan", "rect.status", "rect.due", "rect.archives", "rect.points_lost"]
    rows = [
        html.Tr(
            [
                html.Td(dcc.Link(n["notice_id"], href=f"/rectification/{n['notice_id']}")),
                html.Td(n["office_name"]),
                html.Td(n["plan_title"]),
                html.Td(_status(n, lang)),
                html.Td(n["due_date"]),
                html.Td(num(len(n["findings"]), lang), className="num"),
                html.Td("—" if n["kind"] == "visit" else num(n["points_lost"], lang, 1), className="num"),
            ],
            className="overdue" if n["overdue"] else None,
        )
        for n in got
    ]
    return html.Section(
        className="card",
        id=ids.RECT_LIST,
        children=[
            html.H2(t("rect.title", lang)),
            html.P(t("rect.intro", lang), className="note"),
            html.P(t("rect.overdue_count", lang).format(n=overdue), className="warning") if overdue else None,
            html.Table(
                className="ranking compact",
                children=[html.Thead(html.Tr([html.Th(t(k, lang)) for k in head])), html.Tbody(rows)],
            )
            if got
            else html.P(t("rect.none", lang)),
        ],
    )


def _lost(items: list[dict], lang: str, colon: str) -> html.Ul:
    """Each item that lost points, with the inspector's note on it when one was given."""
    return html.Ul(
        className="plain",
        children=[
            html.Li(
                [
                    f"{i['zh'] if lang == 'zh' else i['en']} −{num(i['lost'], lang, 1)}",
                    html.Span(f"{colon}{i['note']}", className="inspector-note") if i.get("note") else None,
                ]
            )
            for i in items
        ],
    )


def _visit_findings(n: dict, lang: str) -> html.Table:
    """What the return visit found (a notice opened by a visit, inspection/visits.py)."""
    head = ("visit.case", "visit.date", "visit.score", "visit.fulfilled", "visit.complaint", "visit.reasons")
    return html.Table(
        className="ranking compact",
        children=[
            html.Thead(html.Tr([html.Th(t(k, lang)) for k in head])),
            html.Tbody(
                [
                    html.Tr(
                        [
                            html.Td(a["case_no"], className="mono"),
                            html.Td(a["visit"]["visited_on"]),
                            html.Td(num(a["visit"]["satisfaction"], lang) if a["visit"]["satisfaction"] else "—"),
                            html.Td(
                                t(f"visit.fulfilment.{a['visit']['fulfilment']}", lang)
                                if a["visit"]["fulfilment"]
                                else t("visit.not_mediated", lang)
                            ),
                            html.Td(a["visit"]["complaint"] or "—"),
                            html.Td("、".join(t(f"visit.reason.{r}", lang) for r in a["visit"]["reasons"])),
                        ]
                    )
                    for a in n["findings"]
                ]
            ),
        ],
    )


def detail_block(n: dict, lang: str) -> html.Div:
    colon = "：" if lang == "zh" else ": "
    findings = (
        _visit_findings(n, lang)
        if n["kind"] == "visit"
        else html.Table(
            className="ranking compact",
            children=[
                html.Thead(
                    html.Tr(
                        [
                            html.Th(t(k, lang))
                            for k in ("rect.case_no", "rect.grade", "rect.total", "rect.veto", "rect.items_lost")
                        ]
                    )
                ),
                html.Tbody(
                    [
                        html.Tr(
                            [
                                html.Td(a["case_no"], className="mono"),
                                html.Td((a.get("grade_name") or {}).get(lang) or t(f"rect.grade.{a['grade']}", lang)),
                                html.Td(num(a["total"], lang, 1), className="num"),
                                html.Td("、".join(_veto(v, lang) for v in a["veto"]) or "—"),
                                html.Td(_lost(a["lost"], lang, colon) if a["lost"] else "—"),
                            ]
                        )
                        for a in n["findings"]
                    ]
                ),
            ],
        )
    )
    steps = html.Ol(
        [
            html.Li(
                [
                    html.Strong(t(f"rect.event.{e['action']}", lang)),
                    f" · {when(e['at'], lang)} · {e['actor']}",
                    html.Blockquote(e["text"]) if e["text"] else None,
                    html.Ul([html.Li(f"{a['name']} ({num(a['bytes'] / 1024, lang, 0)} KB)") for a in e["attachments"]])
                    if e["attachments"]
                    else None,
                ]
            )
            for e in n["events"]
        ]
    )
    return html.Div(
        [
            html.P(
                [
                    t("rect.status", lang),
                    colon,
                    _status(n, lang),
                    " · ",
                    t("rect.due", lang),
                    colon,
                    n["due_date"],
                    t("rect.weekdays_only", lang) if n.get("due_weekdays_only") else "",
                ]
            ),
            html.H3(t("visit.finding" if n["kind"] == "visit" else "rect.findings", lang)),
            findings,
            html.H3(t("rect.history", lang)),
            steps,
        ]
    )


def _form(n: dict, lang: str) -> html.Div | None:
    if not n["may"]:
        return None
    buttons = {"respond": ids.RECT_RESPOND, "return": ids.RECT_RETURN, "accept": ids.RECT_ACCEPT}
    return html.Div(
        className="rect-form",
        children=[
            html.Label(t("rect.text", lang), htmlFor=ids.RECT_TEXT),
            dcc.Textarea(id=ids.RECT_TEXT, style={"width": "100%", "height": "6em"}, maxLength=4000),
            dcc.Upload(
                id=ids.RECT_UPLOAD,
                multiple=True,
                children=html.Div(t("rect.upload", lang)),
                className="upload",
                style=None if "respond" in n["may"] else {"display": "none"},
            ),
            # Every button is in the page (a callback fires only when all its inputs exist); those the
            # policy does not allow now are hidden, and the server asks the policy again anyway.
            *[
                html.Button(
                    t(f"rect.{step}", lang),
                    id=button,
                    n_clicks=0,
                    style=None if step in n["may"] else {"display": "none"},
                )
                for step, button in buttons.items()
            ],
        ],
    )


def detail_view(req: Request) -> html.Section | html.Div:
    lang = req.lang
    n = rv.one(req.viewer, req.params["notice_id"])
    if n is None:
        return widgets.denied(lang)
    return html.Section(
        className="card",
        children=[
            dcc.Link(t("rect.back", lang), href="/rectification"),
            html.H2(f"{t('rect.notice', lang)} {n['notice_id']} · {n['office_name']}"),
            dcc.Store(id=ids.RECT_NOTICE, data=n["notice_id"]),
            html.Div(id=ids.RECT_DETAIL, children=detail_block(n, lang)),
            _form(n, lang),
            html.Div(id=ids.RECT_MESSAGE),
        ],
    )


PAGES = [
    Page("/rectification", "rectification", list_view, nav="nav.rectification", order=45),
    Page("/rectification/<notice_id>", "rectification", detail_view, order=46),
]


def callbacks(app, ctx: Context) -> None:
    @app.callback(
        Output(ids.RECT_MESSAGE, "children"),
        Output(ids.RECT_DETAIL, "children"),
        Input(ids.RECT_RESPOND, "n_clicks"),
        Input(ids.RECT_RETURN, "n_clicks"),
        Input(ids.RECT_ACCEPT, "n_clicks"),
        State(ids.RECT_NOTICE, "data"),
        State(ids.RECT_TEXT, "value"),
        State(ids.RECT_UPLOAD, "contents"),
        State(ids.RECT_UPLOAD, "filename"),
        State(ids.LANG, "value"),
        prevent_initial_call=True,
    )
    def _step(_respond, _return, _accept, notice_id, text, contents, filenames, lang):
        lang = inputs.language(lang)
        step = {ids.RECT_RESPOND: "respond", ids.RECT_RETURN: "return", ids.RECT_ACCEPT: "accept"}.get(
            dash_ctx.triggered_id or ""
        )
        if not policy.require(ctx.ops, actor=current_user.user, action="rectification", what="rectification step"):
            return html.P(t("rect.refused", lang), className="error"), no_update
        if step is None or not notice_id:
            return no_update, no_update
        notice_id = inputs.text(notice_id, "notice", limit=120) or ""
        text = inputs.text(text, "text", limit=4000)
        viewer = ctx.viewer()
        try:
            files = rv.decode_uploads(
                inputs.items(contents, "attachments") if contents else [],
                inputs.items(filenames, "attachment names") if filenames else [],
            )
            got = rv.take_step(viewer, notice_id, step, text=text, attachments=files)
        except PermissionError:
            return html.P(t("rect.refused", lang), className="error"), no_update
        except RectificationError as exc:
            return html.P(str(exc), className="error"), no_update
        return html.P(t("rect.done", lang), className="ok"), detail_block(rv.one(viewer, got["notice_id"]) or got, lang)
