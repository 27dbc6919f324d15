"""An inspector's assigned archives: progress, checklist download, upload and online entry.

Every action asks the permission policy on the server (`dashboard.inspection_views`): an inspector
records only the archives assigned to them, as themselves, through the same validated ingest as
`ipdash ingest appraisals`.
"""

from __future__ import annotations

import base64
import datetime as dt

import dash
import dash_ag_grid as dag
from dash import ALL, Input, Output, State, dcc, html, no_update
from flask_login import current_user

from dashboard import data, ids, inputs
from dashboard import inspection_views as iv
from dashboard.context import Context, Request
from dashboard.i18n import t
from dashboard.inspector_forms import ingest_result, inspector_block
from dashboard.registry import Page
from dashboard.widgets import case_href
from inspection.checklist import veto_labels
from inspection.plans import recorded_appraisals


def archives_page(req: Request) -> html.Div:
    v, lang, ops = req.viewer, req.lang, req.ctx.ops
    frame = data.assigned_archives(v.runner())
    rows = (
        frame.with_columns([frame[c].cast(str) for c in ("accepted_date", "closed_date")]).to_dicts()
        if frame.height
        else []
    )
    done = {(o, c) for _d, o, c in recorded_appraisals(ops, v.user.scope_code or "")}
    for r in rows:
        r["status"] = t("archives.done" if (r["office_code"], r["case_no"]) in done else "archives.pending", lang)
        r["case_href"] = case_href(r["office_code"], r["case_no"])
    rows.sort(key=lambda r: (r["status"] == t("archives.done", lang), r["office_code"], r["case_no"]))
    cols = [
        ("status", "archives.status"),
        ("office_code", "case.office_code"),
        ("name", "case.office_name"),
        ("case_no", "case.case_no"),
        ("case_kind", "case.case_kind"),
        ("accepted_date", "case.accepted_date"),
        ("closed_date", "case.closed_date"),
        ("closing_type", "case.closing_type"),
    ]
    pending = sum(1 for r in rows if r["status"] == t("archives.pending", lang))
    return html.Div(
        [
            html.H2(t("archives.title", lang)),
            html.P(
                t("archives.progress", lang).format(done=len(rows) - pending, total=len(rows), pending=pending),
                id=ids.ARCHIVES_PROGRESS,
                className="count",
            ),
            inspector_block(ops, req.ctx.store, v.user.scope_code or "", lang),
            dag.AgGrid(
                id=ids.ARCHIVES_TABLE,
                rowData=rows,
                className="ag-theme-alpine",
                columnSize="responsiveSizeToFit",
                columnDefs=[
                    {
                        "field": c,
                        "headerName": t(h, lang),
                        **({"cellRenderer": "CaseLink"} if c == "case_no" else {}),
                    }
                    for c, h in cols
                ],
                defaultColDef={"sortable": True, "filter": True, "resizable": True},
                dashGridOptions={"domLayout": "autoHeight"},
            ),
        ]
    )


PAGES = [Page("/archives", "archives", archives_page, nav="nav.archives", order=5, home=True)]


def callbacks(app, ctx: Context) -> None:
    ops, store = ctx.ops, ctx.store

    def recorded(got, lang: str, name: str):
        """What an ingest of appraisals did, or why it could not (naming the file)."""
        try:
            return ingest_result(got(), lang)
        except iv.Refused:
            return html.P(t("insp.inspectors_only", lang), className="error")
        except iv.FAILURES as exc:
            return html.P(f"{name}: {exc}", className="error")

    @app.callback(
        Output(ids.CHECKLIST_DOWNLOAD, "data"),
        Input({"type": ids.CHECKLIST_DOWNLOAD_BUTTON, "plan": ALL}, "n_clicks"),
        prevent_initial_call=True,
    )
    def _checklist(clicks):
        trigger = dash.ctx.triggered_id
        if not any(clicks or []) or not isinstance(trigger, dict):
            return no_update
        try:
            name, content = iv.checklist_export(
                ops, store, current_user.user, inputs.text(trigger.get("plan"), "plan") or ""
            )
        except iv.FAILURES:  # a refusal (iv.Refused) is one of them, already audited
            return no_update
        return dcc.send_bytes(content, name)

    @app.callback(
        Output(ids.CHECKLIST_UPLOAD_RESULT, "children"),
        Input(ids.CHECKLIST_UPLOAD, "contents"),
        State(ids.CHECKLIST_UPLOAD, "filename"),
        State(ids.LANG, "value"),
        prevent_initial_call=True,
    )
    def _upload(contents, filename, lang):
        lang = lang or "zh"
        if not contents:
            return no_update
        contents = inputs.text(contents, "contents", limit=64 << 20)
        filename = inputs.text(filename, "file name", limit=255)
        try:
            content = base64.b64decode((contents or "").split(",", 1)[1])
        except (IndexError, ValueError):
            return html.P(t("insp.upload_unreadable", lang), className="error")
        return recorded(
            lambda: iv.record_upload(ops, store, current_user.user, filename, content), lang, iv.upload_name(filename)
        )

    @app.callback(
        Output({"type": ids.APPRAISAL_ITEM, "item": ALL}, "value"),
        Output(ids.APPRAISAL_VETO, "value"),
        Output(ids.APPRAISAL_DATE, "value"),
        Output(ids.APPRAISAL_EXISTING, "children"),
        Input(ids.APPRAISAL_ARCHIVE, "value"),
        State({"type": ids.APPRAISAL_ITEM, "item": ALL}, "id"),
        State(ids.LANG, "value"),
    )
    def _load(archive, items, lang):
        """The online form shows what is recorded for the chosen archive (empty when nothing is)."""
        got = iv.existing(ops, current_user.user, archive)
        if got is None:
            return [None] * len(items), [], dt.date.today().isoformat(), ""
        scores = [
            float(got["scores"].get(i["item"])) if got["scores"].get(i["item"]) is not None else None for i in items
        ]
        note = t("insp.recorded_before", lang or "zh").format(
            day=got["recorded_at"][:10], who=got["recorded_by"], total=got["total"]
        )
        return scores, [veto_labels().get(v, v) for v in got["veto"]], got["inspected_at"], note

    def online(archive, scores, veto, day, lang):
        user = current_user.user
        return recorded(
            lambda: iv.record_online(ops, store, user, archive, scores, veto, day), lang or "zh", "online-entry.csv"
        )

    @app.callback(
        Output(ids.APPRAISAL_RESULT, "children"),
        Output(ids.APPRAISAL_OVERWRITE, "displayed"),
        Output(ids.APPRAISAL_OVERWRITE, "message"),
        Input(ids.APPRAISAL_SUBMIT, "n_clicks"),
        State(ids.APPRAISAL_ARCHIVE, "value"),
        State({"type": ids.APPRAISAL_ITEM, "item": ALL}, "value"),
        State(ids.APPRAISAL_VETO, "value"),
        State(ids.APPRAISAL_DATE, "value"),
        State(ids.LANG, "value"),
        prevent_initial_call=True,
    )
    def _online(clicks, archive, scores, veto, day, lang):
        if not clicks or not archive:
            return no_update, False, no_update
        got = iv.existing(ops, current_user.user, archive)
        if got is not None:  # overwriting a recorded result asks first
            return no_update, True, t("insp.overwrite_ask", lang or "zh").format(total=got["total"])
        return online(archive, scores, veto, day, lang), False, no_update

    @app.callback(
        Output(ids.APPRAISAL_RESULT, "children", allow_duplicate=True),
        Input(ids.APPRAISAL_OVERWRITE, "submit_n_clicks"),
        State(ids.APPRAISAL_ARCHIVE, "value"),
        State({"type": ids.APPRAISAL_ITEM, "item": ALL}, "value"),
        State(ids.APPRAISAL_VETO, "value"),
        State(ids.APPRAISAL_DATE, "value"),
        State(ids.LANG, "value"),
        prevent_initial_call=True,
    )
    def _overwrite(clicks, archive, scores, veto, day, lang):
        if not clicks or not archive:
            return no_update
        return online(archive, scores, veto, day, lang)
