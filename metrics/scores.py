"""From indicator values to normalised scores, dimension scores, composites and ranks (SPEC §3.3).

All arithmetic is NumPy over a matrix of offices × indicators, one peer group at a time, so the
same functions serve the chosen ranking and each Monte Carlo run. NaN means insufficient data
throughout; it is never turned into a zero.

The Monte Carlo (metrics/ranking.py) scores a thousand variants of one matrix, so the formulas are
written once for a block of runs along a leading axis, offices in peer-group order: `normalise_runs`
normalises each run's columns per peer group, `weighted_mean_of` sums weighted columns one after
the other (without materialising runs × offices × columns; NumPy sums a row of fewer than eight
numbers in the same order, so the numbers did not move), and `ranks_rows` ranks each run within
its peer groups. `normalise`, `weighted_mean` and `rank_desc` are the one-matrix case of them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from metrics.config import DIMENSIONS, Config, Indicator

NEUTRAL = 50.0  # the score of every office when a peer group shows no spread at all


@dataclass(frozen=True)
class Groups:
    """Peer groups of the rows of a matrix, for group-wise reductions without a Python loop."""

    order: np.ndarray  # rows sorted by group
    starts: np.ndarray  # first sorted position of each group
    counts: np.ndarray  # rows per group
    labels: np.ndarray  # each group's label (the value in `groups`), ascending

    @classmethod
    def of(cls, groups: np.ndarray) -> Groups:
        order = np.argsort(groups, kind="stable")
        g = groups[order]
        starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]]) if g.size else np.zeros(0, dtype=int)
        counts = np.diff(np.r_[starts, g.size])
        return cls(order, starts, counts, g[starts])

    @classmethod
    def given(cls, groups: np.ndarray | Groups | None, rows: int) -> Groups:
        """`groups` as a Groups (None: one group of `rows` rows)."""
        if isinstance(groups, Groups):
            return groups
        return cls.of(np.zeros(rows, dtype=int) if groups is None else np.asarray(groups))


def normalise(
    values: np.ndarray,
    *,
    method: str,
    higher: np.ndarray,
    targets: np.ndarray,
    groups: np.ndarray | Groups | None = None,
) -> np.ndarray:
    """Normalise each column of `values` to 0–100 within each peer group, direction-aware.

    Args:
        values: offices × indicators, NaN where insufficient (it stays NaN).
        method: minmax | zscore | percentile | target.
        higher: per indicator, True when higher is better.
        targets: per indicator, the value that scores 100 under `target` (NaN: the best value).
        groups: peer group of each row (default: one group).
    """
    v = np.asarray(values, dtype=float)
    if v.size == 0:
        return v.copy()
    grp = Groups.given(groups, v.shape[0])
    out = normalise_runs(
        v[grp.order][None], method=method, higher=higher, targets=targets, starts=grp.starts, counts=grp.counts
    )[0]
    result = np.empty_like(out)
    result[grp.order] = out
    return result


def weighted_mean(scores: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Row-wise mean of `scores` weighted by `weights` (one vector, or one row of weights per row),
    skipping NaN (their weight is spread)."""
    if not scores.shape[1]:
        return np.full(scores.shape[0], np.nan)
    columns = [weights[:, j] if weights.ndim == 2 else float(weights[j]) for j in range(scores.shape[1])]
    return weighted_mean_of([scores[:, j] for j in range(scores.shape[1])], columns)[0]


def rank_desc(values: np.ndarray, groups: np.ndarray | Groups | None = None) -> np.ndarray:
    """Rank within each group, 1 = best; ties share the better rank; NaN gets no rank (NaN)."""
    v = np.asarray(values, dtype=float)
    grp = Groups.given(groups, v.shape[0])
    # Rounded so that equal composites computed along different paths still tie.
    r = ranks_rows(-np.round(v[grp.order], 9)[None, :], grp.starts, grp.counts, "min")[0]
    out = np.empty_like(r)
    out[grp.order] = r
    return out


@dataclass
class GroupScores:
    indicator_scores: np.ndarray  # offices × indicators
    dimensions: np.ndarray  # offices × 4
    composite: np.ndarray  # offices
    rank: np.ndarray  # offices (within the group)


@dataclass(frozen=True)
class Model:
    """The arrays a scoring run needs, in the order of `indicators`."""

    indicators: tuple[Indicator, ...]
    higher: np.ndarray
    targets: np.ndarray
    weights: np.ndarray
    dimension_of: np.ndarray  # index into DIMENSIONS per indicator
    dimension_weights: np.ndarray  # per dimension

    @classmethod
    def from_config(
        cls,
        config: Config,
        *,
        dimension_weights: dict[str, float] | None = None,
        indicator_weights: dict[str, float] | None = None,
    ) -> Model:
        inds = config.indicators
        dw = dimension_weights or config.scoring.dimension_weights
        iw = indicator_weights or {}
        return cls(
            indicators=inds,
            higher=np.array([i.direction == "higher" for i in inds]),
            targets=np.array([config.scoring.targets.get(i.id, np.nan) for i in inds], dtype=float),
            weights=np.array([iw.get(i.id, i.weight) for i in inds], dtype=float),
            dimension_of=np.array([DIMENSIONS.index(i.dimension) for i in inds]),
            dimension_weights=np.array([dw[d] for d in DIMENSIONS], dtype=float),
        )


def score_group(
    values: np.ndarray,
    model: Model,
    *,
    method: str,
    dimension_weights: np.ndarray | None = None,
    groups: np.ndarray | Groups | None = None,
) -> GroupScores:
    """Scores and ranks of the rows of `values`, normalised and ranked within `groups`.

    `dimension_weights` is one vector, or one row per row of `values` (the Monte Carlo scores many
    runs at once, each run its own set of peer groups with its own weights).
    """
    s = normalise(values, method=method, higher=model.higher, targets=model.targets, groups=groups)
    return combine(s, model, dimension_weights=dimension_weights, groups=groups)


def dimension_scores(s: np.ndarray, model: Model) -> np.ndarray:
    """Each dimension's weighted mean of its indicators' scores `s` (weight 0 = left out)."""
    dims = np.full((s.shape[0], len(DIMENSIONS)), np.nan)
    for d in range(len(DIMENSIONS)):
        cols = model.dimension_of == d
        if cols.any():
            sub = s[:, cols]
            dims[:, d] = weighted_mean(np.where(model.weights[cols][None, :] > 0, sub, np.nan), model.weights[cols])
    return dims


def combine(
    s: np.ndarray,
    model: Model,
    *,
    dimension_weights: np.ndarray | None = None,
    groups: np.ndarray | Groups | None = None,
) -> GroupScores:
    """Dimension scores, composites and ranks from normalised indicator scores `s` (the second half
    of `score_group`)."""
    dims = dimension_scores(s, model)
    dw = model.dimension_weights if dimension_weights is None else dimension_weights
    composite = composite_of(
        [dims[:, d] for d in range(dims.shape[1])],
        [dw[:, d] if dw.ndim == 2 else float(dw[d]) for d in range(dims.shape[1])],
    )
    return GroupScores(s, dims, composite, rank_desc(composite, groups))


MIN_SCORED_DIMENSIONS = 2  # a composite needs at least this many dimensions with a score and a weight


def composite_of(dims: list[np.ndarray], weights: list[np.ndarray | float]) -> np.ndarray:
    """The composite of dimension scores `dims` with `weights` (as `weighted_mean_of` takes them):
    their weighted mean, NaN where fewer than MIN_SCORED_DIMENSIONS are scored."""
    composite, scored = weighted_mean_of(dims, weights)
    return np.where(scored >= MIN_SCORED_DIMENSIONS, composite, np.nan)


def weighted_mean_of(parts: list[np.ndarray], weights: list[np.ndarray | float]) -> tuple[np.ndarray, np.ndarray]:
    """`scores.weighted_mean` of the columns `parts` (arrays broadcasting to one shape, NaN where
    insufficient) with `weights` (one per column, each a number or an array broadcasting too),
    and how many columns had a score and a positive weight.

    The sums are taken column after column, left to right. NumPy sums a row of fewer than eight
    numbers the same way, so this gives `weighted_mean`'s numbers exactly, without materialising
    runs × offices × columns (a reduction along a short last axis is slow)."""
    total: np.ndarray | float = 0.0
    num: np.ndarray | float = 0.0
    scored: np.ndarray | int = 0
    for k, (part, weight) in enumerate(zip(parts, weights, strict=True)):
        missing = np.isnan(part)
        w = np.where(missing, 0.0, weight)
        term = np.nan_to_num(part) * w
        total, num = (w, term) if k == 0 else (total + w, num + term)
        scored = scored + (~missing & (np.asarray(weight) > 0))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(np.asarray(total) > 0, np.asarray(num) / total, np.nan), np.asarray(scored)


def ranks_rows(key: np.ndarray, starts: np.ndarray, counts: np.ndarray, ties: str) -> np.ndarray:
    """Ascending 1-based rank of each entry of `key` (runs × offices, offices in peer-group order:
    group g is columns starts[g]:starts[g]+counts[g]) within its run and group; NaN keys get NaN.
    `ties`: "min" (equal keys share the better rank) or "average"."""
    out = np.full(key.shape, np.nan)
    for start, count in zip(starts, counts, strict=True):
        part = key[:, start : start + count]
        k = np.where(np.isnan(part), np.inf, part)
        order = np.argsort(k, axis=1, kind="stable")
        sv = np.take_along_axis(k, order, axis=1)
        pos = np.broadcast_to(np.arange(count), sv.shape)
        begins = np.ones(sv.shape, dtype=bool)
        begins[:, 1:] = sv[:, 1:] != sv[:, :-1]
        first = np.maximum.accumulate(np.where(begins, pos, 0), axis=1)
        if ties == "min":
            r = first + 1.0
        else:
            ends = np.ones(sv.shape, dtype=bool)
            ends[:, :-1] = begins[:, 1:]
            last = np.minimum.accumulate(np.where(ends, pos, count)[:, ::-1], axis=1)[:, ::-1]
            r = (first + last) / 2 + 1.0
        ranked = np.empty(sv.shape)
        np.put_along_axis(ranked, order, r, axis=1)
        out[:, start : start + count] = np.where(np.isnan(part), np.nan, ranked)
    return out


def _per_group(reduce: np.ufunc, x: np.ndarray, starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """`reduce` over each peer group's offices (axis 1), spread back over them."""
    return np.repeat(reduce.reduceat(x, starts, axis=1), counts, axis=1)


def normalise_runs(
    x: np.ndarray,
    *,
    method: str,
    higher: np.ndarray,
    targets: np.ndarray,
    starts: np.ndarray,
    counts: np.ndarray,
) -> np.ndarray:
    """`scores.normalise` of each run's columns: `x` is runs × offices × columns, offices in
    peer-group order (`starts`, `counts`)."""
    sign = np.where(higher, 1.0, -1.0)
    x = x * sign
    nan = np.isnan(x)

    def per_group(reduce: np.ufunc, values: np.ndarray) -> np.ndarray:
        return _per_group(reduce, values, starts, counts)

    # Each method reduces only what it reads (a group reduction is a pass over runs × offices).
    with np.errstate(invalid="ignore", divide="ignore"):
        if method == "minmax":
            lo = per_group(np.fmin, x)
            span = per_group(np.fmax, x) - lo
            out = np.where(span > 0, (x - lo) / span * 100, NEUTRAL)
        elif method == "zscore":
            n = per_group(np.add, ~nan)
            mean = per_group(np.add, np.nan_to_num(x)) / n
            var = per_group(np.add, np.nan_to_num((x - mean) ** 2)) / n
            sd = np.sqrt(var)
            z = np.where(sd > 0, (x - mean) / sd, 0.0)
            out = np.clip(NEUTRAL + 10 * z, 0, 100)
        elif method == "percentile":
            n = per_group(np.add, ~nan)
            runs, offices, columns = x.shape
            flat = x.transpose(0, 2, 1).reshape(runs * columns, offices)  # one row per (run, column)
            r = ranks_rows(flat, starts, counts, "average").reshape(runs, columns, offices).transpose(0, 2, 1)
            out = np.where(n > 1, (r - 1) / np.maximum(n - 1, 1) * 100, NEUTRAL)
        elif method == "target":
            lo = per_group(np.fmin, x)
            best = np.where(np.isnan(targets), per_group(np.fmax, x), targets * sign)
            span = best - lo
            out = np.where(span > 0, np.clip((x - lo) / span, 0, 1) * 100, 100.0)
        else:
            raise ValueError(f"unknown normalisation method '{method}'")
    return np.where(nan, np.nan, out)
