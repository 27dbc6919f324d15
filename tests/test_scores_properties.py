"""Properties of normalisation, composites and ranks, whatever the data (hypothesis)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from metrics.config import METHODS, default_config
from metrics.scores import Model, normalise, rank_desc, score_group

CONFIG = default_config()
K = len(CONFIG.indicators)
values_st = st.integers(2, 12).flatmap(
    lambda n: arrays(float, (n, K), elements=st.one_of(st.floats(0, 1000, allow_nan=False), st.just(np.nan)))
)
methods = st.sampled_from(METHODS)


@settings(max_examples=150, deadline=None)
@given(values=values_st, method=methods)
def test_scores_stay_within_0_100_and_insufficient_stays_insufficient(values, method) -> None:
    model = Model.from_config(CONFIG)
    s = normalise(values, method=method, higher=model.higher, targets=model.targets)
    assert np.array_equal(np.isnan(s), np.isnan(values))
    assert np.all((s[~np.isnan(s)] >= 0) & (s[~np.isnan(s)] <= 100))
    g = score_group(values, model, method=method)
    ok = ~np.isnan(g.composite)
    assert np.all((g.composite[ok] >= 0) & (g.composite[ok] <= 100))
    assert np.array_equal(ok, ~np.isnan(g.rank))


@settings(max_examples=150, deadline=None)
@given(values=values_st, method=methods)
def test_ranks_are_a_permutation_with_ties(values, method) -> None:
    g = score_group(values, Model.from_config(CONFIG), method=method)
    ranks = np.sort(g.rank[~np.isnan(g.rank)])
    expected_next = 1
    for r, count in zip(*np.unique(ranks, return_counts=True)):
        assert r == expected_next
        expected_next += count


@settings(max_examples=150, deadline=None)
@given(values=values_st, method=methods, gain=st.floats(0, 50), which=st.integers(0, 11))
def test_a_uniformly_better_office_never_ranks_lower(values, method, gain, which) -> None:
    model = Model.from_config(CONFIG)
    v = values.copy()
    b = which % v.shape[0]
    better = v[b] + np.where(model.higher, gain, -gain)  # at least as good on every indicator
    v = np.vstack([v, better])
    g = score_group(v, model, method=method)
    if not np.isnan(g.rank[b]):
        assert g.rank[-1] <= g.rank[b]


@settings(max_examples=100, deadline=None)
@given(values=values_st, weights=arrays(float, 4, elements=st.floats(0.5, 10)))
def test_composite_is_the_weighted_mean_of_available_dimensions(values, weights) -> None:
    model = Model.from_config(CONFIG)
    g = score_group(values, model, method="minmax", dimension_weights=weights)
    for d, c in zip(g.dimensions, g.composite):
        have = ~np.isnan(d)
        if have.sum() < 2:
            assert np.isnan(c)
        else:
            assert np.isclose(c, (d[have] * weights[have]).sum() / weights[have].sum())


def test_changing_a_weight_moves_the_composite_as_the_formula_says() -> None:
    model = Model.from_config(CONFIG)
    dims = np.array([[80.0, 60.0, 40.0, 20.0]])
    from metrics.scores import weighted_mean

    assert weighted_mean(dims, model.dimension_weights)[0] == 50.0
    assert weighted_mean(dims, np.array([2.0, 1, 1, 0]))[0] == (160 + 60 + 40) / 4
    leave_out = Model.from_config(CONFIG, indicator_weights={"E1": 0})
    assert leave_out.weights[0] == 0


def test_ties_share_the_better_rank() -> None:
    assert rank_desc(np.array([70.0, 90.0, 70.0, np.nan, 50.0])).tolist()[:3] == [2.0, 1.0, 2.0]
    assert rank_desc(np.array([70.0, 90.0, 70.0, np.nan, 50.0]))[4] == 4.0
    assert np.isnan(rank_desc(np.array([70.0, 90.0, 70.0, np.nan, 50.0]))[3])


def test_each_method_on_a_worked_column() -> None:
    v = np.array([[10.0], [20.0], [40.0], [np.nan]])
    up, tgt = np.array([True]), np.array([np.nan])
    assert np.allclose(normalise(v, method="minmax", higher=up, targets=tgt)[:3, 0], [0, 100 / 3, 100])
    assert np.allclose(normalise(v, method="percentile", higher=up, targets=tgt)[:3, 0], [0, 50, 100])
    z = (np.array([10, 20, 40]) - 70 / 3) / np.std([10, 20, 40])
    assert np.allclose(normalise(v, method="zscore", higher=up, targets=tgt)[:3, 0], 50 + 10 * z)
    assert np.allclose(normalise(v, method="target", higher=up, targets=np.array([30.0]))[:3, 0], [0, 50, 100])
    assert np.allclose(normalise(v, method="minmax", higher=np.array([False]), targets=tgt)[:3, 0], [100, 200 / 3, 0])


@settings(max_examples=100, deadline=None)
@given(values=values_st, method=methods, seed=st.integers(0, 1000))
def test_group_wise_scoring_equals_scoring_each_group_alone(values, method, seed) -> None:
    model = Model.from_config(CONFIG)
    groups = np.random.default_rng(seed).integers(0, 3, values.shape[0])
    together = score_group(values, model, method=method, groups=groups)
    for g in np.unique(groups):
        alone = score_group(values[groups == g], model, method=method)
        assert np.allclose(together.indicator_scores[groups == g], alone.indicator_scores, equal_nan=True)
        assert np.allclose(together.rank[groups == g], alone.rank, equal_nan=True)


@settings(max_examples=25, deadline=None)
@given(values=values_st, seed=st.integers(0, 1000), runs=st.integers(1, 40), batch=st.integers(1, 60))
def test_batched_monte_carlo_equals_scoring_run_by_run(values, seed, runs, batch) -> None:
    """The Monte Carlo stacks runs into one matrix; each run's ranks must equal scoring that run alone,
    with the random draws taken in the same order (a minimal loop written here from SPEC §3.3 item 6)."""
    from metrics import ranking

    model = Model.from_config(CONFIG)
    groups = np.random.default_rng(seed).integers(0, 2, values.shape[0])
    saved, ranking.MC_BATCH_ROWS = ranking.MC_BATCH_ROWS, batch * values.shape[0]
    try:
        got = ranking.monte_carlo(values, groups, model, CONFIG, archives=None, runs=runs, seed=seed)
    finally:
        ranking.MC_BATCH_ROWS = saved
    mc = CONFIG.scoring.monte_carlo
    rng = np.random.default_rng(seed)
    alpha = mc.concentration * model.dimension_weights / model.dimension_weights.sum()
    for r in range(runs):
        w = rng.dirichlet(alpha) * model.dimension_weights.sum()
        method = mc.methods[rng.integers(len(mc.methods))]
        expected = score_group(values, model, method=method, dimension_weights=w, groups=groups).rank
        assert np.array_equal(got[:, r], expected, equal_nan=True), (r, method)
