"""The annual workbook read back with openpyxl: figures equal `ipdash scores`, structure, scope, safety."""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import shutil
import subprocess
from pathlib import Path

import openpyxl
import pytest

from ingest.run import ingest
from queries.store import Store
from tests.conftest import ipdash_cli

ZH_SHEETS = [
    "封面",
    "排名",
    "办案力度",
    "办案水平",
    "办案时效",
    "案卷质量",
    "趋势",
    "图表",
    "超期未结案件",
    "案卷评查",
    "整改",
    "考核·办案数量",
    "考核·办案质量与效率",
    "考核·督办与信息公开",
    "诚信信号",
]


@pytest.fixture(scope="module")
def golden(golden_metrics: Store) -> Store:
    return golden_metrics


def ipdash(*args: str) -> subprocess.CompletedProcess:
    return ipdash_cli(*args)


def scores(db: Path, *extra: str) -> dict:
    done = ipdash("scores", "--year", "2024", "--format", "json", "--runs", "40", "--db", str(db), *extra)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def report(db: Path, out: Path, *extra: str) -> openpyxl.Workbook:
    done = ipdash("report", "--year", "2024", "-o", str(out), "--runs", "40", "--db", str(db), "--quiet", *extra)
    assert done.returncode == 0, done.stderr
    return openpyxl.load_workbook(out)


def test_national_workbook_equals_ipdash_scores(golden: Store, tmp_path: Path) -> None:
    wb = report(golden.path, tmp_path / "national.xlsx")
    assert wb.sheetnames == ZH_SHEETS
    expected = scores(golden.path)
    ws = wb["排名"]
    header = [c.value for c in ws[1]]
    assert header[:8] == ["排名", "机构代码", "机构名称", "综合得分", "办案力度", "办案水平", "办案时效", "案卷质量"]
    got = [[c.value for c in row] for row in ws.iter_rows(min_row=2, max_row=1 + len(expected["offices"]))]
    for row, o in zip(got, expected["offices"]):
        assert row[0] == o["rank"] and row[1] == o["office_code"] and row[2] == o["name"]
        assert row[3] == pytest.approx(o["composite"])
        assert row[4:8] == [
            pytest.approx(o["dimensions"][d]) if o["dimensions"][d] is not None else None
            for d in ("effort", "level", "timeliness", "quality")
        ]
        assert row[8:10] == o["rank_interval"]
        assert row[10] == o["rank_change"]
    assert ws.max_row == 1 + len(expected["offices"])
    # Every indicator on its dimension sheet: value, numerator, denominator, score, status.
    timeliness = wb["办案时效"]
    head = [c.value for c in timeliness[1]]
    for row in timeliness.iter_rows(min_row=2, values_only=True):
        o = next(x for x in expected["offices"] if x["office_code"] == row[0])
        assert row[2] == pytest.approx(o["dimensions"]["timeliness"])
        for ind in ("T1", "T2", "T3", "T4", "T5"):
            e = o["indicators"][ind]
            i = head.index(f"{ind} 值")
            assert row[i] == (pytest.approx(e["value"]) if e["value"] is not None else None)
            assert row[i + 1] == pytest.approx(e["numerator"])
            assert row[i + 2] == pytest.approx(e["denominator"])
            assert row[i + 3] == (pytest.approx(e["score"]) if e["score"] is not None else None)
            assert row[i + 4] == (
                "数据不足" if e["status"] == "insufficient" else "有效"
            )  # the status in words, never its code


def test_structure_freeze_panes_formats_tables_charts_and_print_setup(golden: Store, tmp_path: Path) -> None:
    wb = report(golden.path, tmp_path / "national.xlsx")
    for name in [s for s in ZH_SHEETS[1:] if s != "图表"]:
        ws = wb[name]
        assert ws.freeze_panes == "A2", name
        assert ws.page_setup.orientation == "landscape", name
        assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.fitToWidth == 1, name
        assert ws.print_title_rows == "$1:$1", name
    ranking = wb["排名"]
    assert "Ranking" in ranking.tables and ranking.tables["Ranking"].ref == "A1:L4"
    assert ranking["D2"].number_format == "0.0"
    assert wb["办案时效"]["D2"].number_format == "0.0%"
    # the charts print on pages of their own: one per page, landscape, no repeated header row over them
    pages = wb["图表"]
    assert ranking._charts == [] and wb["趋势"]._charts == []
    bar, dims, trend_chart = pages._charts
    assert [b.id for b in pages.row_breaks.brk] == [30, 60]
    assert pages.page_setup.orientation == "landscape" and not pages.print_title_rows
    assert bar.series[0].val.numRef.f == "'排名'!$D$2:$D$4"
    assert bar.series[0].cat.numRef.f == "'排名'!$C$2:$C$4"  # openpyxl writes categories as a reference
    assert [s.val.numRef.f for s in dims.series] == [f"'排名'!${c}$2:${c}$4" for c in "EFGH"]
    assert trend_chart.series[0].val.numRef.f.startswith("'趋势'!$C$2")
    rules = ranking.conditional_formatting
    assert len(list(rules)) >= 1
    assert wb["排名"].column_dimensions["C"].width >= 8


def test_overdue_and_inspection_sheets_hold_the_golden_figures(golden: Store, tmp_path: Path) -> None:
    wb = report(golden.path, tmp_path / "national.xlsx")
    overdue = list(wb["超期未结案件"].iter_rows(min_row=2, values_only=True))
    assert sorted(r[2] for r in overdue) == ["P1f-01", "P1f-02", "P1f-03"]
    assert {r[1] for r in overdue} == {"P1 省局"}  # the office by name beside its code
    assert {r[7] for r in overdue} == {89}
    assert {r[3] for r in overdue} <= {"专利侵权纠纷", "假冒专利", "其他专利纠纷"}  # kinds by their Chinese names
    first = list(wb["超期未结案件"].iter_rows(min_row=2, max_row=2))[0]
    # plain values (code, name, case no., dates) and styled cells (the count) both keep their type and format
    assert [c.data_type for c in first] == ["s", "s", "s", "s", "d", "d", "d", "n"]
    assert [c.number_format for c in first[4:]] == ["yyyy-mm-dd"] * 3 + ["#,##0"]
    assert isinstance(first[4].value, dt.datetime) and first[0].number_format == "General"
    ins = {r[0]: r for r in wb["案卷评查"].iter_rows(min_row=2, values_only=True)}
    # P1: 6 archives, 2 excellent, 3 qualified, 1 unqualified; 52 cases closed: 52 / 6 = 8.7 projected.
    assert ins["110000"][2:8] == (6, pytest.approx(500 / 6), 2, 3, 1, pytest.approx(1 / 6))
    assert ins["110000"][10:12] == (52, pytest.approx(8.7))
    assert ins["120000"][2] == 4 and ins["120000"][6] == 1  # the vetoed 100-point archive


def test_a_provincial_report_holds_no_office_outside_its_subtree(golden: Store, tmp_path: Path) -> None:
    wb = report(golden.path, tmp_path / "p3.xlsx", "--scope", "130000", "--with-cases")
    expected = scores(golden.path, "--level", "prefecture", "--within", "130000")
    ranking = [[c.value for c in row] for row in wb["排名"].iter_rows(min_row=2)]
    assert [r[1] for r in ranking] == [o["office_code"] for o in expected["offices"]]
    assert [r[3] for r in ranking] == [pytest.approx(o["composite"]) for o in expected["offices"]]
    inside = {"130000", "130100", "130101", "130200", "130201"}
    outside_codes = {"110000", "110100", "110101", "120000", "120100", "120101", "100000"}
    outside_names = {"P1 省局", "P1 市局", "P1 县局", "P2 省局", "P2 市局", "P2 县局", "国家知识产权局"}
    for ws in wb.worksheets:
        for row in ws.iter_rows(values_only=True):
            for cell in row:
                if isinstance(cell, str):
                    assert cell not in outside_codes and cell not in outside_names, (ws.title, cell)
                    assert not cell.startswith(("P1", "P2")), (ws.title, cell)
    cases = list(wb["案件明细"].iter_rows(min_row=2, values_only=True))
    assert {r[0] for r in cases} <= inside and len(cases) == 12 + 8 + 2 + 6 + 4 + 3 + 2
    kinds, closings = {r[2] for r in cases}, {r[6] for r in cases} - {None}
    assert kinds and kinds <= {"专利侵权纠纷", "假冒专利", "其他专利纠纷"}, kinds
    assert closings and all(not c.isascii() for c in closings), closings  # Chinese names, not codes


def test_english_labels_and_text_that_looks_like_a_formula(golden: Store, tmp_path: Path) -> None:
    db = tmp_path / "db.duckdb"
    shutil.copyfile(golden.path, db)
    evil = tmp_path / "evil.csv"
    evil.write_text(
        'office_code,name,level,parent_code\n130000,=HYPERLINK("http://x"),provincial,100000\n', encoding="utf-8"
    )
    assert ingest(Store(db), "offices", [str(evil)], progress=False).counts.updated == 1
    wb = report(db, tmp_path / "en.xlsx", "--lang", "en")
    assert wb.sheetnames[:2] == ["Cover", "Ranking"]
    kinds = {r[3] for r in wb["Overdue open cases"].iter_rows(min_row=2, values_only=True)}
    assert kinds and kinds <= {"Infringement dispute", "Counterfeit", "Other dispute"}, kinds
    cell = next(
        c
        for row in wb["Ranking"].iter_rows(min_row=2)
        for c in row
        if c.value and str(c.value).startswith("=HYPERLINK")
    )
    assert cell.data_type == "s"
    assert not any("HYPERLINK" in str(d.value) for d in wb.defined_names.values())  # no formula hides in a name


def test_unknown_scope_or_empty_year_is_bad_input(golden: Store, tmp_path: Path) -> None:
    done = ipdash(
        "report", "--year", "2024", "--scope", "999999", "-o", str(tmp_path / "x.xlsx"), "--db", str(golden.path)
    )
    assert done.returncode == 2 and "999999" in done.stderr
    done = ipdash("report", "--year", "1999", "-o", str(tmp_path / "x.xlsx"), "--db", str(golden.path))
    assert done.returncode == 2 and "no cases" in done.stderr
    assert not (tmp_path / "x.xlsx").exists()


def test_sheet_rows_are_the_xml_openpyxl_itself_writes(tmp_path: Path) -> None:
    """Sheet.append (reused styled cells, dates as day numbers, its own row generator) writes what
    openpyxl's public path writes for the same values, formats and formula-like text, byte for byte."""
    import zipfile

    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment

    from reports.sheet import COUNT, DATE, HEADER_FILL, HEADER_FONT, PERCENT, Sheet

    # the last two columns have no format: openpyxl styles a date there itself, and the plain value
    # after it must not inherit that style
    columns = [
        ("code", None),
        ("when", DATE),
        ("n", COUNT),
        ("share", PERCENT),
        ("note", None),
        ("d", None),
        ("k", None),
    ]
    rows = [
        ["110000", dt.date(2024, 1, 2), 1234, 0.25, '=HYPERLINK("x")', dt.date(2024, 3, 4), 3],
        ["120000", None, 7, float("nan"), "+1", None, 4.5],
        ["130000", dt.date(1900, 2, 28), None, 1.0, "plain", dt.date(2024, 3, 5), "t"],
        ["140000", dt.datetime(2024, 5, 6, 7, 8), 0, None, "@x", 9, 10],
        [None, dt.date(2030, 12, 31), 5.5, 0.0, "-", dt.date(2024, 3, 6), 11],
    ]

    ours = Workbook(write_only=True)
    Sheet(ours, "s", columns, rows)
    ours.save(tmp_path / "ours.xlsx")

    theirs = Workbook(write_only=True)
    ws = theirs.create_sheet("s")
    header = []
    for h, _ in columns:
        c = WriteOnlyCell(ws, value=h)
        c.font, c.fill, c.alignment = HEADER_FONT, HEADER_FILL, Alignment(wrap_text=True, vertical="center")
        header.append(c)
    ws.append(header)
    for row in rows:
        cells = []
        for (_, fmt), v in zip(columns, row):
            if isinstance(v, float) and math.isnan(v):
                v = None
            if isinstance(v, str) and v[:1] in "=+-@":
                c = WriteOnlyCell(ws, value=v)
                c.data_type = "s"
                v = c
            elif fmt and isinstance(v, (int, float, dt.date)):
                c = WriteOnlyCell(ws)
                c.number_format = fmt  # the column's format, before the value
                c.value = v
                v = c
            cells.append(v)
        ws.append(cells)
    theirs.save(tmp_path / "theirs.xlsx")

    def part(path: Path, name: str) -> bytes:
        with zipfile.ZipFile(path) as z:
            xml = z.read(name)
        return xml[xml.index(b"<sheetData>") : xml.index(b"</sheetData>")] if b"<sheetData>" in xml else xml

    assert b"<v>45293</v>" in part(tmp_path / "ours.xlsx", "xl/worksheets/sheet1.xml")  # 2024-01-02
    for name in ("xl/worksheets/sheet1.xml", "xl/styles.xml"):  # the rows, and the formats they use
        assert part(tmp_path / "ours.xlsx", name) == part(tmp_path / "theirs.xlsx", name), name


def test_rows_of_plain_values_are_the_xml_of_the_cell_by_cell_path(tmp_path: Path, monkeypatch) -> None:
    """Rows of text and finite numbers (the overdue cases at 5M: 200,000 values) are written as one
    element each; the sheet and the styles equal those of the cell-by-cell path, byte for byte,
    for every kind of value either path takes, mixed in one sheet."""
    import zipfile

    from openpyxl import Workbook

    import reports.sheet
    from reports.sheet import COUNT, DATE, DECIMAL, PERCENT, Sheet

    columns = [("code", None), ("name", None), ("when", DATE), ("n", COUNT), ("share", PERCENT), ("x", DECIMAL)]
    rows = [
        ["330100", " 杭州 ", dt.date(2024, 1, 2), 12, 0.25, -3],
        ["", "a  b", dt.date(1900, 2, 28), None, float("nan"), 2**60],
        ["trail ", "#N/A", None, -0.0, 1.5e-300, 12345678901234567],
        ["x\ny", "=A1", dt.date(2030, 1, 1), 3, 0.1 + 0.2, 1e20],
        ["+1", "-", dt.date(2030, 1, 2), 3, 0.5, 1],
        [True, "bool", dt.datetime(2024, 1, 1, 5), 1, 1.0, 7],
        ["long", "y" * 40_000, dt.date(2024, 2, 29), 4, float("inf"), 8],
        ["ctrl", "a\x01b", dt.date(2024, 3, 1), 5, 0.5, 9.5],
        ["ok", "正常", dt.date(2024, 3, 2), 6, 0.75, 10],
    ]

    def sheet_xml(name: str, fast: bool) -> dict[str, bytes]:
        monkeypatch.setattr(reports.sheet, "LXML", fast)
        wb = Workbook(write_only=True)
        try:
            Sheet(wb, "s", columns, rows)
        except Exception as exc:  # the same refusal on both paths
            return {"error": repr(exc).encode()}
        wb.save(tmp_path / name)
        with zipfile.ZipFile(tmp_path / name) as z:
            return {part: z.read(part) for part in ("xl/worksheets/sheet1.xml", "xl/styles.xml")}

    fast, cell_by_cell = sheet_xml("fast.xlsx", True), sheet_xml("cells.xlsx", False)
    assert fast == cell_by_cell
    rows[:] = [r for r in rows if r[0] not in ("ctrl",)]  # openpyxl refuses control characters
    fast, cell_by_cell = sheet_xml("fast.xlsx", True), sheet_xml("cells.xlsx", False)
    assert fast == cell_by_cell
    assert b'<c r="A9" t="inlineStr"><is><t>ok</t></is></c>' in fast["xl/worksheets/sheet1.xml"]


def test_the_points_table_sheets_equal_ipdash_assess(golden: Store, tmp_path: Path) -> None:
    """Issue 19: one sheet per section of the shipped scheme; every office's section points, cap
    flag, total and rank as `ipdash assess` gives them for the same year."""
    wb = report(golden.path, tmp_path / "national.xlsx")
    done = ipdash("assess", "--year", "2024", "--db", str(golden.path), "--json")
    assert done.returncode == 0, done.stderr
    expected = {o["office_code"]: o for o in json.loads(done.stdout)["offices"]}
    for sheet, section in (
        ("考核·办案数量", "volume"),
        ("考核·办案质量与效率", "quality"),
        ("考核·督办与信息公开", "supervision"),
    ):
        rows = list(wb[sheet].iter_rows(values_only=True))
        header, body = rows[0], rows[1:]
        assert header[:3] == ("名次", "机构代码", "机构名称") and header[-3:] == ("本组得分", "本组已达上限", "总分")
        assert {r[1] for r in body} == set(expected)
        for r in body:
            o = expected[r[1]]
            assert (r[0], r[-3], r[-1]) == (
                o["rank"],
                pytest.approx(o["sections"][section]["points"]),
                pytest.approx(o["total"]),
            )
            assert r[-2] == ("是" if o["sections"][section]["capped"] else "否")


SNAKE = re.compile(r"\b[a-z]+(?:_[a-z0-9]+)+\b")  # an identifier such as infringement_dispute


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_no_code_or_identifier_reaches_the_workbook(golden: Store, tmp_path: Path, lang: str) -> None:
    """Every cell of every sheet, in both languages: no enumeration code of the contract, no column
    identifier, no scoring code ("minmax", "ok"); kinds, statuses and methods are in words."""
    from ingest.contract import default_contract

    contract = default_contract()
    codes = {v for values in contract.enum_values.values() for v in values if v not in ("true", "false")}
    codes |= {"minmax", "zscore", "percentile", "ok", "insufficient", "national", "province"}
    wb = report(golden.path, tmp_path / f"r-{lang}.xlsx", "--lang", lang)
    leaks = []
    for ws in wb.worksheets:
        for row in ws.iter_rows(values_only=True):
            for value in row:
                if not isinstance(value, str):
                    continue
                if SNAKE.search(value) or value in codes or (lang == "zh" and value.lower() in codes):
                    leaks.append((ws.title, value[:80]))
    assert not leaks, leaks[:20]
