"""The pre-filled checklist workbook an inspector downloads, fills offline and uploads (SPEC §4.3).

One row per archive assigned to the inspector in the plan's standing draw; the checklist items of
plan's checklist version are columns with their maximum (and, for an item scored by deduction, the
points per defect) shown above the header and enforced by data validation; the veto column offers the veto items in a drop-down; after the date, one column per
item for the inspector's note on what lost its points (the rectification notice and the released
report quote them). The header row uses the accepted
Chinese headers, so the filled workbook goes back in through `ipdash ingest appraisals`, which
checks every cell and names the cell of each problem.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import polars as pl
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from access.cells import append_row
from access.opstore import OpStore
from ingest.contract import Checklist, ChecklistItem, default_contract
from inspection.plans import PlanError
from inspection.results import plan_record, standing_draw
from queries.statements import duck_sql
from queries.store import Store, rows


def veto_labels() -> dict[str, str]:
    """Each veto item's Chinese name (the first label of `enums.veto` in ingest/contract.toml, and
    the veto items of the configured checklists)."""
    return default_contract().display["veto"]


def plan_checklist(ops: OpStore, plan_id: str) -> Checklist:
    """The checklist version the plan's archives are scored under."""
    plan = plan_record(ops, plan_id)
    return default_contract().checklist_of(json.loads(plan["spec"]).get("checklist"))


def assigned_archives(ops: OpStore, store: Store, plan_id: str, inspector_id: str) -> tuple[str, list[tuple]]:
    """(draw_id, [(office_code, office name, case_no, case_kind)]) of the archives assigned to `inspector_id`."""
    draw = standing_draw(ops, plan_id)
    manifest = draw["manifest"]
    offices = {a["office_code"] for a in manifest["assignments"] if a["inspector_id"] == inspector_id}
    if not offices:
        raise PlanError(f"inspector {inspector_id} has no archives in draw {draw['draw_id']}")
    wanted = [(s["office_code"], s["case_no"]) for s in manifest["sample"] if s["office_code"] in offices]
    with contextlib.closing(store.reader()) as con:
        con.register("wanted", pl.DataFrame(wanted, schema=["office_code", "case_no"], orient="row"))
        got = rows(
            con,
            duck_sql("inspection.wanted_archives"),
        )
    return draw["draw_id"], got


def item_header(item: ChecklistItem) -> str:
    """The item's column header: its name; for an item scored by deduction, the defects to count."""
    return f"{item.zh}（缺陷数）" if item.kind == "deduction" else item.zh


def _rule_text(item: ChecklistItem, checklist: Checklist) -> str:
    """What the row above the header says of the item: section, maximum, deduction per defect."""
    section = next((s for s in checklist.sections if item.id in s.items), None)
    where = f"{section.zh}（{section.max:g}分）· " if section else ""
    if item.kind == "deduction":
        return f"{where}满分{item.max:g}，每处扣{item.per_defect:g}分，扣完为止"
    return f"{where}满分{item.max:g}"


def write_checklist(
    path: str | Path, *, draw_id: str, inspector_id: str, archives: list[tuple], checklist: Checklist | None = None
) -> int:
    """Write the workbook of `checklist` (the plan's; the default when None); return the number of
    archive rows."""
    checklist = checklist or default_contract().checklist
    items = checklist.items
    wb = Workbook()
    ws = wb.active
    ws.title = "评查表"
    header = [
        "抽查批次",
        "办案机构代码",
        "机构名称",
        "案号",
        "案件类型",
        "评查人员",
        *[item_header(i) for i in items],
        "否决项",
        "评查日期",
        *[f"{i.zh}扣分说明" for i in items],  # the inspector's note on what lost the item's points
        "评查表版本",
    ]
    first_item = 7
    title = f"案卷评查表 · Archive checklist — {draw_id} — {inspector_id} — 评查表版本 {checklist.version}"
    append_row(ws, [title + (f"（{checklist.title}）" if checklist.title else "")])
    append_row(
        ws,
        [
            "满分 max →",
            None,
            None,
            None,
            None,
            None,
            *[i.max if i.kind == "points" and not checklist.sections else _rule_text(i, checklist) for i in items],
            "任一否决项：" + checklist.grades[-1].zh + ("，总分记0分" if checklist.veto_total_zero else ""),
            None,
            *["扣分时填写 note when points are lost"] * len(items),
            None,
        ],
    )
    append_row(ws, header)
    ws["A1"].font = Font(bold=True, size=13)
    for cell in ws[2]:
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        cell.font = Font(size=9)
    for cell in ws[3]:
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = PatternFill("solid", fgColor="12355B")
        cell.alignment = Alignment(wrap_text=True)
    for office, name, case_no, kind in archives:
        # office names and case numbers are data: a leading "=" must stay text (access.cells)
        append_row(
            ws,
            [
                draw_id,
                office,
                name,
                case_no,
                kind,
                inspector_id,
                *[None] * len(items),
                None,
                None,
                *[None] * len(items),
                checklist.version,
            ],
        )
    last = 3 + len(archives)
    for j, item in enumerate(items):
        col = get_column_letter(first_item + j)
        if item.kind == "deduction":
            dv = DataValidation(
                type="whole",
                operator="greaterThanOrEqual",
                formula1="0",
                allow_blank=False,
                showErrorMessage=True,
                errorTitle="缺陷处数 number of defects",
                error=f"{item.zh}：填写缺陷处数（0 或正整数） / {item.en}: the number of defects, 0 or more",
            )
        else:
            dv = DataValidation(
                type="decimal",
                operator="between",
                formula1="0",
                formula2=str(item.max),
                allow_blank=False,
                showErrorMessage=True,
                errorTitle="超出满分 above the maximum",
                error=f"{item.zh}：0–{item.max:g} 分 / {item.en}: 0 to {item.max:g}",
            )
        dv.add(f"{col}4:{col}{max(last, 4)}")
        ws.add_data_validation(dv)
    veto_col = get_column_letter(first_item + len(items))
    veto = DataValidation(
        type="list",
        formula1='"' + ",".join(v.zh for v in checklist.vetoes) + '"',
        allow_blank=True,
        showErrorMessage=True,
        error="从下拉列表中选择否决项 / choose a veto item from the list",
    )
    veto.add(f"{veto_col}4:{veto_col}{max(last, 4)}")
    ws.add_data_validation(veto)
    date_col = get_column_letter(first_item + len(items) + 1)
    when = DataValidation(
        type="date",
        operator="greaterThan",
        formula1="DATE(2000,1,1)",
        showErrorMessage=True,
        error="请填写日期 / enter a date",
    )
    when.add(f"{date_col}4:{date_col}{max(last, 4)}")
    ws.add_data_validation(when)
    # narrow columns with wrapped headings: printed one page wide, the text stays legible
    widths = [9, 9, 14, 16, 10, 8, *[9] * len(items), 11, 10, *[13] * len(items), 8]
    for j, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(j)].width = width
    ws.row_dimensions[2].height = 52  # the wrapped rules and headings (no spreadsheet sizes rows itself on open)
    ws.row_dimensions[3].height = 40
    ws.freeze_panes = "A4"
    # printed landscape, one page wide, the three heading rows on every page
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = "1:3"
    wb.save(path)
    return len(archives)
