"""The two ways ingest types a frame give the same frame: one select for a few rows (an online
appraisal, `ingest.parse.SMALL_FRAME`) and per-column queries joined back for files. Every
fixture file, and random messy values in every column, go through both."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from ingest import parse
from ingest.contract import default_contract
from ingest.readers import read_any
from tests import FIXTURES

INGEST = FIXTURES / "ingest"
FILES = {
    "cases_errors.csv": "cases",
    "cases_gb18030.csv": "cases",
    "appraisals.csv": "appraisals",
    "offices.csv": "offices",
    "staffing.csv": "staffing",
    "inspectors.csv": "inspectors",
}


def both(frame: pl.DataFrame, kind: str, monkeypatch: pytest.MonkeyPatch) -> tuple[pl.DataFrame, pl.DataFrame]:
    contract = default_contract()
    spec = contract.kinds[kind]
    if parse.EXTRA not in frame.columns:
        frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias(parse.EXTRA))
    with monkeypatch.context() as m:
        m.setattr(parse, "SMALL_FRAME", 10**9)
        small = parse._typed_frame(frame, spec, contract)
    with monkeypatch.context() as m:
        m.setattr(parse, "SMALL_FRAME", -1)
        large = parse._typed_frame(frame, spec, contract)
    return small, large


@pytest.mark.parametrize("name", sorted(FILES))
def test_fixture_files_type_alike_on_both_paths(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    kind = FILES[name]
    table = read_any(INGEST / name, default_contract().kinds[kind])
    small, large = both(table.frame, kind, monkeypatch)
    assert small.height == table.frame.height > 0
    assert_frame_equal(small, large)


MESSY = st.one_of(
    st.none(),
    st.sampled_from(
        [
            "",
            " ",
            "２０２４年３月５日",
            "2024/3/5",
            "20240305",
            "45357",
            "专利侵权纠纷",
            "design",
            "１２",
            "-3",
            "1e3",
            "否",
            "true",
        ]
    ),
    st.text(max_size=12),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.lists(MESSY, min_size=12, max_size=12), min_size=1, max_size=8))
def test_random_cases_type_alike_on_both_paths(rows: list[list[str | None]], monkeypatch: pytest.MonkeyPatch) -> None:
    header = [
        "case_no",
        "office_code",
        "case_kind",
        "patent_type",
        "source",
        "received_date",
        "accepted_date",
        "closed_date",
        "closing_type",
        "suspended_days",
        "on_the_spot",
        "fine_cny",
    ]
    frame = pl.DataFrame(
        {h: [r[k] for r in rows] for k, h in enumerate(header)}, schema=dict.fromkeys(header, pl.String)
    ).with_columns(pl.lit("Sheet1").alias("_sheet"), pl.int_range(2, len(rows) + 2).cast(pl.String).alias("_row"))
    small, large = both(frame, "cases", monkeypatch)
    assert_frame_equal(small, large)
