"""Ledgers as clerks keep them (tests/fixtures/ledgers/README.md): every habit either loads as the
clerk meant or is quarantined naming the cell and the reason; nothing is skipped in silence."""

from __future__ import annotations

import contextlib
import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from ingest.readers import RefusedFile
from ingest.run import format_summary, ingest
from queries.store import Store, rows
from tests.fixtures.ledgers import build


def q(store: Store, sql: str, params: list | None = None) -> list[tuple]:
    with contextlib.closing(store.reader()) as con:
        return rows(con, sql, params or [])


def quarantine(store: Store, run_id: int) -> list[tuple]:
    return q(
        store,
        "SELECT sheet, row_number, cell, column_name, value, reason FROM quarantine WHERE run_id = ? "
        "ORDER BY sheet, row_number, column_name",
        [run_id],
    )


def counts(summary) -> tuple[int, ...]:
    c = summary.counts
    return (c.read, c.loaded, c.updated, c.unchanged, c.rejected, c.duplicate_in_file)


def case(store: Store, case_no: str, *columns: str) -> tuple:
    got = q(store, f"SELECT {', '.join(columns)} FROM cases WHERE case_no = ?", [case_no])
    assert len(got) == 1, (case_no, got)
    return got[0]


def test_quarter_sheets_with_an_extra_column_hidden_parts_and_a_key_in_two_sheets(
    tree_store: Store, tmp_path: Path
) -> None:
    s = ingest(tree_store, "cases", [str(build.quarters(tmp_path))], progress=False)
    f = s.files[0]
    assert f.sheets == ["Q1", "Q2", "Q3", "Q4"] and f.skipped_sheets == ["说明"]
    assert f.sheet_rows == {"Q1": 2, "Q2": 2, "Q3": 2, "Q4": 2}
    assert f.blank_rows == 0  # the styled cells down to row 1,048,576 are not rows
    assert f.hidden_sheets == ["Q4"]
    assert f.hidden_columns == [f"Q{i}!{h}" for i in range(1, 5) for h in ("办案部门", "罚款金额")]
    assert f.ignored_columns == ["序号", "办案部门"]
    assert counts(s) == (8, 6, 0, 0, 2, 0)
    got = quarantine(tree_store, s.run_id)
    assert [r[:5] for r in got] == [("Q1", 2, "C2", "case_no", "Q-DUP"), ("Q2", 2, "C2", "case_no", "Q-DUP")]
    assert all("sheet 'Q1' row 2, sheet 'Q2' row 2" in r[5] and "工作表“Q1”第2行" in r[5] for r in got)
    assert case(tree_store, "Q4-2", "received_date", "accepted_date") == (dt.date(2024, 10, 2), dt.date(2024, 10, 3))
    assert "hidden sheets loaded: Q4" in format_summary(s)


def test_cells_merged_down_reach_every_row_they_cover(tree_store: Store, tmp_path: Path) -> None:
    s = ingest(tree_store, "cases", [str(build.merged_down(tmp_path))], progress=False)
    assert counts(s) == (4, 4, 0, 0, 0, 0)
    assert s.files[0].merged_fills == 7 and s.as_json()["merged_fills"] == 7
    for no in ("M-1", "M-2", "M-3"):
        assert case(tree_store, no, "office_code", "handlers", "cross_region") == ("330102", ["王五", "赵六"], True)
    assert case(tree_store, "M-4", "received_date", "accepted_date") == (dt.date(2024, 3, 4), dt.date(2024, 3, 4))


def test_formulas_and_excel_errors(tree_store: Store, tmp_path: Path) -> None:
    s = ingest(tree_store, "cases", [str(build.formulas(tmp_path))], progress=False)
    assert counts(s) == (5, 1, 0, 0, 4, 0)
    assert case(tree_store, "F-1", "fine_cny") == (Decimal("300.00"),)
    got = quarantine(tree_store, s.run_id)
    assert [r[1:5] for r in got] == [
        (3, "J3", "fine_cny", "=100*3"),
        (4, "A4", "case_no", "#N/A"),
        (5, "K5", "handlers", "#REF!"),
        (6, "I6", "closing_type", "#N/A"),
    ]
    assert "open the file in Excel and save it" in got[0][5]
    assert all("Excel error value" in r[5] for r in got[1:])


def test_real_date_time_cells(tree_store: Store, tmp_path: Path) -> None:
    s = ingest(tree_store, "cases", [str(build.date_cells(tmp_path))], progress=False)
    assert counts(s) == (3, 2, 0, 0, 1, 0)
    assert case(tree_store, "D-1", "received_date") == (dt.date(2024, 3, 1),)
    assert case(tree_store, "D-3", "accepted_date") == (dt.date(2024, 3, 5),)
    got = quarantine(tree_store, s.run_id)
    assert [r[1:5] for r in got] == [(3, "F3", "received_date", "2024-03-01 10:30:00")]
    assert "time of day" in got[0][5]


def test_amounts_line_breaks_date_times_and_chinese_numeral_dates(tree_store: Store, tmp_path: Path) -> None:
    s = ingest(tree_store, "cases", [str(build.amounts(tmp_path))], progress=False)
    assert counts(s) == (12, 8, 0, 0, 4, 0)
    fines = dict(q(tree_store, "SELECT case_no, fine_cny FROM cases WHERE case_no LIKE 'A-%'"))
    assert fines == {
        "A-1": Decimal("12500.00"),
        "A-2": Decimal("1234.50"),
        "A-3": Decimal("12000.00"),
        "A-4": Decimal("500.00"),
        "A-9": Decimal("0.00"),
        "A-10": Decimal("0.00"),
        "A-11": Decimal("0.00"),
        "A-12": Decimal("3000.00"),
    }
    assert case(tree_store, "A-4", "handlers") == (["张三", "李四"],)
    assert case(tree_store, "A-9", "received_date") == (dt.date(2024, 3, 1),)
    assert case(tree_store, "A-10", "received_date") == (dt.date(2024, 3, 1),)
    assert case(tree_store, "A-11", "received_date") == (dt.date(2024, 2, 29),)
    got = quarantine(tree_store, s.run_id)
    assert [(r[1], r[3], r[4]) for r in got] == [
        (6, "fine_cny", "12,5"),
        (7, "fine_cny", "1,2,3"),
        (8, "fine_cny", "1,234.567"),
        (9, "received_date", "2024-03-01 10:30"),
    ]
    assert all("groups of three" in r[5] for r in got[:3])
    assert "time of day" in got[3][5]


def test_two_row_header_under_a_title_and_a_header_below_instructions(tree_store: Store, tmp_path: Path) -> None:
    s = ingest(
        tree_store, "cases", [str(build.group_header(tmp_path)), str(build.instructions(tmp_path))], progress=False
    )
    assert counts(s) == (3, 3, 0, 0, 0, 0)
    assert case(tree_store, "G-2", "cross_region", "handlers", "source_row") == (True, ["张三"], 5)
    assert case(tree_store, "I-1", "source_row") == (24,)


def test_separators_and_utf16(tree_store: Store, tmp_path: Path) -> None:
    paths = build.separated(tmp_path)
    s = ingest(tree_store, "cases", [str(p) for p in paths], progress=False)
    assert counts(s) == (3, 3, 0, 0, 0, 0)
    assert [(f.separator, f.encoding) for f in s.files] == [("tab", "utf-8"), ("semicolon", "utf-8"), ("tab", "utf-16")]
    assert case(tree_store, "T-1", "source_row") == (3,)
    assert case(tree_store, "S-1", "fine_cny") == (Decimal("1500.00"),)
    assert case(tree_store, "U-1", "office_code", "case_kind") == ("330100", "infringement_dispute")


def test_xls_and_ods(tree_store: Store, tmp_path: Path) -> None:
    s = ingest(tree_store, "cases", [str(build.legacy_xls(tmp_path)), str(build.ods(tmp_path))], progress=False)
    assert [f.format for f in s.files] == ["xls", "ods"]
    assert counts(s) == (3, 3, 0, 0, 0, 0)
    assert case(tree_store, "L-2", "fine_cny", "source_row") == (Decimal("1500.00"), 4)
    assert case(tree_store, "O-1", "office_code") == ("330100",)


@pytest.mark.parametrize(
    ("builder", "phrases"),
    [
        (lambda p: build.sheet_problems(p)[0], ["sheet '二季度'", "unknown column(s) '颜色'"]),
        (lambda p: build.sheet_problems(p)[1], ["sheet '二季度'", "required column(s) missing", "source"]),
        (build.mixed_encoding, ["line 802", "not UTF-8", "李四"]),
    ],
    ids=["extra-column", "missing-column", "mixed-encoding"],
)
def test_files_refused_whole_name_the_sheet_or_line(tree_store: Store, tmp_path: Path, builder, phrases) -> None:
    before = tree_store.path.read_bytes()
    with pytest.raises(RefusedFile) as info:
        ingest(tree_store, "cases", [str(builder(tmp_path))], progress=False)
    for phrase in phrases:
        assert phrase in str(info.value)
    assert tree_store.path.read_bytes() == before


def test_run_ids_are_never_reused_and_left_over_rejects_are_settled(tree_store: Store, tmp_path: Path) -> None:
    """A run killed as its rejects file appeared left that file behind under an id the store never
    published: the next run takes a later id, and the leftovers are removed, finished or marked."""
    folder = tree_store.rejects_dir
    folder.mkdir(parents=True, exist_ok=True)
    published = q(tree_store, "SELECT max(run_id) FROM ingest_runs")[0][0]  # the tree's three runs
    orphan = folder / f"run-{published + 1:05d}-cases-rejects.csv"  # finished, but its run never published
    orphan.write_text("stale\n", encoding="utf-8")
    unpublished_part = folder / f"run-{published + 2:05d}-cases-rejects.csv.part-999"
    unpublished_part.write_text("stale\n", encoding="utf-8")
    published_part = folder / f"run-{published:05d}-inspectors-rejects.csv.part-998"  # killed after its publish
    published_part.write_text("kept\n", encoding="utf-8")

    s = ingest(tree_store, "cases", [str(build.amounts(tmp_path))], progress=False)
    assert s.run_id == published + 3
    assert s.rejects_file == str(folder / f"run-{published + 3:05d}-cases-rejects.csv")
    assert Path(s.rejects_file).read_text(encoding="utf-8-sig").count("\n") == 1 + 4
    assert not orphan.exists() and (folder / f"run-{published + 1:05d}-cases-rejects.orphaned.csv").exists()
    assert not unpublished_part.exists()
    assert (folder / f"run-{published:05d}-inspectors-rejects.csv").read_text(encoding="utf-8") == "kept\n"
    assert not list(folder.glob("*.part-*"))


def test_a_collective_further_extension_counts_in_full_where_the_rule_allows_it(
    tree_store: Store, tmp_path: Path
) -> None:
    """Golden rows of tests/fixtures/ledgers/README.md ("collective extension"), worked by hand:
    counterfeit cases accepted 2024-06-03 fall under the 2021 rule (90 days, 30 days' extension,
    collective extension allowed): D0 = 2024-09-01. C-YES (45 days, 集体讨论延期 是) -> deadline
    2024-10-16, not flagged; C-NO (45 days, 否) -> capped at 30: 2024-10-01, flagged. C-OLD, accepted
    2021-01-04 under the 2015 rule (1 month + at most 15 days, no collective extension): D0 2021-02-04,
    20 days asked with 是 -> capped at 15: 2021-02-19, flagged."""
    from metrics.config import default_config
    from metrics.monitor import open_cases

    path = tmp_path / "collective.csv"
    header = "案号,办案机构代码,案件类型,专利类型,案件来源,收到日期,立案日期,延长天数,集体讨论延期\n"
    path.write_text(
        header
        + "C-YES,330100,假冒专利,发明,依职权,2024-06-03,2024-06-03,45,是\n"
        + "C-NO,330100,假冒专利,发明,依职权,2024-06-03,2024-06-03,45,否\n"
        + "C-OLD,330100,假冒专利,发明,依职权,2021-01-04,2021-01-04,20,是\n",
        encoding="utf-8",
    )
    s = ingest(tree_store, "cases", [str(path)], progress=False)
    assert counts(s) == (3, 3, 0, 0, 0, 0)
    assert case(tree_store, "C-YES", "extension_collective") == (True,)
    with contextlib.closing(tree_store.reader()) as con:
        got = open_cases(con, default_config(), scope="100000", as_of=dt.date(2024, 9, 20))
    by_case = {r["case_no"]: (r["deadline"], r["extension_over_cap"]) for r in got.to_dicts()}
    assert by_case == {
        "C-YES": (dt.date(2024, 10, 16), False),
        "C-NO": (dt.date(2024, 10, 1), True),
        "C-OLD": (dt.date(2021, 2, 19), True),
    }
