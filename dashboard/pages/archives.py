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

from access import policy
from dashboard import data, ids, inputs
from dashboard import inspection_views as iv
from dashboard.context import Context, Request
from dashboard.i18n import beijing_day, t
from dashboard.inspector_forms import ingest_result, inspector_block
from dashboard.page import Page
from dashboard.widgets import case_href, grid_words
from ingest.contract import default_contract
from inspection.checklist import veto_labels
from inspection.plans import recorded_appraisals

GRID_WIDTHS = {"case_no": 210, "case_kind": 170, "office_code": 130, "name": 150, "closing_type": 140}
PAGE_ROWS = 100  # rows the server sends per grid request


def assigned_rows(v, ops, lang: str) -> list[dict]:
    """The inspector's assigned archives with their status, pending first (read through the scoped runner)."""
    frame = data.assigned_archives(v.runner())
    rows = (
        frame.with_columns([frame[c].cast(str) for c in ("accepted_date", "closed_date")]).to_dicts()
        if frame.height
        else []
    )
    done = {(o, c) for _d, o, c in recorded_appraisals(ops, v.user.scope_code or "")}
    contract = default_contract()
    for r in rows:
        for col in ("case_kind", "closing_type"):  # shown by name, never by code
            r[col] = contract.label(col, r[col], lang) if r[col] else r[col]
        r["status"] = t("archives.done" if (r["office_code"], r["case_no"]) in done else "archives.pending", lang)
        r["case_href"] = case_href(r["office_code"], r["case_no"])
    rows.sort(key=lambda r: (r["status"] == t("archives.done", lang), r["office_code"], r["case_no"]))
    return rows


TEXT_TESTS = {
    "contains": lambda v, f: f in v,
    "notContains": lambda v, f: f not in v,
    "equals": lambda v, f: v == f,
    "notEqual": lambda v, f: v != f,
    "startsWith": lambda v, f: v.startswith(f),
    "endsWith": lambda v, f: v.endswith(f),
}


def rows_page(rows: list[dict], request: object, columns: tuple[str, ...]) -> dict:
    """One page of `rows` for an AG Grid infinite-row-model request: filtered (text conditions,
    case-insensitive), sorted, sliced on the server; at most PAGE_ROWS rows per answer."""
    req = inputs.mapping(request, "grid request")
    start = inputs.whole(req.get("startRow"), "startRow", default=0)
    end = min(start + PAGE_ROWS, max(start, inputs.whole(req.get("endRow"), "endRow", default=start + PAGE_ROWS)))
    for col, cond in inputs.mapping(req.get("filterModel"), "filterModel").items():
        cond = inputs.mapping(cond, f"filter of {col}")
        if col not in columns:
            raise inputs.BadRequest(f"unknown column {str(col)[:40]!r}", "未知的列")
        kind = inputs.choice(cond.get("type"), f"filter of {col}", TEXT_TESTS) or "contains"
        wanted = (inputs.text(cond.get("filter"), f"filter of {col}", limit=200) or "").lower()
        rows = [r for r in rows if TEXT_TESTS[kind](str(r.get(col) or "").lower(), wanted)]
    for order in reversed(inputs.items(req.get("sortModel"), "sortModel")):
        order = inputs.mapping(order, "sortModel")
        col = inputs.choice(order.get("colId"), "sort column", columns)
        rows = sorted(rows, key=lambda r: str(r.get(col) or ""), reverse=order.get("sort") == "desc")
    return {"rowData": rows[start:end], "rowCount": len(rows)}


def archives_page(req: Request) -> html.Div:
    v, lang, ops = req.viewer, req.lang, req.ctx.ops
    rows = assigned_rows(v, ops, lang)
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
            dag.AgGrid(  # rows come page by page from the server (_archive_rows)
                id=ids.ARCHIVES_TABLE,
                rowModelType="infinite",
                className="ag-theme-alpine",
                columnSize="responsiveSizeToFit",
                columnDefs=[
                    {
                        "field": c,
                        "headerName": t(h, lang),
                        "filter": "agTextColumnFilter",
                        "filterParams": {"buttons": ["apply", "reset"], "maxNumConditions": 1},
                        **({"cellRenderer": "CaseLink"} if c == "case_no" else {}),
                        **({"minWidth": GRID_WIDTHS[c]} if c in GRID_WIDTHS else {}),  # whole, never cut
                    }
                    for c, h in cols
                ],
                defaultColDef={"sortable": True, "resizable": True},
                dashGridOptions={
                    "cacheBlockSize": PAGE_ROWS,
                    "infiniteInitialRowCount": 1,
                    "pagination": True,
                    **grid_words(lang),
                    "paginationPageSize": PAGE_ROWS,
                },
                style={"height": "560px"},
            ),
        ]
    )


PAGES = [Page("/archives", "archives", archives_page, nav="nav.archives", order=5, home=True)]


ARCHIVE_COLUMNS = (
    "status",
    "office_code",
    "name",
    "case_no",
    "case_kind",
    "accepted_date",
    "closed_date",
    "closing_type",
)


def callbacks(app, ctx: Context) -> None:
    ops, store = ctx.ops, ctx.store

    @app.callback(
        Output(ids.ARCHIVES_TABLE, "getRowsResponse"),
        Input(ids.ARCHIVES_TABLE, "getRowsRequest"),
        State(ids.LANG, "value"),
        prevent_initial_call=True,
    )
    def _archive_rows(request, lang):
        if not request:
            return no_update
        v = ctx.viewer()
        if not policy.require(ops, actor=v.user, action="archives", what="assigned archives"):
            return {"rowData": [], "rowCount": 0}
        lang = inputs.choice(lang, "language", ("zh", "en")) or "zh"
        return rows_page(assigned_rows(v, ops, lang), request, ARCHIVE_COLUMNS)

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
        Output({"type": ids.APPRAISAL_NOTE, "item": ALL}, "value"),
        Output({"type": ids.APPRAISAL_ITEM_FIELD, "item": ALL}, "style"),
        Output(ids.APPRAISAL_CHECKLIST, "children"),
        Input(ids.APPRAISAL_ARCHIVE, "value"),
        State({"type": ids.APPRAISAL_ITEM, "item": ALL}, "id"),
        State(ids.LANG, "value"),
    )
    def _load(archive, items, lang):
        """The online form shows the items of the chosen archive's checklist, with what is recorded
        for it (empty when nothing is; an item scored by deduction shows the defects counted)."""
        lang = lang or "zh"
        got = iv.existing(ops, current_user.user, archive)  # asks the policy
        items = [i if isinstance(i, dict) else {} for i in (inputs.items(items, "items") or [])]
        checklist = iv.archive_checklist(ops, archive if isinstance(archive, str) else None)
        shown = [None if checklist.item(str(i.get("item"))) else {"display": "none"} for i in items]
        said = t("insp.scored_under", lang).format(
            version=checklist.version, title=f"（{checklist.title}）" if checklist.title else ""
        )
        if got is None:
            return [None] * len(items), [], dt.date.today().isoformat(), "", [None] * len(items), shown, said
        entered = {**got["scores"], **(got.get("defects") or {})}
        scores = [float(entered[i["item"]]) if entered.get(i["item"]) is not None else None for i in items]
        note = t("insp.recorded_before", lang).format(
            day=beijing_day(got["recorded_at"]), who=got["recorded_by"], total=got["total"]
        )
        notes = [(got.get("notes") or {}).get(i["item"]) for i in items]
        return scores, [veto_labels().get(v, v) for v in got["veto"]], got["inspected_at"], note, notes, shown, said

    def online(archive, scores, veto, day, notes, lang, items):
        user = current_user.user
        notes = [inputs.text(n, "note", limit=500) for n in (inputs.items(notes, "notes") or [])]
        item_ids = [
            inputs.text(i.get("item") if isinstance(i, dict) else None, "item", limit=64)
            for i in (inputs.items(items, "items") or [])
        ]
        return recorded(
            lambda: iv.record_online(ops, store, user, archive, scores, veto, day, notes, item_ids),
            lang or "zh",
            "online-entry.csv",
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
        State({"type": ids.APPRAISAL_NOTE, "item": ALL}, "value"),
        State(ids.LANG, "value"),
        State({"type": ids.APPRAISAL_ITEM, "item": ALL}, "id"),
        prevent_initial_call=True,
    )
    def _online(clicks, archive, scores, veto, day, notes, lang, items):
        if not clicks or not archive:
            return no_update, False, no_update
        got = iv.existing(ops, current_user.user, archive)
        if got is not None:  # overwriting a recorded result asks first
            return no_update, True, t("insp.overwrite_ask", lang or "zh").format(total=got["total"])
        return online(archive, scores, veto, day, notes, lang, items), False, no_update

    @app.callback(
        Output(ids.APPRAISAL_RESULT, "children", allow_duplicate=True),
        Input(ids.APPRAISAL_OVERWRITE, "submit_n_clicks"),
        State(ids.APPRAISAL_ARCHIVE, "value"),
        State({"type": ids.APPRAISAL_ITEM, "item": ALL}, "value"),
        State(ids.APPRAISAL_VETO, "value"),
        State(ids.APPRAISAL_DATE, "value"),
        State({"type": ids.APPRAISAL_NOTE, "item": ALL}, "value"),
        State(ids.LANG, "value"),
        State({"type": ids.APPRAISAL_ITEM, "item": ALL}, "id"),
        prevent_initial_call=True,
    )
    def _overwrite(clicks, archive, scores, veto, day, notes, lang, items):
        if not clicks or not archive:
            return no_update
        return online(archive, scores, veto, day, notes, lang, items)
