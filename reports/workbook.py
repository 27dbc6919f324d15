"""Write the annual assessment workbook with openpyxl in write-only mode (constant memory).

Sheets: cover with methodology, ranking (bar chart, top/bottom highlighting), one per dimension,
trend (line chart), overdue open cases, inspection results, integrity signals, and optionally every
case in scope, streamed from DuckDB in batches. Text from the data that could be read as a formula
(= + - @) is always written as text.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.chart.series import SeriesLabel
from openpyxl.chart.text import RichText
from openpyxl.drawing.text import CharacterProperties, Paragraph, ParagraphProperties
from openpyxl.formatting.rule import CellIsRule, FormulaRule
from openpyxl.styles import Alignment, Font
from openpyxl.worksheet.pagebreak import Break

from access.cells import as_text
from ingest.contract import default_contract
from metrics.config import DIMENSIONS, Config
from metrics.results import IndicatorEntry
from queries.statements import duck_sql
from reports.data import ReportData
from reports.labels import LABELS
from reports.sheet import (
    BOTTOM_FILL,
    COUNT,
    DATE,
    DECIMAL,
    PERCENT,
    SCORE,
    TOP_FILL,
    Sheet,
)

Progress = Callable[[float, str], None]


def _status(entry: IndicatorEntry, lab: dict) -> str:
    return lab["insufficient"] if entry["status"] == "insufficient" else lab["sufficient"]


PER_CHART = 16  # offices in one ranking chart: every name legible on its page
CHART_ROWS = 30  # rows a chart's page spans: about 16 cm, what A4 landscape prints on one page


def _small_labels(axis: Any, size: int = 800) -> None:
    """Category labels at `size` hundredths of a point, so that every office's name fits."""
    props = CharacterProperties(sz=size)
    axis.txPr = RichText(p=[Paragraph(pPr=ParagraphProperties(defRPr=props), endParaRPr=props)])


def _chart_pages(wb: Workbook, title: str, charts: list) -> None:
    """A sheet holding `charts`, one per printed page: landscape, a page break after each, every
    chart at the same legible size (charts under a table split across pages and under its
    repeated header row)."""
    if not charts:
        return
    ws = wb.create_sheet(title)
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = "9"  # A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    for k, chart in enumerate(charts):
        chart.width, chart.height = 25, 14  # within the page's 30 rows
        chart.x_axis.tickLblSkip = 1  # every office named, not every other one
        _small_labels(chart.x_axis, 900)
        ws.add_chart(chart, f"A{1 + k * CHART_ROWS}")
        if k:
            ws.row_breaks.append(Break(id=k * CHART_ROWS))
    for _ in range(len(charts) * CHART_ROWS):  # the rows the charts lie on, so every page prints
        ws.append([None])


def _shown(title: str, shown: int, total: int, lab: dict) -> str:
    """A chart's title, saying so when it shows the first `shown` of `total` offices."""
    return title if shown >= total else f"{title}（{lab['first_n'].format(shown=shown, n=total)}）"


def _beijing(at: str | None, lab: dict) -> str | None:
    """A recorded time (naive: this machine's local time) in Beijing time, in words."""
    if not at:
        return at
    when = dt.datetime.fromisoformat(at).astimezone(dt.timezone(dt.timedelta(hours=8)))
    return f"{when:%Y-%m-%d %H:%M} {lab['beijing']}"


def _peer_words(meth: Mapping[str, Any], level: str, lab: dict, names: Mapping[str, str]) -> str:
    within = meth.get("within")
    group = str(meth.get("peer_group") or "national")
    how = lab["peers"]["within"].format(office=names.get(within, within)) if within else lab["peers"].get(group, group)
    return f"{lab['levels'].get(level, level)} · {how}"


def write_workbook(
    data: ReportData,
    config: Config,
    path: str | Path,
    *,
    lang: str = "zh",
    case_rows: Iterable[Sequence[object]] | None = None,
    progress: Progress | None = None,
    published_at: str | None = None,
    audit_anchor: Mapping[str, Any] | None = None,
) -> dict:
    """Write the workbook for `data` to `path`; return what was written (sheet names, row counts).
    `audit_anchor`: the head of the audit chain when the workbook was written (`access.audit.anchor`),
    shown on the cover so that a copy of the workbook is also a copy of the anchor."""
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
        as_text(v)
        cover.append([k, v])

    title = WriteOnlyCell(cover, value=lab["title"].format(year=data.year))
    title.font = Font(bold=True, size=16, color="12355B")
    cover.append([title])
    facts = [
        (lab["scope"], f"{data.scope} {data.scope_name}"),
        (lab["year"], str(data.year)),
        (lab["as_of"], data.as_of.isoformat()),
        (lab["published"], _beijing(published_at or meth.get("data_published_at"), lab)),
        (lab["generated"], _beijing(dt.datetime.now().isoformat(timespec="seconds"), lab)),
        (lab["method"], lab["methods"].get(meth["method"], meth["method"])),
        (lab["weights"], ", ".join(f"{lab['dims'][d]} {w:g}" for d, w in meth["dimension_weights"].items())),
        (lab["peer_group"], _peer_words(meth, data.level, lab, {data.scope: data.scope_name})),
        (
            lab["mc"],
            lab["mc_words"].format(
                runs=meth["monte_carlo_runs"],
                lo=f"{meth['monte_carlo']['interval'][0]:g}",
                hi=f"{meth['monte_carlo']['interval'][1]:g}",
                seed=meth["monte_carlo"]["seed"],
                resampled=lab["mc_resampled"] if meth["monte_carlo"].get("resample_appraisals", True) else "",
            ),
        ),
        (
            lab["versions"],
            lab["versions_words"].format(
                indicators=meth["indicators_version"],
                limits=meth["time_limits_version"],
                scoring=meth["scoring_version"],
            ),
        ),
    ]
    if audit_anchor is not None:
        facts.append((lab["audit_anchor"], f"#{audit_anchor['seq']} {audit_anchor['hash']}"))
    if data.demo:
        facts.insert(0, (lab["synthetic"], data.demo))
    for k, v in facts:
        line(k, v)
    cover.append([])
    line(lab["indicators"], bold=True)
    for ind in config.indicators:
        line(
            f"{ind.id} {ind.zh if lang == 'zh' else ind.en}",
            lab["indicator_words"].format(
                dim=lab["dims"][ind.dimension],
                direction=lab["directions"][ind.direction],
                weight=f"{ind.weight:g}",
                min=f"{ind.min_count:g}",
                formula=ind.formula(lang) or (ind.zh if lang == "zh" else ind.en),
            ),
        )
    cover.append([])
    line(lab["rules"], bold=True)
    for r in config.time_limits.rules:
        line(
            kind_label.get(r.case_kind, r.case_kind),
            lab["rule_words"].format(
                start=f"{r.start.year}年{r.start.month}月{r.start.day}日" if lang == "zh" else r.start.isoformat(),
                limit=r.limit.label(lang),
                extension=r.max_extension.label(lang),
            )
            + (lab["rule_accept"].format(days=r.acceptance_working_days) if r.acceptance_working_days else ""),
        )
    step(0.3, "cover")

    charts: list = []  # the ranking's and the trend's charts, printed on pages of their own
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
            *(o["rank_interval"] or (None, None)),
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
        # the composite by rank, 16 offices to a chart (every name legible, one chart a page), up
        # to the first 32; a chart that shows fewer offices than the table says which ones it shows
        shown = max(min(ranked, 2 * PER_CHART), 1)
        for first in range(0, shown, PER_CHART):
            last_row = min(first + PER_CHART, shown) + 1
            bar = BarChart()
            bar.type, bar.y_axis.title = "bar", lab["composite"]
            bar.title = _shown(lab["chart_rank"], shown, ranked, lab) + (
                f" {first + 1}–{last_row - 1}" if shown > PER_CHART else ""
            )
            bar.add_data(Reference(ranking.ws, min_col=4, min_row=first + 2, max_row=last_row), titles_from_data=False)
            bar.set_categories(Reference(ranking.ws, min_col=3, min_row=first + 2, max_row=last_row))
            bar.y_axis.scaling.min, bar.y_axis.scaling.max = 0, 100
            bar.x_axis.scaling.orientation = "maxMin"
            bar.x_axis.delete = bar.y_axis.delete = False
            bar.legend = None  # one series: its name is the axis title
            charts.append(bar)  # each chart prints on a page of its own (the 图表 sheet below)
        dims = BarChart()
        dims.type, dims.grouping = "col", "clustered"
        dims.title = _shown(lab["chart_dims"], min(ranked, 15), ranked, lab)
        dims.add_data(
            Reference(ranking.ws, min_col=5, max_col=8, min_row=1, max_row=min(ranked, 15) + 1), titles_from_data=True
        )
        dims.set_categories(Reference(ranking.ws, min_col=3, min_row=2, max_row=min(ranked, 15) + 1))
        dims.y_axis.scaling.min, dims.y_axis.scaling.max = 0, 100
        dims.height, dims.width = 9, 24
        dims.x_axis.delete = dims.y_axis.delete = False
        charts.append(dims)
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
        top = min(n, 10)
        chart.title, chart.y_axis.title = _shown(lab["chart_trend"], top, n, lab), lab["composite"]
        chart.x_axis.delete = chart.y_axis.delete = False
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
        charts.append(chart)
    _chart_pages(wb, sh["charts"], charts)

    # Overdue open cases.
    ov = data.overdue
    Sheet(
        wb,
        sh["overdue"],
        [
            (lab["code"], None),
            (lab["name"], None),  # the office by name, not only its code
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
                r["office_name"],
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
    four = any(len(cl.grades) == 4 for cl in default_contract().checklists.values())  # a 良好 column then
    Sheet(
        wb,
        sh["inspections"],
        [
            (lab["code"], None),
            (lab["name"], None),
            (lab["appraised"], COUNT),
            (lab["mean_total"], DECIMAL),
            (lab["excellent"], COUNT),
            *([(lab["good"], COUNT)] if four else []),
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
                *([r["good"]] if four else []),
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

    # Rectification of the year's inspections (notices after publication), overdue at the day written.
    rl = lab["rect"]
    day = data.rectification_as_of or data.as_of
    Sheet(
        wb,
        sh["rectification"],
        [
            (rl["notice"], None),
            (lab["code"], None),
            (lab["name"], None),
            (rl["plan"], None),
            (rl["status"], None),
            (rl["due"], None),
            (rl["overdue"].format(day=day.isoformat()), None),
            (rl["archives"], COUNT),
            (rl["unqualified"], COUNT),
            (rl["points_lost"], DECIMAL),
            (rl["updated"], None),
        ],
        [
            [
                n["notice_id"],
                n["office_code"],
                n.get("office_name") or names.get(n["office_code"]),
                n["plan_id"],
                rl["statuses"].get(n["status"], n["status"]),
                n["due_date"],
                rl["yes"] if n["overdue"] else rl["no"],
                len(n["findings"]),
                n["unqualified"],
                n["points_lost"],
                n["updated_at"][:10],
            ]
            for n in data.rectifications
        ],
    ).as_table("Rectification")

    # The points-table assessment: one sheet per section of the scheme (issue 19).
    if data.assessment is not None:
        al = lab["assess"]
        for k, section in enumerate(data.assessment["sections"]):
            label = section["zh"] if lang == "zh" else section["en"]
            items = section["items"]
            interval = any(o.get("rank_interval") for o in data.assessment["offices"])  # a scheme that has one
            Sheet(
                wb,
                sh["assessment"].format(section=label)[:31],
                [
                    (al["rank"], COUNT),
                    *([(lab["rank_low"], COUNT), (lab["rank_high"], COUNT)] if interval else []),
                    (lab["code"], None),
                    (lab["name"], None),
                    *((al["points"].format(item=i["zh"] if lang == "zh" else i["en"]), DECIMAL) for i in items),
                    (al["subtotal"], DECIMAL),
                    (al["capped"], None),
                    (al["total"], DECIMAL),
                ],
                [
                    [
                        o["rank"],
                        *((o.get("rank_interval") or [None, None]) if interval else []),
                        o["office_code"],
                        o["name"],
                        *(o["items"][i["id"]]["points"] for i in items),
                        o["sections"][section["id"]]["points"],
                        al["yes"] if o["sections"][section["id"]]["capped"] else al["no"],
                        o["total"],
                    ]
                    for o in data.assessment["offices"]
                ],
            ).as_table(f"Points{k + 1}")

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
    reader = con.execute(duck_sql("cases.of_year_in_subtree"), {"s": scope_code, "y": year})
    with contextlib.suppress(GeneratorExit):
        while True:
            chunk = reader.fetchmany(batch)
            if not chunk:
                break
            yield from chunk
