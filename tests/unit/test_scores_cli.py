"""`ipdash scores` prints what SPEC §8 describes, equal to the engine's own numbers."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import subprocess
from pathlib import Path

import pytest

from metrics.config import default_config
from metrics.ranking import rank_offices
from queries.store import Store
from tests.conftest import ipdash_cli


@pytest.fixture(scope="module")
def golden(golden_metrics: Store) -> Store:
    return golden_metrics


def ipdash(*args: str) -> subprocess.CompletedProcess:
    return ipdash_cli(*args)


def test_scores_json_has_the_documented_shape_and_numbers(golden: Store) -> None:
    done = ipdash("scores", "--year", "2024", "--format", "json", "--runs", "50", "--db", str(golden.path))
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout)
    assert (got["year"], got["as_of"]) == (2024, "2024-12-31")
    assert {
        "indicators_version",
        "time_limits_version",
        "scoring_version",
        "method",
        "dimension_weights",
        "data_published_at",
    } <= set(got["methodology"])
    first = got["offices"][0]
    assert {
        "office_code",
        "name",
        "level",
        "parent_code",
        "indicators",
        "dimensions",
        "composite",
        "rank",
        "rank_interval",
        "rank_change",
    } <= set(first)
    assert set(first["indicators"]["T1"]) >= {"value", "numerator", "denominator", "score", "status"}
    assert set(first["dimensions"]) == {"effort", "level", "timeliness", "quality"}
    with contextlib.closing(golden.reader()) as con:
        engine = rank_offices(con, default_config(), year=2024, runs=50)
    assert got["offices"] == json.loads(json.dumps(engine.as_json()["offices"]))
    assert [o["rank"] for o in got["offices"]] == [1, 2, 3]
    p2 = next(o for o in got["offices"] if o["office_code"] == "120000")
    assert p2["indicators"]["Q1"] == {
        "value": None,
        "numerator": 355.0,
        "denominator": 4.0,
        "score": None,
        "status": "insufficient",
    }


def test_scores_csv_one_row_per_office(golden: Store) -> None:
    done = ipdash("scores", "--year", "2024", "--runs", "20", "--db", str(golden.path))
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert [r["office_code"] for r in rows] == ["110000", "130000", "120000"]
    assert float(rows[0]["composite"]) == pytest.approx(53.0196, abs=1e-4)
    assert rows[2]["Q1_status"] == "insufficient" and rows[2]["Q1_value"] == ""
    assert rows[0]["T3_value"] == "76.0"


def test_scores_level_within_and_bad_input(golden: Store) -> None:
    done = ipdash(
        "scores",
        "--year",
        "2024",
        "--level",
        "prefecture",
        "--within",
        "130000",
        "--format",
        "json",
        "--runs",
        "10",
        "--db",
        str(golden.path),
    )
    assert {o["office_code"] for o in json.loads(done.stdout)["offices"]} == {"130100", "130200"}
    bad = ipdash("scores", "--year", "2024", "--as-of", "2024-13-01", "--db", str(golden.path))
    assert bad.returncode == 2 and "is not a date" in bad.stderr
    missing = ipdash("scores", "--year", "2024", "--db", str(Path(golden.path).parent / "nope.duckdb"))
    assert missing.returncode == 2 and "no store" in missing.stderr
