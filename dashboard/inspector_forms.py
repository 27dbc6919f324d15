"""An inspector's checklist card: download per standing draw, upload, online form; the ingest summary."""

from __future__ import annotations

import datetime as dt

from dash import dcc, html

from access.opstore import OpStore
from dashboard import ids
from dashboard.i18n import t
from dashboard.widgets import dropdown, field, number_input
from ingest.contract import ChecklistItem, Veto, default_contract
from inspection.plans import (
    archives_of_inspector,
    standing_assignments,
)
from inspection.results import standing_draw
from queries.store import Store


def inspector_block(ops: OpStore, store: Store, inspector_id: str, lang: str) -> html.Section:
    """Checklist download per standing draw, the workbook upload and the online form."""
    draws = standing_assignments(ops, inspector_id)
    archives = archives_of_inspector(ops, inspector_id)
    contract = default_contract()
    options = []
    versions: list[str] = []  # the checklists of the inspector's plans: the form has their items
    for plan_id, draw_id in draws:
        manifest = standing_draw(ops, plan_id)["manifest"]
        version = contract.checklist_of(manifest["plan"].get("checklist")).version
        versions += [version] if version not in versions else []
        mine = {a["office_code"] for a in manifest["assignments"] if a["inspector_id"] == inspector_id}
        options += [
            {"label": f"{s['office_code']} · {s['case_no']}", "value": f"{draw_id}|{s['office_code']}|{s['case_no']}"}
            for s in manifest["sample"]
            if s["office_code"] in mine
        ]
    return html.Section(
        className="card",
        id=ids.CHECKLIST_CARD,
        children=[
            html.H3(t("insp.checklist", lang)),
            html.P(t("insp.assigned_to_you", lang).format(archives=len(archives)), className="note"),
            html.Div(
                className="buttons",
                children=[
                    html.Button(
                        t("insp.download_checklist_draw_id", lang).format(draw_id=draw_id),
                        id={"type": ids.CHECKLIST_DOWNLOAD_BUTTON, "plan": plan_id},
                        n_clicks=0,
                        className="button secondary",
                    )
                    for plan_id, draw_id in draws
                ],
            ),
            dcc.Download(id=ids.CHECKLIST_DOWNLOAD),
            html.H3(t("insp.upload_filled_checklist", lang)),
            dcc.Upload(
                id=ids.CHECKLIST_UPLOAD,
                className="upload",
                multiple=False,
                max_size=20 * 2**20,
                children=html.Div(t("insp.drop_click_choose_xlsx", lang)),
            ),
            html.Div(id=ids.CHECKLIST_UPLOAD_RESULT, role="status"),
            html.H3(t("insp.enter_online", lang)),
            html.Div(
                className="fields",
                children=[
                    field(
                        t("insp.archive", lang),
                        dropdown(
                            lang,
                            id=ids.APPRAISAL_ARCHIVE,
                            options=options,
                            value=options[0]["value"] if options else None,
                        ),
                    ),
                    html.P(id=ids.APPRAISAL_CHECKLIST, className="note"),
                    *[item_fields(i, lang) for i in form_items(versions or [contract.checklist.version])],
                    field(
                        t("insp.veto_items", lang),
                        dcc.Checklist(
                            id=ids.APPRAISAL_VETO,
                            value=[],
                            inline=True,
                            options=[
                                {"label": v.name(lang), "value": v.zh}
                                for v in form_vetoes(versions or [contract.checklist.version])
                            ],
                        ),
                    ),
                    field(
                        t("insp.inspection_date", lang),
                        dcc.Input(id=ids.APPRAISAL_DATE, type="text", value=dt.date.today().isoformat()),
                    ),
                ],
            ),
            html.P(id=ids.APPRAISAL_EXISTING, className="note", role="status"),
            html.Button(t("insp.submit_appraisal", lang), id=ids.APPRAISAL_SUBMIT, n_clicks=0, className="button"),
            dcc.ConfirmDialog(id=ids.APPRAISAL_OVERWRITE),
            html.Div(id=ids.APPRAISAL_RESULT, role="status"),
        ],
    )


def form_items(versions: list[str]) -> list[ChecklistItem]:
    """The items of these checklist versions, once each, as the form lays them out."""
    contract = default_contract()
    wanted = [contract.checklist_of(v) for v in versions]
    return [i for i in contract.items if any(cl.item(i.id) for cl in wanted)]


def form_vetoes(versions: list[str]) -> list[Veto]:
    contract = default_contract()
    seen: dict[str, Veto] = {}
    for v in versions:
        for veto in contract.checklist_of(v).vetoes:
            seen.setdefault(veto.id, veto)
    return list(seen.values())


def item_label(item: ChecklistItem, lang: str) -> str:
    """The form's label of an item of the archive's checklist (deduction: the defects to count)."""
    if item.kind == "deduction":
        return t("insp.defects_of", lang).format(item=item.name(lang), per=f"{item.per_defect:g}", max=f"{item.max:g}")
    return f"{item.name(lang)} (≤ {item.max:g})"


def item_fields(item: ChecklistItem, lang: str) -> html.Div:
    """An item's score (or defects) and note, in one wrapper the archive's checklist shows or hides."""
    return html.Div(
        id={"type": ids.APPRAISAL_ITEM_FIELD, "item": item.id},
        className="item-fields",
        children=[
            field(
                item_label(item, lang),
                number_input(
                    {"type": ids.APPRAISAL_ITEM, "item": item.id},
                    None,
                    min=0,
                    max=None if item.kind == "deduction" else item.max,
                    step=1 if item.kind == "deduction" else "any",
                ),
            ),
            field(
                t("insp.note_for", lang).format(item=item.name(lang)),
                dcc.Textarea(
                    id={"type": ids.APPRAISAL_NOTE, "item": item.id},
                    value=None,
                    maxLength=500,
                    style={"width": "100%", "height": "3em"},
                ),
            ),
        ],
    )


def ingest_result(summary, lang: str) -> html.Div:
    c = summary.counts
    parts = [
        html.P(
            t("insp.read_rows", lang).format(
                read=c.read, loaded=c.loaded, updated=c.updated, unchanged=c.unchanged, rejected=c.rejected
            ),
            className="count",
        )
    ]
    if summary.rejects_file:
        import csv

        with open(summary.rejects_file, encoding="utf-8-sig") as fh:
            got = list(csv.reader(fh))[1:]
        parts.append(
            html.Ul(  # type: ignore[arg-type]  # P and Ul, both children
                className="rejects", children=[html.Li(f"{r[4] or ('row ' + r[2])} {r[3]}: {r[6]}") for r in got[:50]]
            )
        )
    return html.Div(parts, className="error" if c.rejected else "ok")
