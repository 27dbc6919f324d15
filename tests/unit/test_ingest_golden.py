"""Golden ingest fixtures: each input form, with the outcome written in fixtures/ingest/README.md."""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from ingest.readers import RefusedFile
from ingest.run import ingest
from queries.store import Store, rows
from tests.conftest import INGEST
from tests.fixtures.ingest.builders import write_parquet, write_xlsx


def table(store: Store, sql: str) -> list[tuple]:
    with contextlib.closing(store.reader()) as con:
        return rows(con, sql)


def test_office_tree_loads_with_paths(tree_store: Store) -> None:
    got = table(
        tree_store,
        "SELECT office_code, level, parent_code, province_code, prefecture_code FROM offices ORDER BY office_code",
    )
    assert got == [
        ("100000", "national", None, None, None),
        ("320000", "provincial", "100000", "320000", None),
        ("320100", "prefecture", "320000", "320000", "320100"),
        ("320102", "county", "320100", "320000", "320100"),
        ("330000", "provincial", "100000", "330000", None),
        ("330100", "prefecture", "330000", "330000", "330100"),
        ("330102", "county", "330100", "330000", "330100"),
    ]
    assert table(tree_store, "SELECT inspector_id, certified, fields, active FROM inspectors ORDER BY 1") == [
        ("INS001", True, ["mechanical", "design"], True),
        ("INS002", True, ["electrical"], True),
        ("INS003", False, [], True),
    ]


def test_gb18030_csv_with_chinese_headers_and_labels(tree_store: Store) -> None:
    s = ingest(tree_store, "cases", [str(INGEST / "cases_gb18030.csv")], progress=False)
    assert s.files[0].encoding == "gb18030"
    assert s.counts.as_dict() == {
        "read": 5,
        "loaded": 5,
        "updated": 0,
        "unchanged": 0,
        "rejected": 0,
        "duplicate_in_file": 0,
    }
    got = {
        r[0]: r[1:]
        for r in table(
            tree_store,
            """
        SELECT case_no, office_code, case_kind, patent_type, source, received_date, accepted_date, closed_date,
               closing_type, suspended_days, extension_days, hearing, on_the_spot, cross_region, sectors,
               fine_cny, review_outcome, handlers, updated_at, source_row FROM cases""",
        )
    }
    assert got["浙知纠〔2024〕1号"] == (
        "330100",
        "infringement_dispute",
        "design",
        "request",
        dt.date(2024, 1, 31),
        dt.date(2024, 2, 5),
        dt.date(2024, 4, 30),
        "mediated",
        0,
        0,
        "oral",
        False,
        False,
        ["e_commerce"],
        Decimal("0.00"),
        "none",
        ["张三", "李四"],
        dt.datetime(2024, 4, 30, 16, 0),
        2,
    )
    # Full-width digits in the office code, slash dates, 、 as a list separator, an open case.
    assert got["浙知纠〔2024〕2号"][:8] == (
        "330100",
        "infringement_dispute",
        "utility_model",
        "online",
        dt.date(2024, 2, 29),
        dt.date(2024, 3, 1),
        None,
        None,
    )
    assert got["浙知纠〔2024〕2号"][13] == ["e_commerce", "food_drug"]
    # Stray spaces, dotted dates, a thousands separator, review outcome 维持.
    assert got["浙知罚〔2024〕3号"][0] == "330102"
    assert got["浙知罚〔2024〕3号"][4:6] == (dt.date(2024, 5, 6), dt.date(2024, 5, 6))
    assert got["浙知罚〔2024〕3号"][14:16] == (Decimal("12500.00"), "upheld")
    # 年月日 dates, suspension and extension, 20240701 as an updated_at.
    assert got["苏知纠〔2024〕1号"][4:11] == (
        dt.date(2024, 2, 8),
        dt.date(2024, 2, 18),
        dt.date(2024, 7, 1),
        "decided_infringing",
        30,
        10,
        "written",
    )
    assert got["苏知纠〔2024〕1号"][17] == dt.datetime(2024, 7, 1)
    # Compact dates, an empty handler list and empty updated_at.
    assert got["苏知纠〔2024〕2号"][4:7] == (dt.date(2024, 3, 20), dt.date(2024, 3, 21), dt.date(2024, 4, 10))
    assert got["苏知纠〔2024〕2号"][16:18] == ([], None)
    # Provenance on every loaded row.
    assert table(tree_store, f"SELECT count(*) FROM cases WHERE source_sha256 = '{s.files[0].sha256}'") == [(5,)]


def test_xlsx_title_rows_merged_cells_and_two_sheets(tree_store: Store, tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "ledger.xlsx")
    s = ingest(tree_store, "cases", [str(path)], progress=False)
    f = s.files[0]
    assert (f.sheets, f.skipped_sheets) == (["杭州", "南京"], ["说明"])
    assert s.counts.as_dict() == {
        "read": 5,
        "loaded": 5,
        "updated": 0,
        "unchanged": 0,
        "rejected": 0,
        "duplicate_in_file": 0,
    }
    got = {
        r[0]: r[1:]
        for r in table(
            tree_store,
            "SELECT case_no, office_code, received_date, accepted_date, "
            "closed_date, suspended_days, fine_cny FROM cases",
        )
    }
    assert got["杭知纠〔2024〕1号"] == (
        "330100",
        dt.date(2024, 1, 31),
        dt.date(2024, 2, 5),
        dt.date(2024, 4, 30),
        0,
        Decimal("0.00"),
    )
    assert got["杭知罚〔2024〕3号"][-1] == Decimal("1500.00")
    # Excel serial numbers 45352/45355/45400 are 2024-03-01, 2024-03-04 and 2024-04-18.
    assert got["NJ-1"] == ("320100", dt.date(2024, 3, 1), dt.date(2024, 3, 4), dt.date(2024, 4, 18), 0, Decimal("0.00"))
    assert got["NJ-2"][1:5] == (dt.date(2024, 3, 5), dt.date(2024, 3, 6), dt.date(2024, 4, 1), 5)
    # Row numbers are the Excel rows a clerk sees (header on row 3, data from row 4).
    assert table(tree_store, "SELECT case_no, source_row FROM cases ORDER BY case_no") == [
        ("NJ-1", 4),
        ("NJ-2", 5),
        ("杭知纠〔2024〕1号", 4),
        ("杭知纠〔2024〕2号", 5),
        ("杭知罚〔2024〕3号", 6),
    ]


def test_parquet_with_numeric_codes_and_same_case_in_another_spelling(tree_store: Store, tmp_path: Path) -> None:
    ingest(tree_store, "cases", [str(INGEST / "cases_gb18030.csv")], progress=False)
    before = table(
        tree_store, "SELECT source_sha256, source_row, run_id FROM cases WHERE case_no = '浙知纠〔2024〕1号'"
    )
    s = ingest(tree_store, "cases", [str(write_parquet(tmp_path / "cases.parquet"))], progress=False)
    # Row 1 is the GB18030 file's first case with identical values: unchanged, provenance kept.
    assert s.counts.as_dict() == {
        "read": 3,
        "loaded": 2,
        "updated": 0,
        "unchanged": 1,
        "rejected": 0,
        "duplicate_in_file": 0,
    }
    after = table(tree_store, "SELECT source_sha256, source_row, run_id FROM cases WHERE case_no = '浙知纠〔2024〕1号'")
    assert after == before
    assert table(
        tree_store, "SELECT office_code, sectors, on_the_spot, updated_at FROM cases WHERE case_no = 'PQ-2'"
    ) == [("330102", ["e_commerce", "food_drug"], True, dt.datetime(2024, 8, 30, 9, 0))]


EXPECTED_ERRORS = [  # (row, column, a phrase of the reason) — see fixtures/ingest/README.md
    (3, "office_code", "is not in the office roster"),
    (4, "accepted_date", "accepted_date is before received_date"),
    (5, "closing_type", "a closed case needs its closing_type"),
    (6, "closing_type", "closing_type given but closed_date is empty"),
    (7, "received_date", "not a date"),
    (8, "case_kind", "not an accepted value"),
    (9, "suspended_days", "whole number"),
    (10, "case_no", "required value is missing"),
    (11, "office_code", "6-digit"),
    (13, "case_no", "row 13, row 14"),
    (14, "case_no", "row 13, row 14"),
    (15, "on_the_spot", "yes or no"),
    (16, "fine_cny", "amount of 0 or more"),
    (16, "patent_type", "not an accepted value"),
    (17, "received_date", "not a date"),
    (19, "closed_date", "closed_date is before accepted_date"),
]


def test_planted_errors_are_quarantined_with_row_column_and_reason(tree_store: Store) -> None:
    s = ingest(tree_store, "cases", [str(INGEST / "cases_errors.csv")], progress=False)
    assert s.counts.as_dict() == {
        "read": 18,
        "loaded": 2,
        "updated": 0,
        "unchanged": 0,
        "rejected": 15,
        "duplicate_in_file": 1,
    }
    assert s.files[0].blank_rows == 1
    q = table(
        tree_store,
        "SELECT row_number, column_name, reason, file, value FROM quarantine ORDER BY row_number, column_name",
    )
    assert [(r[0], r[1]) for r in q] == [(r, c) for r, c, _ in EXPECTED_ERRORS]
    for (row, col, phrase), got in zip(EXPECTED_ERRORS, q):
        assert phrase in got[2], (row, col, got[2])
        assert got[3].endswith("cases_errors.csv")
    assert sorted(r[0] for r in table(tree_store, "SELECT case_no FROM cases")) == ["E-OK-1", "E-OK-2"]
    assert table(
        tree_store,
        "SELECT case_kind, patent_type, source, closing_type, on_the_spot, fine_cny FROM cases "
        "WHERE case_no = 'E-OK-2'",
    ) == [("counterfeit", "utility_model", "report", "penalized", True, Decimal("3000.50"))]
    # The rejects file opens in Excel in Chinese (BOM) and never carries a live formula.
    raw = Path(s.rejects_file).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    with open(s.rejects_file, encoding="utf-8-sig", newline="") as fh:
        lines = list(csv.reader(fh))
    assert lines[0] == ["文件 file", "工作表 sheet", "行 row", "列 column", "单元格 cell", "值 value", "原因 reason"]
    assert len(lines) == 1 + len(EXPECTED_ERRORS)
    assert not any(cell.startswith(("=", "+", "@")) for line in lines[1:] for cell in line)
    raw_json = table(tree_store, "SELECT raw FROM quarantine WHERE row_number = 17")[0][0]
    assert "HYPERLINK" in raw_json  # the whole raw row is kept in the store


@pytest.mark.parametrize(
    "content, phrase",
    [
        (b"", "empty"),
        (b"\x00\x01\x02binary", "binary"),
        ("编号,名字\n1,2\n".encode(), "required column(s) missing"),
        ("案号,办案机构代码,案件类型,专利类型,案件来源,收到日期,立案日期,颜色\n".encode(), "unknown column(s) '颜色'"),
        (b"PK\x03\x04garbage", "cannot be opened as an Excel workbook"),
        (b"PAR1garbage", "cannot be read as Parquet"),
    ],
)
def test_unreadable_file_is_refused_whole_and_changes_nothing(
    tree_store: Store, tmp_path: Path, content: bytes, phrase: str
) -> None:
    good = INGEST / "cases_gb18030.csv"
    bad = tmp_path / "bad.csv"
    bad.write_bytes(content)
    before = tree_store.path.read_bytes()
    version = tree_store.data_version()
    with pytest.raises(RefusedFile, match=None) as info:
        ingest(tree_store, "cases", [str(good), str(bad)], progress=False)
    assert phrase in str(info.value)
    assert str(bad) in str(info.value)
    assert tree_store.path.read_bytes() == before
    assert tree_store.data_version() == version


def test_gb18030_text_beyond_the_first_64_kib_is_still_detected(tree_store: Store, tmp_path: Path) -> None:
    lines = ["office_code,name,level,parent_code"]
    lines += [f"{331000 + i},county {i},county,330100" for i in range(2500)]  # ~80 KB of ASCII first
    lines.append("333999,临安区知识产权局,区县级,330100")
    path = tmp_path / "late_gb.csv"
    path.write_bytes(("\n".join(lines) + "\n").encode("gb18030"))
    s = ingest(tree_store, "offices", [str(path)], progress=False)
    assert s.files[0].encoding == "gb18030"
    assert (s.counts.loaded, s.counts.rejected) == (2501, 0)
    assert table(tree_store, "SELECT name FROM offices WHERE office_code = '333999'") == [("临安区知识产权局",)]


def test_text_in_neither_utf8_nor_gb18030_is_refused(tree_store: Store, tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes(b"office_code,name,level,parent_code\n330199,caf\xff,county,330100\n")
    with pytest.raises(RefusedFile, match="neither UTF-8 nor GB18030"):
        ingest(tree_store, "offices", [str(path)], progress=False)


def test_appraisals_grade_veto_and_reference_checks(tree_store: Store) -> None:
    ingest(tree_store, "cases", [str(INGEST / "cases_gb18030.csv")], progress=False)
    s = ingest(tree_store, "appraisals", [str(INGEST / "appraisals.csv")], progress=False)
    assert s.counts.as_dict() == {
        "read": 8,
        "loaded": 3,
        "updated": 0,
        "unchanged": 0,
        "rejected": 5,
        "duplicate_in_file": 0,
    }
    got = table(
        tree_store,
        "SELECT case_no, total, grade, veto, historical, checklist_version FROM appraisals ORDER BY source_row",
    )
    assert got == [
        ("浙知纠〔2024〕1号", Decimal("93.00"), "excellent", [], True, "2016-1"),
        ("苏知纠〔2024〕1号", Decimal("71.00"), "qualified", [], True, "2016-1"),
        # 100 points, but a missing decision document makes it unqualified whatever the total.
        ("浙知罚〔2024〕3号", Decimal("100.00"), "unqualified", ["missing_decision"], True, "2016-1"),
    ]
    # Appraisals and their quarantine are operational records: in the operational store, with the
    # run and its audit entry, and the analytic file is not republished for them.
    reasons = {
        (r["row_number"], r["column_name"]): r["reason"]
        for r in tree_store.ops.read("SELECT row_number, column_name, reason FROM appraisal_quarantine")
    }
    assert table(tree_store, "SELECT count(*) FROM quarantine") == [(0,)]
    assert "above this item's maximum of 10" in reasons[(5, "acceptance")]
    assert "no case 浙知纠〔2024〕9号 at office 330100" in reasons[(6, "case_no")]
    assert "inspector INS999 is not in the inspector roster" in reasons[(7, "inspector_id")]
    assert "draw D-2024-01 is unknown" in reasons[(8, "draw_id")]
    assert "required value is missing" in reasons[(9, "law")]


def test_a_reader_opened_before_an_ingest_keeps_its_view(tree_store: Store) -> None:
    before = tree_store.reader()
    try:
        ingest(tree_store, "cases", [str(INGEST / "cases_gb18030.csv")], progress=False)
        assert rows(before, "SELECT count(*) FROM cases") == [(0,)]  # the old file, whole
        with contextlib.closing(tree_store.reader()) as after:
            assert rows(after, "SELECT count(*) FROM cases") == [(5,)]  # the next reader sees all of it
    finally:
        before.close()
