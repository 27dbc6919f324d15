"""The released appraisal report of one published inspection, as a workbook (issue 18 item 4):
the results office by office, where the archives lost points (the scope and each province), the
typical problems in the inspectors' notes, and the state of rectification. Built from plain data the caller reads (`inspection.results`,
`inspection.rectification`): reports never import the inspection package (a layer contract)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from openpyxl import Workbook

from reports.labels import LABELS
from reports.sheet import COUNT, DECIMAL, PERCENT, SCORE, Sheet

WORDS: dict[str, dict[str, Any]] = {
    "zh": {
        "results": "评查结果",
        "items": "失分项目",
        "rect": "整改",
        "code": "机构代码",
        "name": "机构名称",
        "population": "总体案卷",
        "sampled": "抽取",
        "appraised": "已评查",
        "mean": "平均分",
        "excellent": "优秀",
        "qualified": "合格",
        "unqualified": "不合格",
        "rate": "不合格率",
        "ci_low": "95%区间下限",
        "ci_high": "95%区间上限",
        "projected": "推算不合格案卷（分层）",
        "projected_low": "推算区间下限",
        "projected_high": "推算区间上限",
        "where": "范围",
        "scope": "全部",
        "item": "评查项目",
        "points": "失分合计",
        "with_loss": "失分案卷",
        "archives": "评查案卷",
        "share": "占该项满分",
        "typical": "典型问题",
        "note": "评查人员意见",
        "note_archives": "涉及案卷",
        "notice": "通知编号",
        "status": "状态",
        "due": "整改期限",
        "overdue": "逾期",
    },
    "en": {
        "results": "Results",
        "items": "Points lost",
        "rect": "Rectification",
        "code": "Office code",
        "name": "Office",
        "population": "Population",
        "sampled": "Sampled",
        "appraised": "Appraised",
        "mean": "Mean score",
        "excellent": "Excellent",
        "qualified": "Qualified",
        "unqualified": "Unqualified",
        "rate": "Unqualified rate",
        "ci_low": "95% interval, low",
        "ci_high": "95% interval, high",
        "projected": "Projected unqualified (stratified)",
        "projected_low": "Projection, low",
        "projected_high": "Projection, high",
        "where": "Where",
        "scope": "All",
        "item": "Item",
        "points": "Points lost",
        "with_loss": "Archives that lost points",
        "archives": "Archives appraised",
        "share": "Share of the item's points",
        "typical": "Typical problems",
        "note": "Inspectors' note",
        "note_archives": "Archives with this note",
        "notice": "Notice",
        "status": "Status",
        "due": "Due",
        "overdue": "Overdue",
    },
}


def write_appraisal_report(results: dict, notices: list[dict], path: str | Path, *, lang: str = "zh") -> dict:
    """Write the report of a published plan's `results` (its snapshot) and its `notices`; what was written."""
    w = WORDS[lang]
    rect = LABELS[lang]["rect"]  # the annual workbook's words for the same notices
    # the grades of the plan's checklist (publications before checklists were versioned: the three)
    grades = results.get("grades") or [{"id": g, lang: w[g]} for g in ("excellent", "qualified", "unqualified")]
    wb = Workbook(write_only=True)
    Sheet(
        wb,
        w["results"],
        [
            (w["code"], None),
            (w["name"], None),
            (w["population"], COUNT),
            (w["sampled"], COUNT),
            (w["appraised"], COUNT),
            (w["mean"], SCORE),
            *[(g[lang], COUNT) for g in grades],
            (w["rate"], PERCENT),
            (w["ci_low"], PERCENT),
            (w["ci_high"], PERCENT),
            (w["projected"], DECIMAL),
            (w["projected_low"], DECIMAL),
            (w["projected_high"], DECIMAL),
        ],
        [
            [
                o["office_code"],
                o["name"],
                o["population"],
                o["sampled"],
                o["appraised"],
                o["mean_score"],
                *[(o.get("grades") or o).get(g["id"], 0) for g in grades],
                o["unqualified_rate"],
                *(o["interval"] or [None, None]),
                o["projected_unqualified"],
                *(o.get("projected_interval") or [None, None]),
            ]
            for o in results["offices"]
        ],
    ).as_table("Results")
    lost = results.get("items_lost") or {"scope": [], "provinces": {}}
    provinces = results.get("province_names") or {}
    blocks = [(w["scope"], lost["scope"])] + [(provinces.get(p, p), items) for p, items in lost["provinces"].items()]
    Sheet(
        wb,
        w["items"],
        [
            (w["where"], None),
            (w["item"], None),
            (w["points"], DECIMAL),
            (w["with_loss"], COUNT),
            (w["archives"], COUNT),
            (w["share"], PERCENT),
        ],
        [
            [where, e["zh"] if lang == "zh" else e["en"], e["points"], e["with_loss"], e["archives"], e["share"]]
            for where, items in blocks
            for e in items
        ],
    ).as_table("PointsLost")
    Sheet(
        wb,
        w["typical"],
        [
            (w["where"], None),
            (w["item"], None),
            (w["note"], None),
            (w["note_archives"], COUNT),
            (w["points"], DECIMAL),
        ],
        [
            [where, e["zh"] if lang == "zh" else e["en"], n["note"], n["archives"], n["points"]]
            for where, items in blocks
            for e in items
            for n in e.get("typical") or []
        ],
    ).as_table("TypicalProblems")
    Sheet(
        wb,
        w["rect"],
        [
            (w["notice"], None),
            (w["code"], None),
            (w["status"], None),
            (w["due"], None),
            (w["overdue"], None),
            (w["archives"], COUNT),
            (w["points"], DECIMAL),
        ],
        [
            [
                n["notice_id"],
                n["office_code"],
                rect["statuses"].get(n["status"], n["status"]),
                n["due_date"],
                rect["yes"] if n["overdue"] else rect["no"],
                len(n["findings"]),
                n["points_lost"],
            ]
            for n in notices
        ],
    ).as_table("Rectification")
    wb.save(str(path))
    return {
        "offices": len(results["offices"]),
        "notices": len(notices),
        "sheets": [w["results"], w["items"], w["typical"], w["rect"]],
    }
