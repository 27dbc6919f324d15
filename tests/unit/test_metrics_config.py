"""The metrics configuration is validated on load; each message names file, key and problem."""

from __future__ import annotations

from importlib import resources

import pytest

from metrics.config import ConfigError, load_config

PKG = resources.files("metrics")
IND = (PKG / "indicators.toml").read_text("utf-8")
LIM = (PKG / "time_limits.toml").read_text("utf-8")
SCO = (PKG / "scoring.toml").read_text("utf-8")


def test_shipped_configuration_loads() -> None:
    cfg = load_config(indicators=IND, time_limits=LIM, scoring=SCO)
    assert [i.id for i in cfg.indicators] == [
        "E1",
        "E2",
        "E3",
        "E4",
        "L1",
        "L2",
        "L3",
        "L4",
        "T1",
        "T2",
        "T3",
        "T4",
        "T5",
        "Q1",
        "Q2",
        "Q3",
    ]
    assert len(cfg.time_limits.rules) == 4


@pytest.mark.parametrize(
    "which, old, new, message",
    [
        ("ind", 'dimension = "effort"', 'dimension = "speed"', "indicators.toml: indicator[0] (E1).dimension: 'speed'"),
        ("ind", 'direction = "lower"', 'direction = "down"', "indicators.toml: indicator[10] (T3).direction"),
        ("ind", 'value = "ratio"', 'value = "odds"', "indicators.toml: indicator[2] (E3).value: 'odds'"),
        ("ind", 'id = "E2"', 'id = "E1"', "indicators.toml: indicator[1] (E1): id 'E1' appears twice"),
        (
            "ind",
            'numerator = "count(*) FILTER (WHERE accepted_in_year AND len(sectors) > 0)"',
            'numerator = "count(*) FILTER (WHERE"',
            "indicators.toml: indicator[3] (E4).numerator: not a valid SQL",
        ),
        (
            "ind",
            'numerator = "count(*) FILTER (WHERE accepted_in_year AND len(sectors) > 0)"',
            'numerator = "count(*) FILTER (WHERE accepted_in_yeer)"',
            "indicators.toml: indicator[3] (E4).numerator: unknown column accepted_in_yeer; the case facts have",
        ),
        (
            "ind",
            'numerator = "count(*) FILTER (WHERE accepted_in_year AND len(sectors) > 0)"',
            'numerator = "accepted_in_year"',
            "indicators.toml: indicator[3] (E4).numerator: 'accepted_in_year' must aggregate",
        ),
        ("ind", "shrinkage = 5\n", "", "indicators.toml: indicator[13] (Q1).shrinkage: required"),
        ("lim", "limit = { days = 90 }", "limit = { weeks = 13 }", "time_limits.toml: rule[3].limit: must be"),
        ("lim", 'case_kind = "counterfeit"', 'case_kind = "theft"', "time_limits.toml: rule[2].case_kind"),
        ("lim", "from = 2025-02-01", 'from = "soon"', "time_limits.toml: rule[1].from: must be a date"),
        ("sco", 'method = "minmax"', 'method = "magic"', "scoring.toml: method: 'magic'"),
        ("sco", "quality = 25\n", "", "scoring.toml: dimension_weights: must give exactly"),
        ("sco", "T5 = 0.0", "X9 = 0.0", "scoring.toml: targets.X9: is not an indicator id"),
        ("sco", 'county = "province"', 'county = "planet"', "scoring.toml: peer_groups.county"),
        ("sco", "runs = 1000", "runs = 0", "scoring.toml: monte_carlo.runs"),
        ("sco", "interval = [5, 95]", "interval = [95, 5]", "scoring.toml: monte_carlo.interval"),
    ],
)
def test_bad_configuration_is_refused_with_file_key_and_problem(which, old, new, message) -> None:
    texts = {"ind": IND, "lim": LIM, "sco": SCO}
    assert old in texts[which]
    texts[which] = texts[which].replace(old, new, 1)
    with pytest.raises(ConfigError) as info:
        load_config(indicators=texts["ind"], time_limits=texts["lim"], scoring=texts["sco"])
    assert message in str(info.value)
