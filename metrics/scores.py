"""From indicator values to normalised scores, dimension scores, composites and ranks (SPEC §3.3).

All arithmetic is NumPy over a matrix of offices × indicators, one peer group at a time, so the
same functions serve the chosen ranking and each Monte Carlo run. NaN means insufficient data
throughout; it is never turned into a zero.
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
    gid: np.ndarray  # group number of each sorted row

    @classmethod
    def of(cls, groups: np.ndarray) -> Groups:
        order = np.argsort(groups, kind="stable")
        g = groups[order]
        starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]]) if g.size else np.zeros(0, dtype=int)
        counts = np.diff(np.r_[starts, g.size])
        return cls(order, starts, counts, np.repeat(np.arange(starts.size), counts))

    @classmethod
    def given(cls, groups: np.ndarray | Groups | None, rows: int) -> Groups:
        """`groups` as a Groups (None: one group of `rows` rows)."""
        if isinstance(groups, Groups):
            return groups
        return cls.of(np.zeros(rows, dtype=int) if groups is None else np.asarray(groups))

    def spread(self, per_group: np.ndarray) -> np.ndarray:
        return np.repeat(per_group, self.counts, axis=0)


def _ranks_within(x: np.ndarray, grp: Groups, ties: str) -> np.ndarray:
    """Ascending rank (1-based) of each sorted row's value within its group; NaN rows get NaN.

    `ties` = "average" or "min". Rows must already be in group order.
    """
    out = np.full(x.shape, np.nan)
    n = x.shape[0]
    if n == 0:
        return out
    for j in range(x.shape[1]):
        col = x[:, j]
        key = np.where(np.isnan(col), np.inf, col)
        order = np.lexsort((key, grp.gid))
        sv, sg = key[order], grp.gid[order]
        pos = np.arange(n) - grp.starts[sg]  # position within the group
        new_run = np.r_[True, (sv[1:] != sv[:-1]) | (sg[1:] != sg[:-1])]
        run = np.cumsum(new_run) - 1
        first = pos[new_run][run]
        if ties == "min":
            r = first + 1.0
        else:
            last = np.r_[pos[np.flatnonzero(new_run)[1:] - 1], pos[-1]][run]
            r = (first + last) / 2 + 1.0
        ranked = np.empty(n)
        ranked[order] = r
        out[:, j] = np.where(np.isnan(col), np.nan, ranked)
    return out


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
    sign = np.where(higher, 1.0, -1.0)[None, :]
    x = v[grp.order] * sign  # group order; higher is better everywhere
    nan = np.isnan(x)
    n = grp.spread(np.add.reduceat(~nan, grp.starts, axis=0))
    lo = grp.spread(np.fmin.reduceat(x, grp.starts, axis=0))
    hi = grp.spread(np.fmax.reduceat(x, grp.starts, axis=0))
    with np.errstate(invalid="ignore", divide="ignore"):
        if method == "minmax":
            span = hi - lo
            out = np.where(span > 0, (x - lo) / span * 100, NEUTRAL)
        elif method == "zscore":
            mean = grp.spread(np.add.reduceat(np.nan_to_num(x), grp.starts, axis=0)) / n
            var = grp.spread(np.add.reduceat(np.nan_to_num((x - mean) ** 2), grp.starts, axis=0)) / n
            sd = np.sqrt(var)
            z = np.where(sd > 0, (x - mean) / sd, 0.0)
            out = np.clip(NEUTRAL + 10 * z, 0, 100)
        elif method == "percentile":
            r = _ranks_within(x, grp, "average")
            out = np.where(n > 1, (r - 1) / np.maximum(n - 1, 1) * 100, NEUTRAL)
        elif method == "target":
            best = np.where(np.isnan(targets)[None, :], hi, (targets[None, :] * sign))
            span = best - lo
            out = np.where(span > 0, np.clip((x - lo) / span, 0, 1) * 100, 100.0)
        else:
            raise ValueError(f"unknown normalisation method '{method}'")
    out = np.where(nan, np.nan, out)
    result = np.empty_like(out)
    result[grp.order] = out
    return result


def weighted_mean(scores: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Row-wise mean of `scores` weighted by `weights` (one vector, or one row of weights per row),
    skipping NaN (their weight is spread)."""
    w = np.where(np.isnan(scores), 0.0, weights if weights.ndim == 2 else weights[None, :])
    total = w.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, np.nansum(np.nan_to_num(scores) * w, axis=1) / total, np.nan)


def rank_desc(values: np.ndarray, groups: np.ndarray | Groups | None = None) -> np.ndarray:
    """Rank within each group, 1 = best; ties share the better rank; NaN gets no rank (NaN)."""
    v = np.asarray(values, dtype=float)
    grp = Groups.given(groups, v.shape[0])
    # Rounded so that equal composites computed along different paths still tie.
    r = _ranks_within(-np.round(v[grp.order], 9)[:, None], grp, "min")[:, 0]
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


def dimension_scores(s: np.ndarray, model: Model, *, only: np.ndarray | None = None, into: np.ndarray | None = None):
    """Each dimension's weighted mean of its indicators' scores `s` (weight 0 = left out). With
    `only` (a flag per dimension), only those dimensions are computed, into `into` (whose other
    columns are kept)."""
    dims = np.full((s.shape[0], len(DIMENSIONS)), np.nan) if into is None else into
    for d in range(len(DIMENSIONS)):
        cols = model.dimension_of == d
        if cols.any() and (only is None or only[d]):
            sub = s[:, cols]
            dims[:, d] = weighted_mean(np.where(model.weights[cols][None, :] > 0, sub, np.nan), model.weights[cols])
    return dims


def combine(
    s: np.ndarray,
    model: Model,
    *,
    dimension_weights: np.ndarray | None = None,
    groups: np.ndarray | Groups | None = None,
    dims: np.ndarray | None = None,
) -> GroupScores:
    """Dimension scores, composites and ranks from normalised indicator scores `s` (the second half
    of `score_group`, for callers that normalise some columns once and others per run); `dims`, when
    given, are the dimension scores of `s` already computed."""
    dims = dimension_scores(s, model) if dims is None else dims
    dw = model.dimension_weights if dimension_weights is None else dimension_weights
    composite = weighted_mean(dims, dw)
    scored_dims = (~np.isnan(dims) & ((dw if dw.ndim == 2 else dw[None, :]) > 0)).sum(axis=1)
    composite = np.where(scored_dims >= 2, composite, np.nan)
    return GroupScores(s, dims, composite, rank_desc(composite, groups))
