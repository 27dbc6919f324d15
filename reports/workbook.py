"""Write the annual assessment workbook with openpyxl in write-only mode (constant memory).

Sheets: cover with methodology, ranking (bar chart, top/bottom highlighting), one per dimension,
trend (line chart), overdue open cases, inspection results, integrity signals, and optionally every
case in scope, streamed from DuckDB in batches. Text from the data that could be read as a formula
(= + - @) is always written as text.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import types
import unicodedata
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import Cell
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.chart.series import SeriesLabel
from openpyxl.formatting.rule import CellIsRule, FormulaRule
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.filters import AutoFilter
from openpyxl.worksheet.table import Table, TableColumn, TableStyleInfo

from ingest.contract import default_contract
from metrics.config import DIMENSIONS, Config
from queries.loader import in_subtree
from reports.data import ReportData

Progress = Callable[[float, str], None]
HEADER_FONT = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor="12355B")
TOP_FILL = PatternFill("solid", fgColor="C6EFCE")
BOTTOM_FILL = PatternFill("solid", fgColor="FFC7CE")
FORMULA_START = ("=", "+", "-", "@")

LABELS: dict[str, dict[str, Any]] = {
    "zh": {
        "sheets": {
            "cover": "封面",
            "ranking": "排名",
            "effort": "办案力度",
            "level": "办案水平",
            "timeliness": "办案效率",
            "quality": "案卷质量",
            "trend": "趋势",
            "overdue": "超期未结案件",
            "inspections": "案卷评查",
            "integrity": "诚信信号",
            "cases": "案件明细",
        },
        "title": "{year}年度专利行政执法绩效评估报告",
        "scope": "范围",
        "year": "评估年度",
        "as_of": "数据截止日",
        "published": "数据发布时间",
        "generated": "生成时间",
        "synthetic": "合成演示数据，非真实案件",
        "methodology": "评估方法",
        "method": "标准化方法",
        "weights": "维度权重",
        "peer_group": "同组比较范围",
        "mc": "排名区间（蒙特卡洛）",
        "versions": "配置版本",
        "indicators": "指标",
        "rules": "办案期限规则",
        "rank": "排名",
        "code": "机构代码",
        "name": "机构名称",
        "composite": "综合得分",
        "rank_low": "排名区间下限",
        "rank_high": "排名区间上限",
        "rank_change": "排名变化",
        "composite_change": "得分变化",
        "value": "值",
        "numerator": "分子",
        "denominator": "分母",
        "score": "得分",
        "status": "状态",
        "insufficient": "数据不足",
        "dims": {"effort": "办案力度", "level": "办案水平", "timeliness": "办案效率", "quality": "案卷质量"},
        "case_no": "案号",
        "case_kind": "案件类型",
        "received": "收到日期",
        "accepted": "立案日期",
        "deadline": "期限届满日",
        "days_overdue": "超期天数",
        "appraised": "评查案卷数",
        "mean_total": "平均分",
        "excellent": "优秀",
        "qualified": "合格",
        "unqualified": "不合格",
        "unqualified_rate": "不合格率",
        "ci_low": "95%区间下限",
        "ci_high": "95%区间上限",
        "closed_cases": "年内结案数",
        "projected": "推算不合格案卷数",
        "peer_median": "同组中位数",
        "signals": {
            "acceptance_gap_days": "受理间隔天数（中位数）",
            "extension_rate": "延期率",
            "late_withdrawal_rate": "期限末段撤回/终止率",
            "deadline_bunching_rate": "临期集中结案率",
        },
        "open_cases": "未结案件",
        "disposition_days": "处置时间（天）",
        "closed_date": "结案日期",
        "closing_type": "结案方式",
        "chart_rank": "综合得分",
        "chart_dims": "维度得分比较",
        "chart_trend": "综合得分趋势",
    },
    "en": {
        "sheets": {
            "cover": "Cover",
            "ranking": "Ranking",
            "effort": "Effort",
            "level": "Level",
            "timeliness": "Timeliness",
            "quality": "Quality",
            "trend": "Trend",
            "overdue": "Overdue open cases",
            "inspections": "Inspections",
            "integrity": "Integrity signals",
            "cases": "Cases",
        },
        "title": "Patent enforcement performance assessment {year}",
        "scope": "Scope",
        "year": "Assessment year",
        "as_of": "Data as of",
        "published": "Data published",
        "generated": "Generated",
        "synthetic": "Synthetic demo data, not real cases",
        "methodology": "Methodology",
        "method": "Normalisation",
        "weights": "Dimension weights",
        "peer_group": "Peer group",
        "mc": "Rank interval (Monte Carlo)",
        "versions": "Configuration versions",
        "indicators": "Indicators",
        "rules": "Time-limit rules",
        "rank": "Rank",
        "code": "Office code",
        "name": "Office",
        "composite": "Composite",
        "rank_low": "Rank low (P5)",
        "rank_high": "Rank high (P95)",
        "rank_change": "Rank change",
        "composite_change": "Score change",
        "value": "value",
        "numerator": "numerator",
        "denominator": "denominator",
        "score": "score",
        "status": "status",
        "insufficient": "insufficient data",
        "dims": {"effort": "Effort", "level": "Level", "timeliness": "Timeliness", "quality": "Quality"},
        "case_no": "Case no.",
        "case_kind": "Case kind",
        "received": "Received",
        "accepted": "Accepted",
        "deadline": "Deadline",
        "days_overdue": "Days overdue",
        "appraised": "Appraised archives",
        "mean_total": "Mean score",
        "excellent": "Excellent",
        "qualified": "Qualified",
        "unqualified": "Unqualified",
        "unqualified_rate": "Unqualified rate",
        "ci_low": "95% CI low",
        "ci_high": "95% CI high",
        "closed_cases": "Closed in year",
        "projected": "Projected unqualified archives",
        "peer_median": "peer median",
        "signals": {
            "acceptance_gap_days": "Acceptance gap (median days)",
            "extension_rate": "Extension rate",
            "late_withdrawal_rate": "Late withdrawals/terminations",
            "deadline_bunching_rate": "Closings bunched before deadline",
        },
        "open_cases": "Open cases",
        "disposition_days": "Disposition time (days)",
        "closed_date": "Closed",
        "closing_type": "Closing type",
        "chart_rank": "Composite score",
        "chart_dims": "Dimension scores",
        "chart_trend": "Composite score trend",
    },
}
PERCENT = "0.0%"
SCORE = "0.0"
COUNT = "#,##0"
DECIMAL = "#,##0.00"
DATE = "yyyy-mm-dd"  # openpyxl's own format for a date value
EXCEL_EPOCH = dt.date(1899, 12, 30)  # day 0 of Excel's (1900) date system
EXCEL_DAY_NUMBERS_FROM = dt.date(1900, 3, 1)  # before it, Excel's 1900 leap-year bug shifts the count


def display_width(value: object) -> int:
    """Characters as Excel shows them: CJK characters are two columns wide."""
    text = "" if value is None else (f"{value:,.2f}" if isinstance(value, float) else str(value))
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _values_to_row(ws, values: Sequence[object], row_idx: int) -> Iterator[Cell]:
    """openpyxl 3.1's WriteOnlyWorksheet._values_to_row without its exception per styled cell.

    openpyxl finds out that a value is already a cell by assigning it as a value and catching the
    ValueError, whose message formats the cell's repr: a third of the time of writing a styled cell.
    This asks directly and writes the same XML (tests/test_report.py compares the two byte for byte).
    """
    cell = None
    for col_idx, value in enumerate(values, 1):
        if value is None:
            continue
        if isinstance(value, Cell):
            value.column, value.row = col_idx, row_idx
            yield value
            continue
        if cell is None:
            cell = WriteOnlyCell(ws)
        cell.value = value
        cell.column, cell.row = col_idx, row_idx
        yield cell
        if cell.has_style:  # openpyxl gave a date its format: the next value needs a fresh cell
            cell = None


class Sheet:
    """A write-only sheet with typed columns: header row, formats, widths, freeze, print setup."""

    def __init__(
        self,
        wb: Workbook,
        title: str,
        columns: Sequence[tuple[str, str | None]],
        rows: Sequence[Sequence[object]] | None = None,
        *,
        landscape: bool = True,
    ) -> None:
        self.ws = wb.create_sheet(title)
        if hasattr(self.ws, "_values_to_row"):
            self.ws._values_to_row = types.MethodType(_values_to_row, self.ws)
        self.columns = columns
        self.n = 0
        self._formatted: list[WriteOnlyCell | None] = []  # per column: its styled cell, if formatted
        for _, fmt in columns:
            cell = None
            if fmt:
                cell = WriteOnlyCell(self.ws)
                cell.number_format = fmt
            self._formatted.append(cell)
        self._dates = [fmt == DATE for _, fmt in columns]
        self._text: list[WriteOnlyCell | None] = [None] * len(columns)
        widths = [display_width(h) for h, _ in columns]
        for row in (rows or [])[:2000]:
            for j, v in enumerate(row):
                widths[j] = max(widths[j], display_width(v))
        for j, w in enumerate(widths, start=1):
            self.ws.column_dimensions[get_column_letter(j)].width = min(max(w + 2, 8), 60)
        self.ws.freeze_panes = "A2"
        self.ws.print_title_rows = "1:1"
        self.ws.page_setup.orientation = "landscape" if landscape else "portrait"
        self.ws.page_setup.paperSize = "9"  # A4
        self.ws.page_setup.fitToWidth = 1
        self.ws.page_setup.fitToHeight = 0
        self.ws.sheet_properties.pageSetUpPr.fitToPage = True
        header = []
        for h, _ in columns:
            c = WriteOnlyCell(self.ws, value=h)
            c.font, c.fill = HEADER_FONT, HEADER_FILL
            c.alignment = Alignment(wrap_text=True, vertical="center")
            header.append(c)
        self.ws.append(header)
        for row in rows or []:
            self.append(row)

    def append(self, row: Sequence[object]) -> None:
        """One row. Plain values go in as they are. A number or a date in a formatted column, and
        text that could be read as a formula, go through the column's own styled cell, reused from
        row to row (openpyxl writes a row out as soon as it is appended), so a style is set once per
        column rather than once per value. A date goes in as its Excel day number, which is what
        openpyxl would write for it, without its per-value date checks."""
        cells: list[object] = []
        for j, v in enumerate(row):
            if v is None or isinstance(v, bool):
                pass
            elif isinstance(v, str):
                if v.startswith(FORMULA_START):
                    v = self._cell(self._text, j, v)
                    v.data_type = "s"  # formula injection: text stays text
            elif isinstance(v, float) and math.isnan(v):  # NaN: empty, never zero
                v = None
            elif self._formatted[j] is not None:
                if type(v) is dt.date and self._dates[j] and v >= EXCEL_DAY_NUMBERS_FROM:
                    v = (v - EXCEL_EPOCH).days
                v = self._cell(self._formatted, j, v)
            cells.append(v)
        self.ws.append(cells)
        self.n += 1

    def _cell(self, pool: list[WriteOnlyCell | None], j: int, value: object) -> WriteOnlyCell:
        cell = pool[j]
        if cell is None:
            cell = pool[j] = WriteOnlyCell(self.ws)
        cell.value = value
        return cell

    def as_table(self, name: str) -> None:
        """Make the block a filterable Excel table (defined by name)."""
        if self.n:
            ref = f"A1:{get_column_letter(len(self.columns))}{self.n + 1}"
            table = Table(displayName=name, ref=ref)
            # Write-only sheets cannot read their header back: name the table columns here.
            table.tableColumns = [TableColumn(id=j, name=h) for j, (h, _) in enumerate(self.columns, start=1)]
            table.autoFilter = AutoFilter(ref=ref)
            table.tableStyleInfo = TableStyleInfo(name="TableStyleLight9", showRowStripes=True)
            with warnings.catch_warnings():  # openpyxl warns in write-only mode even when columns are given
                warnings.simplefilter("ignore", UserWarning)
                self.ws.add_table(table)


def _status(entry: dict, lab: dict) -> str:
    return lab["insufficient"] if entry["status"] == "insufficient" else "ok"


def write_workbook(
    data: ReportData,
    config: Config,
    path: str | Path,
    *,
    lang: str = "zh",
    case_rows: Iterable[Sequence[object]] | None = None,
    progress: Progress | None = None,
    published_at: str | None = None,
) -> dict:
    """Write the workbook for `data` to `path`; return what was written (sheet names, row counts)."""
    lab = LABELS[lang]
    sh = lab["sheets"]
    contract = default_contract()
    kind_label: dict[Any, str | None] = {
        v: contract.label("case_kind", v, lang) for v in contract.enum_values["case_kind"]
    }
    closing_label: dict[Any, str | None] = {
        v: contract.label("closing_type", v, lang) for v in contract.enum_values["closing_type"]
    }
    step = progress or (lambda fraction, what: None)
    wb = Workbook(write_only=True)
    offices = data.ranking.offices
    n = len(offices)
    meth = data.ranking.methodology

    # Cover and methodology.
    cover = wb.create_sheet(sh["cover"])
    # Write-only sheets stream their XML: page setup and sizes must be set before the first row.
    cover.column_dimensions["A"].width = 30
    cover.column_dimensions["B"].width = 110
    cover.page_setup.orientation = "landscape"
    cover.page_setup.paperSize = "9"
    cover.sheet_properties.pageSetUpPr.fitToPage = True
    cover.page_setup.fitToWidth, cover.page_setup.fitToHeight = 1, 0
    cover.row_dimensions[1].height = 28
    wrap = Alignment(wrap_text=True, vertical="top")

    def line(key: object, value: object = None, *, bold: bool = False) -> None:
        k = WriteOnlyCell(cover, value=key)
        k.alignment = wrap
        if bold:
            k.font = Font(bold=True)
        v = WriteOnlyCell(cover, value=value)
        v.alignment = wrap
        if isinstance(value, str) and value.startswith(FORMULA_START):
            v.data_type = "s"
        cover.append([k, v])

    title = WriteOnlyCell(cover, value=lab["title"].format(year=data.year))
    title.font = Font(bold=True, size=16, color="12355B")
    cover.append([title])
    facts = [
        (lab["scope"], f"{data.scope} {data.scope_name}"),
        (lab["year"], str(data.year)),
        (lab["as_of"], data.as_of.isoformat()),
        (lab["published"], published_at or meth.get("data_published_at")),
        (lab["generated"], dt.datetime.now().isoformat(timespec="seconds")),
        (lab["method"], meth["method"]),
        (lab["weights"], ", ".join(f"{lab['dims'][d]} {w:g}" for d, w in meth["dimension_weights"].items())),
        (lab["peer_group"], f"{data.level} · {meth['peer_group']}"),
        (
            lab["mc"],
            f"{meth['monte_carlo_runs']} runs, P{meth['monte_carlo']['interval'][0]:g}–"
            f"P{meth['monte_carlo']['interval'][1]:g}, seed {meth['monte_carlo']['seed']}, "
            f"{meth.get('monte_carlo_bootstrap', '')}",
        ),
        (
            lab["versions"],
            f"indicators {meth['indicators_version']}, time limits {meth['time_limits_version']}, "
            f"scoring {meth['scoring_version']}",
        ),
    ]
    if data.demo:
        facts.insert(0, (lab["synthetic"], data.demo))
    for k, v in facts:
        line(k, v)
    cover.append([])
    line(lab["indicators"], bold=True)
    for ind in config.indicators:
        line(
            f"{ind.id} {ind.zh if lang == 'zh' else ind.en}",
            f"{lab['dims'][ind.dimension]} · {ind.direction} · weight {ind.weight:g} · min {ind.min_count:g} · "
            f"{ind.value}: {ind.numerator}" + (f" / {ind.denominator}" if ind.denominator else ""),
        )
    cover.append([])
    line(lab["rules"], bold=True)
    for r in config.time_limits.rules:
        line(
            kind_label.get(r.case_kind, r.case_kind),
            f"from {r.start.isoformat()}: limit {r.limit.label()}, max extension "
            f"{r.max_extension.label()}"
            + (f", accept within {r.acceptance_working_days} working days" if r.acceptance_working_days else ""),
        )
    step(0.3, "cover")

    # Ranking with rank interval and year-on-year change.
    columns = [
        (lab["rank"], None),
        (lab["code"], None),
        (lab["name"], None),
        (lab["composite"], SCORE),
        *[(lab["dims"][d], SCORE) for d in DIMENSIONS],
        (lab["rank_low"], None),
        (lab["rank_high"], None),
        (lab["rank_change"], None),
        (lab["composite_change"], SCORE),
    ]
    rows = [
        [
            o["rank"],
            o["office_code"],
            o["name"],
            o["composite"],
            *[o["dimensions"][d] for d in DIMENSIONS],
            *(o["rank_interval"] or [None, None]),
            o["rank_change"],
            o["composite_change"],
        ]
        for o in offices
    ]
    ranking = Sheet(wb, sh["ranking"], columns, rows)
    ranking.as_table("Ranking")
    if n:
        last = n + 1
        ranking.ws.conditional_formatting.add(
            f"A2:A{last}", CellIsRule(operator="lessThanOrEqual", formula=["3"], fill=TOP_FILL)
        )
        ranking.ws.conditional_formatting.add(
            f"A2:A{last}", FormulaRule(formula=[f"AND(ISNUMBER($A2),$A2>=MAX($A$2:$A${last})-2)"], fill=BOTTOM_FILL)
        )
        ranked = sum(1 for o in offices if o["rank"] is not None)
        shown = max(min(ranked, 30), 1)
        bar = BarChart()
        bar.type, bar.title, bar.y_axis.title = "bar", lab["chart_rank"], lab["composite"]
        bar.add_data(Reference(ranking.ws, min_col=4, min_row=1, max_row=shown + 1), titles_from_data=True)
        bar.set_categories(Reference(ranking.ws, min_col=3, min_row=2, max_row=shown + 1))
        bar.y_axis.scaling.min, bar.y_axis.scaling.max = 0, 100
        bar.x_axis.scaling.orientation = "maxMin"
        bar.height, bar.width = max(7.5, 0.5 * shown), 18
        below = n + 4  # charts go under the table, so the page prints at a readable size
        ranking.ws.add_chart(bar, f"A{below}")
        dims = BarChart()
        dims.type, dims.grouping, dims.title = "col", "clustered", lab["chart_dims"]
        dims.add_data(
            Reference(ranking.ws, min_col=5, max_col=8, min_row=1, max_row=min(ranked, 15) + 1), titles_from_data=True
        )
        dims.set_categories(Reference(ranking.ws, min_col=3, min_row=2, max_row=min(ranked, 15) + 1))
        dims.y_axis.scaling.min, dims.y_axis.scaling.max = 0, 100
        dims.height, dims.width = 9, 24
        ranking.ws.add_chart(dims, f"A{below + int(bar.height * 2) + 3}")
    step(0.45, "ranking")

    # One sheet per dimension: every indicator's value, numerator, denominator, score, status.
    for d in DIMENSIONS:
        inds = [i for i in config.indicators if i.dimension == d]
        cols: list[tuple[str, str | None]] = [(lab["code"], None), (lab["name"], None), (lab["dims"][d], SCORE)]
        for i in inds:
            vfmt = PERCENT if i.value == "ratio" else (DECIMAL if i.value in ("per_staff", "shrunk_mean") else COUNT)
            cols += [
                (f"{i.id} {lab['value']}", vfmt),
                (f"{i.id} {lab['numerator']}", DECIMAL if i.value in ("count", "per_staff", "shrunk_mean") else COUNT),
                (f"{i.id} {lab['denominator']}", COUNT),
                (f"{i.id} {lab['score']}", SCORE),
                (f"{i.id} {lab['status']}", None),
            ]
        rows = []
        for o in offices:
            row = [o["office_code"], o["name"], o["dimensions"][d]]
            for i in inds:
                e = o["indicators"][i.id]
                row += [e["value"], e["numerator"], e["denominator"], e["score"], _status(e, lab)]
            rows.append(row)
        Sheet(wb, sh[d], cols, rows).as_table(f"Dim_{d}")
    step(0.6, "dimensions")

    # Trend of the composite over the years.
    years = [c for c in data.trend.columns if c.isdigit()]
    trend = Sheet(
        wb,
        sh["trend"],
        [(lab["code"], None), (lab["name"], None), *[(y, SCORE) for y in years]],
        [list(r) for r in data.trend.iter_rows()],
    )
    if years and n:
        chart = LineChart()
        chart.title, chart.y_axis.title = lab["chart_trend"], lab["composite"]
        top = min(n, 10)
        for row_no in range(2, top + 2):
            chart.add_data(
                Reference(trend.ws, min_col=3, max_col=2 + len(years), min_row=row_no),
                from_rows=True,
                titles_from_data=False,
            )
        for s, o in zip(chart.series, offices[:top]):
            s.tx = SeriesLabel(v=o["name"])
        chart.set_categories(Reference(trend.ws, min_col=3, max_col=2 + len(years), min_row=1))
        chart.y_axis.scaling.min, chart.y_axis.scaling.max = 0, 100
        chart.height, chart.width = 10, 22
        trend.ws.add_chart(chart, f"A{n + 4}")

    # Overdue open cases.
    ov = data.overdue
    Sheet(
        wb,
        sh["overdue"],
        [
            (lab["code"], None),
            (lab["case_no"], None),
            (lab["case_kind"], None),
            (lab["received"], DATE),
            (lab["accepted"], DATE),
            (lab["deadline"], DATE),
            (lab["days_overdue"], COUNT),
        ],
        [
            [
                r["office_code"],
                r["case_no"],
                kind_label.get(r["case_kind"], r["case_kind"]),
                r["received_date"],
                r["accepted_date"],
                r["deadline"],
                -r["days_left"],
            ]
            for r in ov.iter_rows(named=True)
        ],
    ).as_table("Overdue")
    step(0.7, "overdue")

    # Inspection results by office.
    names = {o["office_code"]: o["name"] for o in offices}
    ins = data.inspections
    Sheet(
        wb,
        sh["inspections"],
        [
            (lab["code"], None),
            (lab["name"], None),
            (lab["appraised"], COUNT),
            (lab["mean_total"], DECIMAL),
            (lab["excellent"], COUNT),
            (lab["qualified"], COUNT),
            (lab["unqualified"], COUNT),
            (lab["unqualified_rate"], PERCENT),
            (lab["ci_low"], PERCENT),
            (lab["ci_high"], PERCENT),
            (lab["closed_cases"], COUNT),
            (lab["projected"], DECIMAL),
        ],
        [
            [
                r["office_code"],
                names.get(r["office_code"]),
                r["appraised"],
                r["mean_total"],
                r["excellent"],
                r["qualified"],
                r["unqualified"],
                r["unqualified_rate"],
                r["ci_low"],
                r["ci_high"],
                r["closed_cases"],
                r["projected_unqualified"],
            ]
            for r in ins.iter_rows(named=True)
        ],
    ).as_table("Inspections")

    # Integrity signals beside the peer median.
    sig_cols: list[tuple[str, str | None]] = [
        (lab["code"], None),
        (lab["name"], None),
        (lab["open_cases"], COUNT),
        (lab["disposition_days"], DECIMAL),
    ]
    for s_key, s_label in lab["signals"].items():
        fmt = DECIMAL if s_key == "acceptance_gap_days" else PERCENT
        sig_cols += [(s_label, fmt), (f"{s_label} · {lab['peer_median']}", fmt)]
    Sheet(
        wb,
        sh["integrity"],
        sig_cols,
        [
            [
                r["office_code"],
                r["name"],
                r["open_cases"],
                r["disposition_days"],
                *[v for s in lab["signals"] for v in (r[s], r[f"{s}_peer_median"])],
            ]
            for r in data.integrity.iter_rows(named=True)
        ],
    ).as_table("Integrity")
    step(0.8, "integrity")

    counts = {"offices": n, "overdue": ov.height, "cases": 0}
    if case_rows is not None:
        cases = Sheet(
            wb,
            sh["cases"],
            [
                (lab["code"], None),
                (lab["case_no"], None),
                (lab["case_kind"], None),
                (lab["received"], DATE),
                (lab["accepted"], DATE),
                (lab["closed_date"], DATE),
                (lab["closing_type"], None),
            ],
        )
        for code, case_no, kind, received, accepted, closed, closing in case_rows:
            cases.append(
                (
                    code,
                    case_no,
                    kind_label.get(kind, kind),
                    received,
                    accepted,
                    closed,
                    closing_label.get(closing, closing),
                )
            )
        counts["cases"] = cases.n
        cases.as_table("Cases")
    step(0.95, "saving")
    tmp = Path(str(path) + ".part")
    wb.save(tmp)
    tmp.replace(path)
    step(1.0, "done")
    return {"sheets": [ws.title for ws in wb.worksheets], **counts}


def stream_cases(con, *, scope_code: str, year: int, batch: int = 50_000) -> Iterable[tuple]:
    """Every case of `year` (accepted or closed in it) below `scope_code`, in batches (constant memory)."""
    sql = (
        "SELECT c.office_code, c.case_no, c.case_kind, c.received_date, c.accepted_date, c.closed_date, "
        "c.closing_type FROM cases AS c JOIN offices AS o ON o.office_code = c.office_code "
        f"WHERE {in_subtree('o', 's')} "
        "AND (year(c.accepted_date) = $y OR year(c.closed_date) = $y) ORDER BY c.office_code, c.case_no"
    )
    reader = con.execute(sql, {"s": scope_code, "y": year})
    with contextlib.suppress(GeneratorExit):
        while True:
            chunk = reader.fetchmany(batch)
            if not chunk:
                break
            yield from chunk
