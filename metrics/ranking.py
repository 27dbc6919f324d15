"""Peer-group rankings with their Monte Carlo rank intervals, year-on-year change and methodology.

`rank_offices` is the one entry point the command line, the dashboard and the report share: it
computes the indicators, scores every peer group, runs the seeded Monte Carlo of SPEC §3.3 and
returns the JSON shape of SPEC §8, typed in `metrics.results`.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import cast

import duckdb
import numpy as np
import polars as pl

from metrics.config import DIMENSIONS, Config
from metrics.indicators import IndicatorTable, compute_indicators, register_inputs
from metrics.results import IndicatorEntry, Methodology, RankedOffice, RankingJson, Sensitivity
from metrics.scores import Model, score_group
from queries.loader import national_office, run_on_facts
from queries.statements import duck_sql
from queries.store import scalar


@dataclass
class Ranking:
    year: int
    as_of: dt.date
    level: str
    within: str | None
    method: str
    methodology: Methodology
    offices: list[RankedOffice] = field(default_factory=list)
    previous_composites: dict[str, float | None] = field(default_factory=dict)  # last year, same peers

    def as_json(self) -> RankingJson:
        return {
            "year": self.year,
            "as_of": self.as_of.isoformat(),
            "level": self.level,
            "within": self.within,
            "methodology": self.methodology,
            "offices": self.offices,
        }


def peer_set(table: pl.DataFrame, *, level: str, within: str | None, config: Config) -> tuple[pl.DataFrame, np.ndarray]:
    """The offices ranked together and their group id (SPEC §3.3 item 4)."""
    peers = table.filter(pl.col("level") == level)
    if within:
        peers = peers.filter(
            (pl.col("province_code") == within)
            | (pl.col("prefecture_code") == within)
            | (pl.col("parent_code") == within)
        )
        groups = np.zeros(peers.height, dtype=int)
    elif config.scoring.peer_groups.get(level) == "province":
        codes = peers["province_code"].to_list()
        index = {c: i for i, c in enumerate(sorted(set(codes)))}
        groups = np.array([index[c] for c in codes], dtype=int)
    else:
        groups = np.zeros(peers.height, dtype=int)
    return peers, groups


def _values(peers: pl.DataFrame, config: Config) -> np.ndarray:
    return (
        np.column_stack(
            [peers[f"{i.id}_value"].cast(pl.Float64).fill_null(np.nan).to_numpy() for i in config.indicators]
        )
        if peers.height
        else np.zeros((0, len(config.indicators)))
    )


def _score_all(
    values: np.ndarray, groups: np.ndarray, model: Model, *, method: str, dimension_weights: np.ndarray | None = None
):
    gs = score_group(values, model, method=method, dimension_weights=dimension_weights, groups=groups)
    return gs.indicator_scores, gs.dimensions, gs.composite, gs.rank


@dataclass
class Archives:
    """Appraised archives of the peer offices, flattened: office index, total, grade."""

    office: np.ndarray
    total: np.ndarray
    grade: np.ndarray
    count: np.ndarray  # per office
    national_mean: float
    stats: dict[str, np.ndarray] = field(default_factory=dict)  # per office: mean, sd, grade shares


def load_archives(con: duckdb.DuckDBPyConnection, peers: pl.DataFrame, *, year: int, as_of: dt.date) -> Archives:
    # Ordered by case within each office: the bootstrap picks archives by position, so the order must
    # not depend on how DuckDB's parallel scan happened to return them (same seed, same intervals).
    facts = run_on_facts(con, "appraised_archives", year=year, as_of=as_of)
    national = national_office(con)
    nat = facts.filter(pl.col("unit") == national)["appraisal_total"]
    index = {c: i for i, c in enumerate(peers["office_code"].to_list())}
    mine = (
        facts.filter(pl.col("unit").is_in(list(index)))
        .with_columns(pl.col("unit").replace_strict(index, return_dtype=pl.Int64).alias("i"))
        .sort("i", "office_code", "case_no")
    )
    office = mine["i"].to_numpy()
    total = mine["appraisal_total"].to_numpy().astype(float)
    grade = mine["grade"].to_numpy()
    count = np.bincount(office, minlength=peers.height)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.bincount(office, weights=total, minlength=peers.height) / count
        sd = np.sqrt(np.bincount(office, weights=(total - mean[office]) ** 2, minlength=peers.height) / count)
        stats = {"mean": mean, "sd": sd}
        for g in np.unique(grade) if grade.size else []:
            stats[f"grade:{g}"] = (
                np.bincount(office, weights=(grade == g).astype(float), minlength=peers.height) / count
            )
    return Archives(office, total, grade, count, float(cast(float, nat.mean())) if nat.len() else 0.0, stats)


# Up to this many archives in a peer set (a real national year has about 3,500), each run
# resamples every archive (the exact bootstrap).
# Above it (a national store of millions of cases), each office's mean total is drawn from its
# normal sampling distribution and each grade share from Binomial(n, share): the same
# distributions for shares, the central-limit one for means, at a cost per office, not per archive.
EXACT_BOOTSTRAP_LIMIT = 5_000


def _resampled_values(values: np.ndarray, archives: Archives, config: Config, rng: np.random.Generator) -> np.ndarray:
    """`values` with the archive-based indicators recomputed from a bootstrap of each office's archives."""
    out = values.copy()
    if not archives.office.size:
        return out
    n = archives.count.astype(float)
    exact = archives.office.size <= EXACT_BOOTSTRAP_LIMIT
    if exact:
        starts = np.concatenate([[0], np.cumsum(archives.count)[:-1]])
        n_of = archives.count[archives.office]
        pick = starts[archives.office] + np.floor(rng.random(archives.office.size) * n_of).astype(int)
    for j, ind in enumerate(config.indicators):
        if not ind.bootstrap:
            continue
        with np.errstate(invalid="ignore", divide="ignore"):
            if ind.bootstrap == "total":
                if exact:
                    s = np.bincount(archives.office, weights=archives.total[pick], minlength=n.size)
                else:
                    mean, sd = archives.stats["mean"], archives.stats["sd"]
                    s = n * (mean + rng.standard_normal(n.size) * sd / np.sqrt(np.maximum(n, 1)))
                v = (
                    (s + ind.shrinkage * archives.national_mean) / (n + ind.shrinkage)
                    if ind.value == "shrunk_mean"
                    else np.divide(s, n, out=np.full_like(s, np.nan), where=n > 0)
                )
            else:
                grade = ind.bootstrap.split(":", 1)[1]
                if exact:
                    hits = (archives.grade[pick] == grade).astype(float)
                    s = np.bincount(archives.office, weights=hits, minlength=n.size)
                else:
                    share = archives.stats.get(f"grade:{grade}", np.zeros(n.size))
                    s = rng.binomial(archives.count, np.nan_to_num(share)).astype(float)
                v = np.divide(s, n, out=np.full_like(s, np.nan), where=n > 0)
        out[:, j] = np.where(np.isnan(values[:, j]), np.nan, v)  # insufficient stays insufficient
    return out


MC_BATCH_ROWS = 60000  # office rows scored at once in the Monte Carlo (memory ~ rows x indicators x 8 bytes x 4)


def monte_carlo(
    values: np.ndarray,
    groups: np.ndarray,
    model: Model,
    config: Config,
    *,
    archives: Archives | None,
    runs: int | None = None,
    seed: int | None = None,
    composites: np.ndarray | None = None,
) -> np.ndarray:
    """Simulated ranks, offices × runs (SPEC §3.3 item 6): Dirichlet weights, random method, resampling.

    The random draws are made run by run in a fixed order (so a seed always gives the same
    intervals); the scoring of the runs is batched: runs that drew the same method are stacked into
    one matrix whose peer groups are (run, group) pairs, and scored in one vectorised call.
    `composites` (offices × runs), when given, receives each run's composites as well.
    """
    mc = config.scoring.monte_carlo
    runs = mc.runs if runs is None else runs
    rng = np.random.default_rng(mc.seed if seed is None else seed)
    alpha = mc.concentration * model.dimension_weights / model.dimension_weights.sum()
    alpha = np.where(alpha > 0, alpha, 1e-9)
    n = values.shape[0]
    ranks = np.full((n, runs), np.nan)
    resample = archives is not None and mc.resample_appraisals
    pending: dict[str, list[tuple[int, np.ndarray, np.ndarray]]] = {}
    gmax = int(groups.max()) + 1 if n else 1
    per_batch = max(1, MC_BATCH_ROWS // max(n, 1))

    def flush(method: str) -> None:
        batch = pending.pop(method, [])
        if not batch:
            return
        stacked = np.concatenate([v for _, v, _ in batch])
        weights = np.repeat(np.stack([w for _, _, w in batch]), n, axis=0)
        stacked_groups = np.concatenate([k * gmax + groups for k in range(len(batch))])
        got = score_group(stacked, model, method=method, dimension_weights=weights, groups=stacked_groups)
        for k, (r, _, _) in enumerate(batch):
            ranks[:, r] = got.rank[k * n : (k + 1) * n]
            if composites is not None:
                composites[:, r] = got.composite[k * n : (k + 1) * n]

    for r in range(runs):
        w = rng.dirichlet(alpha) * model.dimension_weights.sum()
        method = mc.methods[rng.integers(len(mc.methods))]
        v = _resampled_values(values, archives, config, rng) if resample and archives is not None else values
        pending.setdefault(method, []).append((r, v, w))
        if len(pending[method]) >= per_batch:
            flush(method)
    for method in list(pending):
        flush(method)
    return ranks


def _interval(ranks: np.ndarray, lo_pct: float, hi_pct: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ok = ~np.isnan(ranks).all(axis=1)
    lo = np.full(ranks.shape[0], np.nan)
    hi, med = lo.copy(), lo.copy()
    if ok.any():
        lo[ok] = np.nanpercentile(ranks[ok], lo_pct, axis=1, method="lower")
        hi[ok] = np.nanpercentile(ranks[ok], hi_pct, axis=1, method="higher")
        med[ok] = np.nanmedian(ranks[ok], axis=1)
    return lo, hi, med


def _num(x: float | None) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)


TableOf = Callable[[int, dt.date], IndicatorTable]


def _tables(con: duckdb.DuckDBPyConnection, config: Config, table_of: TableOf | None) -> TableOf:
    """`table_of` (a caller's cache of indicator tables), else a direct computation."""
    return table_of or (lambda year, as_of: compute_indicators(con, config, year=year, as_of=as_of))


def composites(
    con: duckdb.DuckDBPyConnection,
    config: Config,
    *,
    year: int,
    level: str,
    within: str | None = None,
    table_of: TableOf | None = None,
) -> dict[str, float | None]:
    """Each office's composite for `year` under the configured method, without the Monte Carlo
    (for trends, where the interval is not shown)."""
    table = _tables(con, config, table_of)(year, dt.date(year, 12, 31))
    peers, groups = peer_set(table.frame, level=level, within=within, config=config)
    _, _, comp, _ = _score_all(_values(peers, config), groups, Model.from_config(config), method=config.scoring.method)
    return {c: _num(v) for c, v in zip(peers["office_code"].to_list(), comp)}


def composite_runs(
    con: duckdb.DuckDBPyConnection, config: Config, *, year: int, level: str
) -> tuple[list[str], np.ndarray]:
    """The offices of `level` and their composites in each Monte Carlo run (offices × runs): the
    same runs, seed and resampling that give the ranking its rank intervals."""
    table = compute_indicators(con, config, year=year, as_of=dt.date(year, 12, 31))
    peers, groups = peer_set(table.frame, level=level, within=None, config=config)
    values = _values(peers, config)
    model = Model.from_config(config)
    archives = (
        load_archives(con, peers, year=year, as_of=dt.date(year, 12, 31))
        if any(i.bootstrap for i in config.indicators)
        else None
    )
    out = np.full((values.shape[0], config.scoring.monte_carlo.runs), np.nan)
    monte_carlo(values, groups, model, config, archives=archives, composites=out)
    return peers["office_code"].to_list(), out


def rank_interval(totals: np.ndarray, lo_pct: float, hi_pct: float) -> tuple[np.ndarray, np.ndarray]:
    """Rank intervals of simulated totals (offices × runs; higher is better, equal totals share the
    better rank), at the configured percentiles."""
    ranks = np.empty(totals.shape)
    for r in range(totals.shape[1]):  # 1 + how many totals of the run are higher
        ordered = np.sort(-totals[:, r])
        ranks[:, r] = np.searchsorted(ordered, -totals[:, r], side="left") + 1
    lo, hi, _ = _interval(ranks, lo_pct, hi_pct)
    return lo, hi


def rank_offices(
    con: duckdb.DuckDBPyConnection,
    config: Config,
    *,
    year: int,
    level: str = "provincial",
    within: str | None = None,
    as_of: dt.date | None = None,
    method: str | None = None,
    runs: int | None = None,
    dimension_weights: dict[str, float] | None = None,
    indicator_weights: dict[str, float] | None = None,
    with_previous: bool = True,
    table_of: TableOf | None = None,
) -> Ranking:
    """Rank the offices of `level` (optionally within one office's subtree) for `year`.

    Args:
        con: a read connection to the store.
        config: indicators, time limits and scoring configuration.
        year, as_of: the assessment year and the date open cases are judged at (default Dec 31).
        level: provincial | prefecture | county.
        within: rank only the offices below this office (one peer group).
        method, runs, dimension_weights, indicator_weights: override the configured scoring (what-if).
        with_previous: also rank the previous year the same way for the year-on-year change.
        table_of: where to get the indicator table of a (year, as-of) — a cache shared by many
            rankings (the dashboard's); default: computed here.
    Returns:
        a Ranking whose `offices` follow SPEC §8, ordered by rank (unranked last).
    """
    as_of = as_of or dt.date(year, 12, 31)
    method = method or config.scoring.method
    model = Model.from_config(config, dimension_weights=dimension_weights, indicator_weights=indicator_weights)
    tables = _tables(con, config, table_of)
    table = tables(year, as_of)
    peers, groups = peer_set(table.frame, level=level, within=within, config=config)
    values = _values(peers, config)
    ind, dims, comp, rank = _score_all(values, groups, model, method=method)
    if any(i.bootstrap for i in config.indicators):
        if table_of is not None:  # the table came from elsewhere: this connection has no inputs yet
            register_inputs(con, config)
        archives = load_archives(con, peers, year=year, as_of=as_of)
    else:
        archives = None
    sims = monte_carlo(values, groups, model, config, archives=archives, runs=runs)
    lo, hi, med = _interval(sims, *config.scoring.monte_carlo.interval)

    previous: dict[str, tuple[float, float]] = {}
    if with_previous and scalar(con, duck_sql("cases.count_accepted_in_year"), {"y": year - 1}):
        last_year = (
            as_of.replace(year=year - 1, day=28)
            if (as_of.month, as_of.day) == (2, 29)
            else as_of.replace(year=year - 1)
        )
        prev = tables(year - 1, last_year)
        ppeers, pgroups = peer_set(prev.frame, level=level, within=within, config=config)
        _, _, pcomp, prank = _score_all(_values(ppeers, config), pgroups, model, method=method)
        previous = {c: (pc, pr) for c, pc, pr in zip(ppeers["office_code"].to_list(), pcomp, prank)}

    published = scalar(con, duck_sql("meta.published_at"))
    data_version = scalar(con, duck_sql("meta.data_version"))
    methodology: Methodology = {
        **config.methodology(),
        "method": method,
        "dimension_weights": dict(zip(DIMENSIONS, model.dimension_weights.tolist())),
        "indicator_weights": {i.id: float(w) for i, w in zip(config.indicators, model.weights)},
        "year": year,
        "as_of": as_of.isoformat(),
        "level": level,
        "within": within,
        "peer_group": "within " + within if within else config.scoring.peer_groups.get(level),
        "monte_carlo_runs": sims.shape[1],
        "data_published_at": published,
        "monte_carlo_bootstrap": (
            "exact"
            if archives is None or archives.office.size <= EXACT_BOOTSTRAP_LIMIT
            else "parametric (normal mean, binomial shares)"
        ),
        "data_version": data_version,
        "calendar_fallback_years": list(table.calendar_fallback_years),
    }
    offices: list[RankedOffice] = []
    recs = peers.to_dicts()
    for k, rec in enumerate(recs):
        indicators: dict[str, IndicatorEntry] = {}
        for j, i in enumerate(config.indicators):
            entry: IndicatorEntry = {
                "value": _num(rec[f"{i.id}_value"]),
                "numerator": _num(rec[f"{i.id}_num"]),
                "denominator": _num(rec[f"{i.id}_den"]) if i.value != "count" else None,
                "score": _num(ind[k, j]),
                "status": rec[f"{i.id}_status"],
            }
            if i.interval:
                entry["interval"] = [_num(rec.get(f"{i.id}_ci_low")), _num(rec.get(f"{i.id}_ci_high"))]
            indicators[i.id] = entry
        prev_comp, prev_rank = previous.get(rec["office_code"], (np.nan, np.nan))
        offices.append(
            {
                "office_code": rec["office_code"],
                "name": rec["name"],
                "level": rec["level"],
                "parent_code": rec["parent_code"],
                "province_code": rec["province_code"],
                "indicators": indicators,
                "dimensions": {d: _num(dims[k, n]) for n, d in enumerate(DIMENSIONS)},
                "composite": _num(comp[k]),
                "rank": None if np.isnan(rank[k]) else int(rank[k]),
                "rank_interval": None if np.isnan(lo[k]) else [int(lo[k]), int(hi[k])],
                "rank_median": _num(med[k]),
                "rank_change": None if np.isnan(rank[k]) or np.isnan(prev_rank) else int(prev_rank - rank[k]),
                "composite_change": None if np.isnan(comp[k]) or np.isnan(prev_comp) else float(comp[k] - prev_comp),
            }
        )
    offices.sort(
        key=lambda o: (
            (o["province_code"] or "", o["rank"] if o["rank"] is not None else 10**9, o["office_code"])
            if level == "county" and not within
            else (o["rank"] if o["rank"] is not None else 10**9, o["office_code"])
        )
    )
    return Ranking(
        year, as_of, level, within, method, methodology, offices, {c: _num(pc) for c, (pc, _) in previous.items()}
    )


def sensitivity(
    con: duckdb.DuckDBPyConnection,
    config: Config,
    *,
    office_code: str,
    year: int,
    level: str,
    within: str | None = None,
    as_of: dt.date | None = None,
    method: str | None = None,
    table_of: TableOf | None = None,
) -> Sensitivity:
    """What drives an office's rank: its rank with each indicator left out, and under each method
    (a rank is None where the office gets no composite)."""
    as_of = as_of or dt.date(year, 12, 31)
    method = method or config.scoring.method
    table = _tables(con, config, table_of)(year, as_of)
    peers, groups = peer_set(table.frame, level=level, within=within, config=config)
    codes = peers["office_code"].to_list()
    if office_code not in codes:
        raise KeyError(
            f"office {office_code} is not among the {level} offices ranked" + (f" within {within}" if within else "")
        )
    k = codes.index(office_code)
    values = _values(peers, config)

    def rank_with(model: Model, how: str) -> tuple[int | None, float | None]:
        _, _, comp, rank = _score_all(values, groups, model, method=how)
        return (None if np.isnan(rank[k]) else int(rank[k])), _num(comp[k])

    base = Model.from_config(config)
    rank, composite = rank_with(base, method)
    without = {
        i.id: rank_with(Model.from_config(config, indicator_weights={i.id: 0.0}), method)[0]
        for i in config.indicators
        if i.weight > 0
    }
    methods = {m: rank_with(base, m)[0] for m in ("minmax", "zscore", "percentile", "target")}
    return {
        "office_code": office_code,
        "year": year,
        "level": level,
        "within": within,
        "method": method,
        "rank": rank,
        "composite": composite,
        "peers": int((groups == groups[k]).sum()),
        "without": without,
        "methods": methods,
    }
