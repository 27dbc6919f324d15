"""Fuzzing every ingest reader and the checklist upload (hypothesis): random bytes, truncated files,
huge cells, formulas in cells, wrong sheet layouts. The outcome is always either a clear refusal
(RefusedFile, naming the file) with the store exactly as before, or a completed ingest whose rows
are all accounted for — never another exception, never a partial load."""

from __future__ import annotations

import contextlib
import io
import shutil
import tempfile
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.readers import RefusedFile
from ingest.run import Assignment, ingest
from queries.store import Store
from tests.conftest import INGEST

FUZZ = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    """A store with the golden office tree and cases, copied for every example."""
    folder = tmp_path_factory.mktemp("fuzz-base")
    store = Store(folder / "ipdash.duckdb")
    for kind, name in (
        ("offices", "offices.csv"),
        ("staffing", "staffing.csv"),
        ("inspectors", "inspectors.csv"),
        ("cases", "cases_gb18030.csv"),
    ):
        ingest(store, kind, [str(INGEST / name)], progress=False)
    return folder


@contextlib.contextmanager
def fresh(base: Path):
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copyfile(base / "ipdash.duckdb", Path(tmp) / "ipdash.duckdb")
        yield Store(Path(tmp) / "ipdash.duckdb"), Path(tmp)


def attempt(store: Store, kind: str, path: Path, **kw) -> None:
    """Ingest `path`; a refusal must name the file and leave the store's bytes untouched."""
    before = store.path.read_bytes()
    try:
        summary = ingest(store, kind, [str(path)], progress=False, **kw)
    except RefusedFile as exc:
        assert path.name in str(exc), exc  # the message names the file
        assert store.path.read_bytes() == before
        return
    c = summary.counts
    assert c.read == c.loaded + c.updated + c.unchanged + c.rejected + c.duplicate_in_file


KINDS = ["offices", "staffing", "inspectors", "cases", "appraisals"]


@FUZZ
@given(data=st.binary(max_size=4096), kind=st.sampled_from(KINDS), ext=st.sampled_from(["csv", "xlsx", "parquet"]))
def test_random_bytes_are_refused_or_accounted_for(base, data, kind, ext) -> None:
    with fresh(base) as (store, tmp):
        path = tmp / f"upload.{ext}"
        path.write_bytes(data)
        attempt(store, kind, path)


def _workbook(rows: list[list]) -> bytes:
    """An XLSX of `rows`; control characters, which a worksheet cannot hold, are removed first."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    wb = openpyxl.Workbook()
    ws = wb.active
    for r in rows:
        ws.append([ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v for v in r])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


CASE_HEADER = (INGEST / "cases_gb18030.csv").read_bytes().decode("gb18030").splitlines()[0].split(",")
cell = st.one_of(
    st.text(max_size=30),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=True),
    st.sampled_from(
        [
            "=1+1",
            "+SUM(A1:A9)",
            "-2+3",
            "@cmd",
            '=HYPERLINK("http://x")',
            "",
            "2024-02-30",
            "x" * 40_000,
            "１２３",
            "\x00\x01",
        ]
    ),
)


@FUZZ
@given(
    title_rows=st.integers(0, 3),
    rows=st.lists(st.lists(cell, min_size=0, max_size=len(CASE_HEADER) + 2), max_size=12),
    cut=st.one_of(st.none(), st.integers(0, 5000)),
    shuffle=st.booleans(),
)
def test_case_workbooks_with_odd_layouts_formulas_and_huge_cells(base, title_rows, rows, cut, shuffle) -> None:
    header = list(reversed(CASE_HEADER)) if shuffle else list(CASE_HEADER)
    data = _workbook([["标题 title"]] * title_rows + [header] + rows)
    if cut is not None:
        data = data[:cut]  # a truncated upload
    with fresh(base) as (store, tmp):
        path = tmp / "cases.xlsx"
        path.write_bytes(data)
        attempt(store, "cases", path)


@FUZZ
@given(
    lines=st.lists(st.lists(cell.map(str), max_size=len(CASE_HEADER) + 2), max_size=15),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "gb18030"]),
    cut=st.one_of(st.none(), st.integers(0, 400)),
)
def test_case_csv_files_with_odd_rows(base, lines, encoding, cut) -> None:
    text = "\n".join([",".join(CASE_HEADER)] + [",".join(r) for r in lines])
    data = text.encode(encoding, errors="replace")
    if cut is not None:
        data = data[:cut]
    with fresh(base) as (store, tmp):
        path = tmp / "cases.csv"
        path.write_bytes(data)
        attempt(store, "cases", path)


CHECKLIST_HEADER = [
    "抽查批次",
    "办案机构代码",
    "机构名称",
    "案号",
    "案件类型",
    "评查人员",
    "立案受理",
    "调查取证",
    "事实认定",
    "法律适用",
    "办案程序",
    "文书归档",
    "否决项",
    "评查日期",
]


@FUZZ
@given(
    rows=st.lists(st.lists(cell, max_size=len(CHECKLIST_HEADER) + 1), max_size=10),
    title=st.booleans(),
    cut=st.one_of(st.none(), st.integers(0, 6000)),
)
def test_the_checklist_upload_never_crashes_or_loads_what_is_not_assigned(base, rows, title, cut) -> None:
    """The dashboard's upload path: ingest with the inspector's assignment (here: nothing assigned),
    so whatever the workbook holds, nothing may be loaded."""
    data = _workbook(
        ([["案卷评查表 · Archive checklist"], ["满分 max →"]] if title else []) + [CHECKLIST_HEADER] + rows
    )
    if cut is not None:
        data = data[:cut]
    with fresh(base) as (store, tmp):
        path = tmp / "checklist.xlsx"
        path.write_bytes(data)
        before = store.path.read_bytes()
        try:
            summary = ingest(store, "appraisals", [str(path)], progress=False, only=Assignment("I-1", frozenset()))
        except RefusedFile:
            assert store.path.read_bytes() == before
            return
        assert summary.counts.loaded == 0 and summary.counts.updated == 0
