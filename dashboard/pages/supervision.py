"""Supervised cases (督办): the list of the user's offices' supervised cases, and the callback of the
form on a case's page that marks or concludes a supervision (issue 18).

The form's callback asks the permission policy on the server (`supervision.manage` on the case's
office, inside `inspection.supervision`); the form drawn only for allowed users is a convenience.
"""

from __future__ import annotations

from dash import Input, Output, State, dcc, html, no_update
from dash import ctx as dash_ctx
from flask_login import current_user

from access import policy
from dashboard import ids, inputs
from dashboard import supervision_views as sv
from dashboard.context import Context, Request
from dashboard.followup import supervision_block
from dashboard.i18n import t
from dashboard.page import Page
from inspection.supervision import SupervisionError


def list_view(req: Request) -> html.Section:
    lang = req.lang
    got = sv.listed(req.viewer, as_of=req.controls.as_of_date if req.arg("as_of") else None)
    head = [
        "sup.case",
        "sup.office",
        "sup.supervisor",
        "sup.status",
        "sup.due",
        "sup.deadline",
        "sup.closed",
        "sup.note",
    ]
    rows = [
        html.Tr(
            [
                html.Td(dcc.Link(r["case_no"], href=f"/case/{r['office_code']}/{r['case_no']}"), className="mono"),
                html.Td(r["office_name"]),
                html.Td(r["supervisor_name"]),
                html.Td(t(f"sup.status.{r['status']}", lang)),
                html.Td(r["due_date"]),
                html.Td(r["deadline"] or "—"),
                html.Td(r["closed_date"] or "—"),
                html.Td(r["note"]),
            ],
            className="overdue" if r["status"] == "overdue" else None,
        )
        for r in got
    ]
    return html.Section(
        className="card",
        id=ids.SUP_LIST,
        children=[
            html.H2(t("sup.title", lang)),
            html.P(t("sup.intro", lang), className="note"),
            html.Table(
                className="ranking compact",
                children=[html.Thead(html.Tr([html.Th(t(k, lang)) for k in head])), html.Tbody(rows)],
            )
            if got
            else html.P(t("sup.none", lang)),
        ],
    )


PAGES = [Page("/supervision", "supervision", list_view, nav="nav.supervision", order=47)]


def callbacks(app, ctx: Context) -> None:
    @app.callback(
        Output(ids.SUP_MESSAGE, "children"),
        Output(ids.SUP_BLOCK, "children"),
        Input(ids.SUP_ADD, "n_clicks"),
        Input(ids.SUP_CONCLUDE, "n_clicks"),
        State(ids.SUP_CASE, "data"),
        State(ids.SUP_DUE, "date"),
        State(ids.SUP_NOTE, "value"),
        State(ids.LANG, "value"),
        prevent_initial_call=True,
    )
    def _supervise(_add, _conclude, case, due, note, lang):
        lang = inputs.language(lang)
        if not policy.require(ctx.ops, actor=current_user.user, action="supervision", what="supervision step"):
            return html.P(t("sup.refused", lang), className="error"), no_update
        step = {ids.SUP_ADD: "add", ids.SUP_CONCLUDE: "conclude"}.get(dash_ctx.triggered_id or "")
        office, _, case_no = (inputs.text(case, "case", limit=200) or "").partition("|")
        if step is None or not case_no:
            return no_update, no_update
        note = inputs.text(note, "note", limit=2000) or ""
        viewer = ctx.viewer()
        try:
            if step == "add":
                day = inputs.date(due, "due date")
                if day is None:
                    raise SupervisionError(t("sup.due_missing", lang))
                sv.mark(viewer, office, case_no, due=day, note=note)
            else:
                sv.close(viewer, office, case_no, conclusion=note)
        except PermissionError:
            return html.P(t("sup.refused", lang), className="error"), no_update
        except SupervisionError as exc:
            return html.P(str(exc), className="error"), no_update
        block = supervision_block(viewer, office, case_no, lang)
        return html.P(t("sup.done", lang), className="ok"), block.children
