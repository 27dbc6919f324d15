"""Scoring many Monte Carlo runs at once: runs × offices × columns arrays, one pass per method.

`metrics.scores` scores one matrix of offices × indicators; the Monte Carlo (SPEC §3.3 item 6)
scores it a thousand times with other dimension weights, another method and resampled archive
indicators. Stacking the runs as rows of one matrix (the previous way) made every run pay for
gathering, tiling and sorting the whole matrix again. Here the offices are put in peer-group order
once, the columns that no run changes are normalised once per method, and the rest is computed
for a block of runs along a leading axis:

- the resampled columns are normalised per run and peer group with reductions along the office
  axis (the same reductions `normalise` makes, so the same numbers);
- the dimension of those columns, the composite and its weights use `weighted_mean_of`, the sums
  of `scores.weighted_mean` column by column (the same sums in the same order, so the same
  numbers: the tests require each run's ranks to equal scoring that run alone);
- ranks are sorted per peer group, all runs of the block at once (`ranks_rows`).
"""

from __future__ import annotations

import numpy as np

from metrics.scores import NEUTRAL


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
    n = _per_group(np.add, ~nan, starts, counts)
    lo = _per_group(np.fmin, x, starts, counts)
    hi = _per_group(np.fmax, x, starts, counts)
    with np.errstate(invalid="ignore", divide="ignore"):
        if method == "minmax":
            span = hi - lo
            out = np.where(span > 0, (x - lo) / span * 100, NEUTRAL)
        elif method == "zscore":
            mean = _per_group(np.add, np.nan_to_num(x), starts, counts) / n
            var = _per_group(np.add, np.nan_to_num((x - mean) ** 2), starts, counts) / n
            sd = np.sqrt(var)
            z = np.where(sd > 0, (x - mean) / sd, 0.0)
            out = np.clip(NEUTRAL + 10 * z, 0, 100)
        elif method == "percentile":
            runs, offices, columns = x.shape
            flat = x.transpose(0, 2, 1).reshape(runs * columns, offices)  # one row per (run, column)
            r = ranks_rows(flat, starts, counts, "average").reshape(runs, columns, offices).transpose(0, 2, 1)
            out = np.where(n > 1, (r - 1) / np.maximum(n - 1, 1) * 100, NEUTRAL)
        elif method == "target":
            best = np.where(np.isnan(targets), hi, targets * sign)
            span = best - lo
            out = np.where(span > 0, np.clip((x - lo) / span, 0, 1) * 100, 100.0)
        else:
            raise ValueError(f"unknown normalisation method '{method}'")
    return np.where(nan, np.nan, out)
