"""The typed shapes of what `views` and `case_views` hand the pages.

Each page's data is a TypedDict (plain dicts at run time, so callbacks and tests read them by key);
where the user may be refused, the result is a union tagged by `denied`, which mypy narrows:
after `if v["denied"]: return …` a page can only read the keys of the allowed shape.
"""

from __future__ import annotations

from typing import Any, Literal, TypedDict

import polars as pl

from metrics.results import IndicatorEntry, Methodology, RankedOffice, Sensitivity

Access = Literal["full", "peers"] | None
Need = Literal["full", "peers"]


class Denied(TypedDict):
    denied: Literal[True]
    code: str | None


class Crumb(TypedDict):
    code: str
    name: str
    level: str
    linked: bool  # the user may open it


class Figure(TypedDict):
    """A headline figure with last year's at the same date and the change."""

    value: float | None
    previous: float | None
    change: float | None


class RankRow(TypedDict):
    """A ranking row of the place page: the ranking's columns and what the user may do with it."""

    office_code: str
    name: str
    level: str
    composite: float | None
    rank: int | None
    rank_interval: list[int] | None
    rank_change: int | None
    composite_change: float | None
    dimensions: dict[str, float | None]
    linked: bool  # the row links to the office's page
    has_figures: bool  # the user may see its figures (its own subtree)


class Weak(TypedDict):
    """An indicator on which the office stands furthest below its peers' median score."""

    id: str
    zh: str
    en: str
    value_kind: str
    value: float | None
    peer_median: float | None  # of the value
    gap: float  # its score minus the peers' median score (negative: below)


class OpenByOffice(TypedDict):
    code: str
    name: str
    overdue: int
    warning: int


class Standing(TypedDict):
    """Where an office stands and why (the first screen): its rank among its peers with the
    interval and the change on last year, the indicators furthest below the peer median, and
    where its open overdue and near-deadline cases sit by subordinate office."""

    rank: int | None
    peers: int  # offices ranked in its peer group
    level: str
    group: str | None  # the office whose subtree is the peer group (None: the whole level)
    group_name: str | None
    rank_interval: list[int] | None
    rank_change: int | None
    weakest: list[Weak]
    open_by_office: list[OpenByOffice]


class Place(TypedDict):
    denied: Literal[False]
    code: str
    name: str
    level: str
    access: Access
    crumbs: list[Crumb]
    child_level: str | None
    rows: list[RankRow]
    methodology: Methodology | None
    headline: dict[str, Figure] | None  # None when the user sees the office as a peer only
    trend: dict[int, list[float]]  # year -> composites of the children
    national: bool
    standing: Standing | None  # where the office stands (full access only)
    peers: int  # offices ranked in the children's peer group (a rank reads "n of peers")
    peer_group: str | None  # the office whose offices of the level below are that group; None: the nation
    peer_group_name: str | None


class ProfileIndicator(IndicatorEntry):
    id: str
    zh: str
    en: str
    dimension: str
    direction: str
    value_kind: str
    peer_median: float | None


class ProfileNational(TypedDict):
    """The national office has no profile (it is not ranked)."""

    denied: Literal[False]
    national: Literal[True]
    code: str
    name: str


class ProfileMissing(TypedDict):
    """An office outside the ranking (e.g. created after the year)."""

    denied: Literal[False]
    national: Literal[False]
    missing: Literal[True]
    code: str
    name: str
    level: str
    crumbs: list[Crumb]


class Profile(TypedDict):
    denied: Literal[False]
    national: Literal[False]
    missing: Literal[False]
    code: str
    name: str
    level: str
    crumbs: list[Crumb]
    office: RankedOffice
    peers: int
    within: str | None
    indicators: list[ProfileIndicator]
    dimension_median: dict[str, float | None]
    trend: dict[int, float | None]
    trend_median: dict[int, float | None]  # the peers' median composite each year
    sensitivity: Sensitivity
    signals: dict[str, Any]  # the office's integrity signals (metrics.monitor.office_monitor row)
    methodology: Methodology
    inspections: list[dict[str, Any]]  # appraisal results per year (reports.data.inspection_results row)


class Monitor(TypedDict):
    denied: Literal[False]
    code: str
    name: str
    cases: pl.DataFrame
    counts: dict[str, int]  # status -> open cases
    ages: list[int]  # open cases per age bin
    age_bins: list[tuple[int, int | None]]
    backlog: dict[str, Any]  # {backlog, oldest_days}
    names: dict[str, str]  # office code -> name, for the offices of the cases


class CasesPage(TypedDict):
    """One page of the case grid, as AG Grid's infinite row model wants it."""

    rowData: list[dict[str, Any]]
    rowCount: int
