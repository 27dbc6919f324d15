"""The metrics engine against the golden data set worked out by hand in fixtures/metrics/README.md."""

from __future__ import annotations

import contextlib
import datetime as dt

import pytest

from metrics.config import default_config
from metrics.indicators import compute_indicators, register_inputs
from metrics.ranking import rank_offices
from queries.loader import sql
from queries.store import Store
from tests.fixtures.metrics.build import load_golden

D = dt.date
INSUFFICIENT = None

# (value, numerator, denominator) per province, from the README's table.
EXPECTED = {
    "110000": {
        "E1": (67, 67, None),
        "E2": (8.375, 67, 8),
        "E3": (10 / 12, 10, 12),
        "E4": (12 / 67, 12, 67),
        "L1": (1, 40, 40),
        "L2": (INSUFFICIENT, 6, 8),
        "L3": (0.75, 30, 40),
        "L4": (2 / 12, 2, 12),
        "T1": (42 / 52, 42, 52),
        "T2": (45 / 55, 45, 55),
        "T3": (76, 76, 52),
        "T4": (52 / 67, 52, 67),
        "T5": (0.2, 3, 15),
        "Q1": ((500 + 5 * 1318 / 15) / 11, 500, 6),
        "Q2": (2 / 6, 2, 6),
        "Q3": (1 / 6, 1, 6),
    },
    "120000": {
        "E1": (51, 51, None),
        "E2": (5.1, 51, 10),
        "E3": (0.5, 5, 10),
        "E4": (10 / 52, 10, 52),
        "L1": (1, 30, 30),
        "L2": (1, 10, 10),
        "L3": (10 / 30, 10, 30),
        "L4": (0, 0, 10),
        "T1": (35 / 40, 35, 40),
        "T2": (0.75, 30, 40),
        "T3": (90, 90, 42),
        "T4": (42 / 52, 42, 52),
        "T5": (0, 0, 10),
        "Q1": (INSUFFICIENT, 355, 4),
        "Q2": (INSUFFICIENT, 2, 4),
        "Q3": (INSUFFICIENT, 1, 4),
    },
    "130000": {
        "E1": (32, 32, None),
        "E2": (32 / 6, 32, 6),
        "E3": (INSUFFICIENT, 4, 4),
        "E4": (6 / 32, 6, 32),
        "L1": (25 / 31, 25, 31),
        "L2": (INSUFFICIENT, 0, 2),
        "L3": (15 / 31, 15, 31),
        "L4": (INSUFFICIENT, 0, 4),
        "T1": (25 / 35, 25, 35),
        "T2": (1, 28, 28),
        "T3": (91, 91, 35),
        "T4": (35 / 32, 35, 32),
        "T5": (INSUFFICIENT, 0, 2),
        "Q1": ((463 + 5 * 1318 / 15) / 10, 463, 5),
        "Q2": (0.8, 4, 5),
        "Q3": (0, 0, 5),
    },
}
SCORES = {  # min–max among the three provinces
    "110000": {
        "E1": 100,
        "E2": 100,
        "E3": 100,
        "E4": 0,
        "L1": 100,
        "L2": None,
        "L3": 100,
        "L4": 100,
        "T1": 58.1197,
        "T2": 27.2727,
        "T3": 100,
        "T4": 0,
        "T5": 0,
        "Q1": 0,
        "Q2": 0,
        "Q3": 0,
    },
    "120000": {
        "E1": 54.2857,
        "E2": 0,
        "E3": 0,
        "E4": 100,
        "L1": 100,
        "L2": 50,
        "L3": 0,
        "L4": 0,
        "T1": 100,
        "T2": 0,
        "T3": 6.6667,
        "T4": 9.9401,
        "T5": 100,
        "Q1": None,
        "Q2": None,
        "Q3": None,
    },
    "130000": {
        "E1": 0,
        "E2": 7.1247,
        "E3": None,
        "E4": 63.5870,
        "L1": 0,
        "L2": None,
        "L3": 36.1290,
        "L4": None,
        "T1": 0,
        "T2": 100,
        "T3": 0,
        "T4": 100,
        "T5": None,
        "Q1": 100,
        "Q2": 100,
        "Q3": 100,
    },
}
DIMENSIONS = {
    "110000": ({"effort": 75, "level": 100, "timeliness": 37.0785, "quality": 0}, 53.0196, 1),
    "130000": ({"effort": 23.5705, "level": 18.0645, "timeliness": 50, "quality": 100}, 47.9088, 2),
    "120000": ({"effort": 38.5714, "level": 37.5, "timeliness": 43.3214, "quality": None}, 39.7976, 3),
}


@pytest.fixture(scope="module")
def golden(tmp_path_factory) -> Store:
    tmp = tmp_path_factory.mktemp("golden")
    return load_golden(Store(tmp / "db.duckdb"), tmp / "in")


@pytest.fixture(scope="module")
def ranking(golden: Store):
    with contextlib.closing(golden.reader()) as con:
        return rank_offices(con, default_config(), year=2024, runs=200)


def approx(x, rel=1e-4):
    return None if x is None else pytest.approx(x, rel=rel, abs=1e-4)


def test_indicator_values_numerators_and_denominators(ranking) -> None:
    by_code = {o["office_code"]: o for o in ranking.offices}
    for code, expected in EXPECTED.items():
        for ind, (value, num, den) in expected.items():
            got = by_code[code]["indicators"][ind]
            assert got["value"] == approx(value), (code, ind)
            assert got["numerator"] == approx(num), (code, ind)
            assert got["denominator"] == approx(den), (code, ind)
            assert got["status"] == ("insufficient" if value is None else "ok"), (code, ind)


def test_normalised_dimension_and_composite_scores_and_ranks(ranking) -> None:
    by_code = {o["office_code"]: o for o in ranking.offices}
    for code, expected in SCORES.items():
        for ind, score in expected.items():
            assert by_code[code]["indicators"][ind]["score"] == approx(score), (code, ind)
    for code, (dims, composite, rank) in DIMENSIONS.items():
        o = by_code[code]
        assert {k: approx(v) for k, v in dims.items()} == o["dimensions"], code
        assert o["composite"] == approx(composite)
        assert o["rank"] == rank
    assert [o["office_code"] for o in ranking.offices] == ["110000", "130000", "120000"]


def test_q3_interval_is_clopper_pearson(ranking) -> None:
    by_code = {o["office_code"]: o for o in ranking.offices}
    assert by_code["110000"]["indicators"]["Q3"]["interval"] == [approx(0.00421074), approx(0.64123458)]
    assert by_code["130000"]["indicators"]["Q3"]["interval"] == [0.0, approx(0.52182375)]


def test_rank_intervals_are_seeded_and_bracket_sensible_ranks(golden: Store, ranking) -> None:
    for o in ranking.offices:
        lo, hi = o["rank_interval"]
        assert 1 <= lo <= o["rank"] <= hi <= 3  # the 5th–95th percentile interval contains the point rank
    # Seeded, so pinned: P1 is never last, P2 never first, P3 anywhere (README, "Rank intervals").
    assert {o["office_code"]: o["rank_interval"] for o in ranking.offices} == {
        "110000": [1, 2],
        "130000": [1, 3],
        "120000": [2, 3],
    }
    with contextlib.closing(golden.reader()) as con:
        again = rank_offices(con, default_config(), year=2024, runs=200)
    assert [o["rank_interval"] for o in again.offices] == [o["rank_interval"] for o in ranking.offices]
    assert ranking.methodology["monte_carlo_runs"] == 200


def test_zero_quality_weight_reorders_as_the_readme_says(golden: Store) -> None:
    with contextlib.closing(golden.reader()) as con:
        r = rank_offices(
            con,
            default_config(),
            year=2024,
            runs=20,
            dimension_weights={"effort": 1, "level": 1, "timeliness": 1, "quality": 0},
        )
    got = {o["office_code"]: (o["composite"], o["rank"]) for o in r.offices}
    assert got == {"110000": (approx(70.6928), 1), "120000": (approx(39.7976), 2), "130000": (approx(30.5450), 3)}


DEADLINES = [  # (case, deadline, over the extension cap, acceptance due)
    ("P1a1-01", D(2024, 6, 5), False, D(2024, 3, 8)),
    ("P1b1-01", D(2024, 7, 12), False, D(2024, 4, 9)),
    ("P1c-01", D(2024, 9, 1), False, None),
    ("P1f-01", D(2024, 10, 3), False, D(2024, 7, 8)),
    ("P1g-01", D(2025, 6, 24), False, D(2025, 1, 26)),  # Sunday Jan 26 is a make-up workday
    ("P2a1-01", D(2024, 4, 30), False, D(2024, 2, 6)),  # Sunday Feb 4 is a make-up workday
    ("P2b-01", D(2024, 6, 27), False, D(2024, 2, 8)),
    ("P2c-01", D(2024, 9, 3), True, None),
    ("P2e-01", D(2025, 3, 4), False, D(2024, 12, 9)),
    ("P3a-01", D(2024, 6, 1), False, D(2024, 3, 7)),
    ("P3b2-01", D(2023, 9, 5), False, D(2023, 6, 8)),
    ("P3c-01", D(2024, 8, 8), False, D(2024, 5, 11)),
    ("P3f-01", D(2025, 3, 23), False, D(2024, 12, 27)),
]


@pytest.mark.parametrize("case, deadline, over_cap, due", DEADLINES)
def test_deadlines_extension_cap_and_acceptance_due(golden: Store, case, deadline, over_cap, due) -> None:
    year = 2025 if case == "P1g-01" else (2023 if case == "P3b2-01" else 2024)
    with contextlib.closing(golden.reader()) as con:
        register_inputs(con, default_config())
        got = con.sql(
            f"SELECT deadline, extension_over_cap, acceptance_due FROM ({sql('case_facts')}) "
            "WHERE case_no = $case AND unit = office_code",
            params={"year": year, "as_of": D(year, 12, 31), "case": case},
        ).fetchall()
    assert got == [(deadline, over_cap, due)]


def test_parent_offices_aggregate_their_subtree(golden: Store) -> None:
    with contextlib.closing(golden.reader()) as con:
        t = compute_indicators(con, default_config(), year=2024).frame
    row = {r["office_code"]: r for r in t.to_dicts()}
    assert (row["130100"]["E1_num"], row["130100"]["L1_num"], row["130100"]["L1_den"]) == (20, 22, 22)
    assert (row["130100"]["T1_num"], row["130100"]["T1_den"]) == (12, 22)
    assert row["130200"]["E1_num"] == 10
    assert row["100000"]["E1_num"] == 67 + 51 + 32
    assert row["130201"]["E3_status"] == "insufficient"  # an office with too few cases


def test_monitoring_and_integrity_signals(golden: Store) -> None:
    from metrics.monitor import office_monitor, open_cases

    with contextlib.closing(golden.reader()) as con:
        m = {
            r["office_code"]: r for r in office_monitor(con, default_config(), year=2024, level="provincial").to_dicts()
        }
        cases = open_cases(con, default_config(), scope="110000", as_of=D(2024, 12, 31))
    assert [(m[c]["open_cases"], m[c]["closed_cases"]) for c in ("110000", "120000", "130000")] == [
        (15, 52),
        (10, 42),
        (2, 35),
    ]
    assert m["110000"]["disposition_days"] == approx(365 * 15 / 52)
    assert [m[c]["acceptance_gap_days"] for c in ("110000", "120000", "130000")] == [4, 0, 1]
    assert [m[c]["extension_rate"] for c in ("110000", "120000", "130000")] == [0, 0.375, 0]
    assert [m[c]["deadline_bunching_rate"] for c in ("110000", "120000", "130000")] == [0, 0.5, approx(12 / 35)]
    assert m["120000"]["late_withdrawal_rate"] == 0 and m["110000"]["late_withdrawal_rate"] is None
    assert m["110000"]["deadline_bunching_rate_peer_median"] == approx(12 / 35)
    assert cases.height == 15
    assert cases["status"].to_list()[:3] == ["overdue"] * 3 and set(cases["status"].to_list()[3:]) == {"ok"}
    first_ok = cases.filter(cases["status"] == "ok").row(0, named=True)
    assert (first_ok["age_days"], first_ok["days_left"]) == (56, 36)


def test_sensitivity_shows_what_drives_a_rank(golden: Store) -> None:
    from metrics.ranking import sensitivity

    with contextlib.closing(golden.reader()) as con:
        got = sensitivity(con, default_config(), office_code="130000", year=2024, level="provincial")
    assert (got["rank"], got["peers"]) == (2, 3)
    assert got["without"]["T1"] == 1 and got["without"]["L3"] == 3 and got["without"]["E1"] == 2
    assert set(got["methods"]) == {"minmax", "zscore", "percentile", "target"}
    assert got["methods"]["minmax"] == 2


def test_parametric_bootstrap_gives_similar_intervals_to_the_exact_one(golden: Store, monkeypatch) -> None:
    import metrics.ranking as R

    with contextlib.closing(golden.reader()) as con:
        exact = rank_offices(con, default_config(), year=2024, runs=300)
        monkeypatch.setattr(R, "EXACT_BOOTSTRAP_LIMIT", 0)
        approx_run = rank_offices(con, default_config(), year=2024, runs=300)
    assert approx_run.methodology["monte_carlo_bootstrap"].startswith("parametric")
    assert exact.methodology["monte_carlo_bootstrap"] == "exact"
    for a, b in zip(exact.offices, approx_run.offices):
        assert a["rank"] == b["rank"]
        assert abs(a["rank_interval"][0] - b["rank_interval"][0]) <= 1
        assert abs(a["rank_interval"][1] - b["rank_interval"][1]) <= 1


def test_archives_reach_the_bootstrap_in_case_order(golden_metrics) -> None:
    """The Monte Carlo resamples archives by position, so their order must be fixed (by office, then
    case), not whatever order a parallel scan returns: the same seed must give the same intervals."""
    from metrics.ranking import load_archives, peer_set

    config = default_config()
    with contextlib.closing(golden_metrics.reader()) as con:
        table = compute_indicators(con, config, year=2024)
        peers, _ = peer_set(table.frame, level="provincial", within=None, config=config)
        got = load_archives(con, peers, year=2024, as_of=dt.date(2024, 12, 31))
        codes = peers["office_code"].to_list()
        for i, code in enumerate(codes):
            expected = [
                float(t)
                for (t,) in con.execute(
                    f"SELECT appraisal_total FROM ({sql('case_facts')}) WHERE closed_in_year AND appraised "
                    "AND unit = $u ORDER BY office_code, case_no",
                    {"year": 2024, "as_of": dt.date(2024, 12, 31), "u": code},
                ).fetchall()
            ]
            assert got.total[got.office == i].tolist() == expected, code
        assert got.office.size == 15
