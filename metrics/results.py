"""The typed shapes of what the metrics hand out: a ranking's rows, its methodology, a sensitivity.

They are TypedDicts, not classes, because they *are* the JSON of SPEC §8: the command line prints
them as they are, the dashboard and the workbook read them by key, and the golden tests compare
them with the fixture's expected JSON. The types let mypy check every reader against one definition.
"""

from __future__ import annotations

from typing import Literal, NotRequired, TypedDict


class IndicatorEntry(TypedDict):
    """One indicator of one office: its raw value and parts, its score, and why it may be missing."""

    value: float | None
    numerator: float | None
    denominator: float | None  # None for counts
    score: float | None
    status: Literal["ok", "insufficient"]  # insufficient: too few cases for the value (SPEC §3.1)
    interval: NotRequired[list[float | None]]  # Wilson interval of a share, when the indicator asks for one


class RankedOffice(TypedDict):
    """One row of a ranking (SPEC §8)."""

    office_code: str
    name: str
    level: str
    parent_code: str | None
    province_code: str | None
    indicators: dict[str, IndicatorEntry]
    dimensions: dict[str, float | None]
    composite: float | None
    rank: int | None
    rank_interval: list[int] | None  # [low, high] of the Monte Carlo ranks
    rank_median: float | None
    rank_change: int | None  # places gained since last year, same peers
    composite_change: float | None


class MonteCarloSettings(TypedDict):
    runs: int
    seed: int
    concentration: float
    methods: list[str]
    interval: list[float]
    resample_appraisals: bool


class ConfigMethodology(TypedDict):
    """What the configuration contributes to every result's methodology."""

    indicators_version: str
    time_limits_version: str
    scoring_version: str
    method: str
    dimension_weights: dict[str, float]
    indicator_weights: dict[str, float]
    peer_groups: dict[str, str]
    monte_carlo: MonteCarloSettings


class Methodology(ConfigMethodology):
    """How one ranking was computed: the configuration plus this run's choices and data."""

    year: int
    as_of: str
    level: str
    within: str | None
    peer_group: str | None
    monte_carlo_runs: int
    data_published_at: str | None
    monte_carlo_bootstrap: str
    data_version: str | None  # the store's meta counter (docs/data-versions.md)
    calendar_fallback_years: list[int]


class RankingJson(TypedDict):
    year: int
    as_of: str
    level: str
    within: str | None
    methodology: Methodology
    offices: list[RankedOffice]


class Sensitivity(TypedDict):
    """What drives an office's rank: its rank with each indicator left out, and under each method."""

    office_code: str
    year: int
    level: str
    within: str | None
    method: str
    rank: int | None
    composite: float | None
    peers: int
    without: dict[str, int | None]
    methods: dict[str, int | None]
