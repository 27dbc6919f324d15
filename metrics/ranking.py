"""Peer-group rankings with their Monte Carlo rank intervals, year-on-year change and methodology.

`rank_offices` is the one entry point the command line, the dashboard and the report share: it
computes the indicators, scores every peer group, runs the seeded Monte Carlo of SPEC §3.3 and
returns the JSON shape of SPEC §8, typed in `metrics.results`.
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import functools
import math
import os
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import cast

import duckdb
import numpy as np
import polars as pl

from metrics.config import DIMENSIONS, Config
from metrics.indicators import IndicatorTable, compute_indicators, register_inputs
from metrics.results import IndicatorEntry, Methodology, RankedOffice, RankingJson, Sensitivity
from metrics.scores import (
    Groups,
    Model,
    composite_of,
    dimension_scores,
    normalise,
    normalise_runs,
    ranks_rows,
    score_group,
    weighted_mean_of,
)
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

    def stored(self) -> dict:
        """Every field as plain JSON (`from_stored` gives the same ranking back)."""
        return {**self.as_json(), "method": self.method, "previous_composites": self.previous_composites}

    @classmethod
    def from_stored(cls, d: dict) -> Ranking:
        return cls(**{**d, "as_of": dt.date.fromisoformat(d["as_of"])})

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

    @classmethod
    def of(
        cls, office: np.ndarray, total: np.ndarray, grade: np.ndarray, offices: int, national_mean: float
    ) -> Archives:
        """The archives (office index ascending, then case) of `offices` peer offices, with each
        office's count, mean total, its standard deviation and grade shares."""
        count = np.bincount(office, minlength=offices)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.bincount(office, weights=total, minlength=offices) / count
            sd = np.sqrt(np.bincount(office, weights=(total - mean[office]) ** 2, minlength=offices) / count)
            stats = {"mean": mean, "sd": sd}
            for g in np.unique(grade) if grade.size else []:
                stats[f"grade:{g}"] = np.bincount(office, weights=(grade == g).astype(float), minlength=offices) / count
        return cls(office, total, grade, count, national_mean, stats)


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
    return Archives.of(
        mine["i"].to_numpy(),
        mine["appraisal_total"].to_numpy().astype(float),
        mine["grade"].to_numpy(),
        peers.height,
        float(cast(float, nat.mean())) if nat.len() else 0.0,
    )


# Up to this many archives in a peer group (a real national year has about 3,500), each run
# resamples every archive (the exact bootstrap).
# Above it (a national store of millions of cases), each office's mean total is drawn from its
# normal sampling distribution and each grade share from Binomial(n, share): the same
# distributions for shares, the central-limit one for means, at a cost per office, not per archive.
EXACT_BOOTSTRAP_LIMIT = 5_000
EXACT_DRAWS_AT_ONCE = 1_000_000  # archive picks drawn at once (runs x archives), to bound memory


def group_rng(seed: int, key: str) -> np.random.Generator:
    """The random stream that resamples the archives of the peer group `key` (an office code, or
    "national"): seeded by the Monte Carlo's seed and the group alone, so a peer group's intervals
    are the same whether it is ranked on its own (`within` its province) or with every other
    group of its level, and do not move when another group's data change."""
    return np.random.default_rng([seed, zlib.crc32(key.encode())])


def group_keys(peers: pl.DataFrame, *, level: str, within: str | None, config: Config) -> list[str]:
    """The key of each peer group id of `peer_set` (the same order)."""
    if within:
        return [within]
    if config.scoring.peer_groups.get(level) == "province":
        return sorted(set(peers["province_code"].to_list()))
    return ["national"]


def _resampled_group(
    values: np.ndarray, archives: Archives, config: Config, rows: np.ndarray, rng: np.random.Generator, runs: int
) -> np.ndarray:
    """The archive-based indicators' columns (those with `bootstrap`, in order) of the offices
    `rows` of one peer group, recomputed in each run from a bootstrap of each office's archives:
    runs x offices x columns."""
    boot = [j for j, ind in enumerate(config.indicators) if ind.bootstrap]
    mine = values[rows][:, boot]
    out = np.repeat(mine[None, :, :], runs, axis=0)
    chosen = np.isin(archives.office, rows)
    if not chosen.any():
        return out
    local = np.full(values.shape[0], -1)
    local[rows] = np.arange(rows.size)
    office = local[archives.office[chosen]]  # ascending: the archives are ordered by office
    total, grade = archives.total[chosen], archives.grade[chosen]
    count = archives.count[rows]
    n = count.astype(float)
    exact = office.size <= EXACT_BOOTSTRAP_LIMIT
    if exact:
        starts = np.concatenate([[0], np.cumsum(count)[:-1]])
        step = max(1, EXACT_DRAWS_AT_ONCE // office.size)
        # uniform [0, 1) x count truncated toward zero: the position of the pick within its office
        pick = np.concatenate(
            [
                starts[office] + (rng.random((min(step, runs - r), office.size)) * count[office]).astype(int)
                for r in range(0, runs, step)
            ]
        )
        cell = (np.arange(runs)[:, None] * rows.size + office[None, :]).ravel()

        def per_office(weights: np.ndarray) -> np.ndarray:
            return np.bincount(cell, weights=weights.ravel(), minlength=runs * rows.size).reshape(runs, rows.size)

    for k, j in enumerate(boot):
        ind = config.indicators[j]
        with np.errstate(invalid="ignore", divide="ignore"):
            if ind.bootstrap == "total":
                if exact:
                    s = per_office(total[pick])
                else:
                    mean, sd = archives.stats["mean"][rows], archives.stats["sd"][rows]
                    s = n * (mean + rng.standard_normal((runs, rows.size)) * sd / np.sqrt(np.maximum(n, 1)))
                v = (
                    (s + ind.shrinkage * archives.national_mean) / (n + ind.shrinkage)
                    if ind.value == "shrunk_mean"
                    else np.divide(s, n, out=np.full_like(s, np.nan), where=n > 0)
                )
            else:
                wanted = str(ind.bootstrap).split(":", 1)[1]
                if exact:
                    s = per_office((grade[pick] == wanted).astype(float))
                else:
                    share = archives.stats.get(f"grade:{wanted}", np.zeros(values.shape[0]))[rows]
                    s = rng.binomial(count, np.nan_to_num(share), size=(runs, rows.size)).astype(float)
                v = np.divide(s, n, out=np.full_like(s, np.nan), where=n > 0)
        out[:, :, k] = np.where(np.isnan(mine[:, k])[None, :], np.nan, v)  # insufficient stays insufficient
    return out


def bootstrap_kind(archives: Archives | None, groups: np.ndarray) -> str:
    """How the Monte Carlo resampled the archives: exactly, parametrically, or by group size."""
    if archives is None or not archives.office.size:
        return "exact"
    sizes = np.bincount(groups[archives.office])
    sizes = sizes[sizes > 0]
    if (sizes <= EXACT_BOOTSTRAP_LIMIT).all():
        return "exact"
    if (sizes > EXACT_BOOTSTRAP_LIMIT).all():
        return "parametric (normal mean, binomial shares)"
    return f"exact for peer groups of up to {EXACT_BOOTSTRAP_LIMIT:,} archives, parametric above"


MC_BATCH_ROWS = 250_000  # runs × offices scored at once by one thread (memory ~ rows × 8 bytes × 30)
# Threads scoring the Monte Carlo's blocks of runs (NumPy releases the GIL on whole-array work):
# a ranking's 1,000 runs on every core. The blocks and groups write disjoint slices and each peer
# group draws from its own stream, so the numbers do not depend on how the threads interleave.
MC_THREADS = max(1, min(4, os.cpu_count() or 1))


def _in_parallel(tasks: list[Callable[[], None]]) -> None:
    """Run `tasks` on MC_THREADS threads (threads of the caller's own: they take its scheduling
    priority, lowered for background recomputation), or in order when there is one core or one task."""
    if MC_THREADS == 1 or len(tasks) < 2:
        for task in tasks:
            task()
        return
    with concurrent.futures.ThreadPoolExecutor(min(MC_THREADS, len(tasks))) as pool:
        for future in [pool.submit(task) for task in tasks]:
            future.result()


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
    keys: list[str] | None = None,
) -> np.ndarray:
    """Simulated ranks, offices × runs (SPEC §3.3 item 6): Dirichlet weights, random method, resampling.

    The weights and the method of each run are drawn run by run from the seed's stream, and the
    archives of each peer group are resampled from the group's own stream (`group_rng` of its key
    in `keys`, default the group number), so a seed always gives the same intervals and a group's
    intervals do not depend on which other groups are ranked beside it. The runs are then scored
    method by method, a block of runs at once: the columns no run changes are
    normalised once per method, the resampled ones per run (the block forms of metrics/scores.py).
    `composites` (offices × runs), when given, receives each run's composites as well.
    """
    mc = config.scoring.monte_carlo
    runs = mc.runs if runs is None else runs
    seed = mc.seed if seed is None else seed
    rng = np.random.default_rng(seed)
    alpha = mc.concentration * model.dimension_weights / model.dimension_weights.sum()
    alpha = np.where(alpha > 0, alpha, 1e-9)
    n = values.shape[0]
    ranks = np.full((n, runs), np.nan)
    resample = archives is not None and mc.resample_appraisals
    gmax = int(groups.max()) + 1 if n else 1
    # Only the resampled columns differ between runs: every other column is normalised once per
    # method (a column's scores depend on its own values and peer groups alone, so this gives the
    # same numbers as normalising every run's whole matrix). The same holds for the dimensions:
    # only those holding a resampled column are recomputed.
    redrawn = np.array([bool(i.bootstrap) and resample for i in config.indicators], dtype=bool)
    grp = Groups.of(groups) if n else None  # the offices in peer-group order from here on
    redrawn_runs = None  # runs × offices (in peer-group order) × resampled columns
    tasks: list[Callable[[], None]] = []
    if resample and archives is not None and grp is not None:
        redrawn_runs = np.empty((runs, n, int(redrawn.sum())))

        def resample_group(g: int, key: str, into: np.ndarray, archives: Archives) -> None:
            rows = np.flatnonzero(groups == g)  # ascending: the group's place in peer-group order
            if rows.size:
                at = int(grp.starts[np.searchsorted(grp.labels, g)])
                into[:, at : at + rows.size, :] = _resampled_group(
                    values, archives, config, rows, group_rng(seed, key), runs
                )

        tasks = [
            functools.partial(resample_group, g, key, redrawn_runs, archives)
            for g, key in enumerate(keys or [str(g) for g in range(gmax)])
        ]
    _in_parallel(tasks)  # each group has its own random stream and its own slice
    weights = np.empty((runs, len(DIMENSIONS)))
    chosen = np.empty(runs, dtype=int)
    for r in range(runs):
        weights[r] = rng.dirichlet(alpha) * model.dimension_weights.sum()
        chosen[r] = rng.integers(len(mc.methods))
    if grp is None or runs == 0:
        return ranks
    order = grp.order
    ranked = np.empty((runs, n))  # runs × offices in peer-group order
    composed = np.empty((runs, n)) if composites is not None else None

    def score_block(method: str, once: np.ndarray, dims_once: np.ndarray, rs: np.ndarray, grp: Groups) -> None:
        dims: list[np.ndarray] = [dims_once[:, d] for d in range(len(DIMENSIONS))]  # offices, or runs × offices
        if redrawn_runs is not None and redrawn.any():
            dims = _redrawn_dimensions(once, dims, redrawn_runs[rs], redrawn, model, method=method, grp=grp)
        composite = composite_of(dims, [weights[rs, d][:, None] for d in range(len(DIMENSIONS))])
        composite = np.broadcast_to(composite, (rs.size, n))
        ranked[rs] = ranks_rows(-np.round(composite, 9), grp.starts, grp.counts, "min")
        if composed is not None:
            composed[rs] = composite

    tasks = []
    for m, method in enumerate(mc.methods):
        picked = np.flatnonzero(chosen == m)
        if not picked.size:
            continue
        once = normalise(values, method=method, higher=model.higher, targets=model.targets, groups=groups)[order]
        dims_once = dimension_scores(once, model)
        # blocks of at most MC_BATCH_ROWS runs × offices, and at least one per core
        block = max(1, min(MC_BATCH_ROWS // n, -(-picked.size // MC_THREADS)))
        tasks += [
            functools.partial(score_block, method, once, dims_once, picked[b : b + block], grp)
            for b in range(0, picked.size, block)
        ]
    _in_parallel(tasks)  # each block writes its own runs
    ranks[order] = ranked.T
    if composites is not None and composed is not None:
        composites[order] = composed.T
    return ranks


def _redrawn_dimensions(
    once: np.ndarray,
    dims: list[np.ndarray],
    redrawn_values: np.ndarray,
    redrawn: np.ndarray,
    model: Model,
    *,
    method: str,
    grp: Groups,
) -> list[np.ndarray]:
    """Each dimension's scores: those holding a resampled column recomputed from that column's
    values in each run (runs × offices; `redrawn_values`: runs × offices × resampled columns,
    offices in peer-group order), the others as normalised once (`once`; `dims`: offices)."""
    scored = normalise_runs(
        redrawn_values,
        method=method,
        higher=model.higher[redrawn],
        targets=model.targets[redrawn],
        starts=grp.starts,
        counts=grp.counts,
    )
    out = list(dims)
    column_of = np.cumsum(redrawn) - 1  # an indicator's position among the resampled columns
    for d in range(len(DIMENSIONS)):
        cols = np.flatnonzero(model.dimension_of == d)
        if not cols.size or not redrawn[cols].any():
            continue
        parts = [
            (scored[:, :, column_of[j]] if redrawn[j] else once[:, j]) if model.weights[j] > 0 else np.full(1, np.nan)
            for j in cols
        ]
        out[d], _ = weighted_mean_of(parts, [float(model.weights[j]) for j in cols])
    return out


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
    keys = group_keys(peers, level=level, within=None, config=config)
    monte_carlo(values, groups, model, config, archives=archives, composites=out, keys=keys)
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
    keys = group_keys(peers, level=level, within=within, config=config)
    sims = monte_carlo(values, groups, model, config, archives=archives, runs=runs, keys=keys)
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
        "monte_carlo_bootstrap": bootstrap_kind(archives, groups),
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
