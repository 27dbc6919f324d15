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
    _assert_runs_score_as_alone(got, np.repeat(values[None, :, :], runs, axis=0), model, groups, seed)


def _assert_runs_score_as_alone(got, run_values, model, groups, seed) -> None:
    """Each run's simulated ranks (columns of `got`) equal scoring that run's whole matrix
    (`run_values[r]`) alone, with its weights and method drawn in order from the seed's stream."""
    mc = CONFIG.scoring.monte_carlo
    rng = np.random.default_rng(seed)
    alpha = mc.concentration * model.dimension_weights / model.dimension_weights.sum()
    for r in range(run_values.shape[0]):
        w = rng.dirichlet(alpha) * model.dimension_weights.sum()
        method = mc.methods[rng.integers(len(mc.methods))]
        expected = score_group(run_values[r], model, method=method, dimension_weights=w, groups=groups).rank
        assert np.array_equal(got[:, r], expected, equal_nan=True), (r, method)


def _archives(values: np.ndarray, seed: int):
    """Appraised archives for every office with a quality value: 1–12 each, totals 60–100, grades
    spread over the checklist's grades (by office, then case, as load_archives orders them)."""
    from metrics import ranking

    rng = np.random.default_rng(seed)
    per = rng.integers(1, 13, values.shape[0])
    office = np.repeat(np.arange(values.shape[0]), per)
    total = rng.uniform(60, 100, office.size).round(1)
    grade = np.where(total >= 90, "excellent", np.where(total >= 75, "good", np.where(total >= 60, "qualified", "x")))
    return ranking.Archives.of(office, total, grade, values.shape[0], 80.0)


@settings(max_examples=20, deadline=None)
@given(values=values_st, seed=st.integers(0, 1000), runs=st.integers(1, 30), parametric=st.booleans())
def test_a_peer_group_ranked_alone_has_the_intervals_it_has_beside_the_others(values, seed, runs, parametric) -> None:
    """Each group resamples from its own stream: ranking one province's counties on their own (the
    dashboard's page) gives exactly the simulated ranks of the nationwide ranking's group."""
    from metrics import ranking

    model = Model.from_config(CONFIG)
    groups = np.random.default_rng(seed).integers(0, 2, values.shape[0])
    archives = _archives(values, seed)
    limit = ranking.EXACT_BOOTSTRAP_LIMIT
    ranking.EXACT_BOOTSTRAP_LIMIT = 0 if parametric else limit
    try:
        both = ranking.monte_carlo(
            values, groups, model, CONFIG, archives=archives, runs=runs, seed=seed, keys=["A", "B"]
        )
        for g, key in enumerate(["A", "B"]):
            rows = np.flatnonzero(groups == g)
            if not rows.size:
                continue
            keep = np.isin(archives.office, rows)
            local = np.searchsorted(rows, archives.office[keep])
            mine = ranking.Archives.of(local, archives.total[keep], archives.grade[keep], rows.size, 80.0)
            alone = ranking.monte_carlo(
                values[rows],
                np.zeros(rows.size, dtype=int),
                model,
                CONFIG,
                archives=mine,
                runs=runs,
                seed=seed,
                keys=[key],
            )
            assert np.array_equal(both[rows], alone, equal_nan=True), key
    finally:
        ranking.EXACT_BOOTSTRAP_LIMIT = limit


@settings(max_examples=20, deadline=None)
@given(values=values_st, seed=st.integers(0, 1000), runs=st.integers(1, 30), batch=st.integers(1, 40))
def test_monte_carlo_with_resampling_equals_scoring_each_run_whole(values, seed, runs, batch) -> None:
    """The Monte Carlo normalises the columns it does not resample once per method and only the
    resampled ones per run; each run must still rank as scoring that run's whole matrix does, and
    drawing the archive picks in several pieces must not change the stream."""
    from metrics import ranking

    model = Model.from_config(CONFIG)
    groups = np.random.default_rng(seed).integers(0, 2, values.shape[0])
    archives = _archives(values, seed)
    saved = ranking.MC_BATCH_ROWS, ranking.EXACT_DRAWS_AT_ONCE
    ranking.MC_BATCH_ROWS, ranking.EXACT_DRAWS_AT_ONCE = batch * values.shape[0], 7
    try:
        got = ranking.monte_carlo(
            values, groups, model, CONFIG, archives=archives, runs=runs, seed=seed, keys=["A", "B"]
        )
    finally:
        ranking.MC_BATCH_ROWS, ranking.EXACT_DRAWS_AT_ONCE = saved
    boot = [j for j, i in enumerate(CONFIG.indicators) if i.bootstrap]
    redrawn = np.repeat(values[None, :, :], runs, axis=0)
    for g, key in enumerate(["A", "B"]):
        rows = np.flatnonzero(groups == g)
        if rows.size:
            part = ranking._resampled_group(values, archives, CONFIG, rows, ranking.group_rng(seed, key), runs)
            for k, j in enumerate(boot):
                redrawn[:, rows, j] = part[:, :, k]
    _assert_runs_score_as_alone(got, redrawn, model, groups, seed)


def test_the_bootstrap_is_exact_or_parametric_per_peer_group() -> None:
    """Group 0 holds 2 archives, group 1 holds 4: each group is resampled exactly up to the limit."""
    from metrics import ranking

    office = np.array([0, 0, 1, 2, 2, 2])
    archives = ranking.Archives.of(office, np.full(6, 80.0), np.full(6, "good"), 3, 80.0)
    groups = np.array([0, 1, 1])
    saved = ranking.EXACT_BOOTSTRAP_LIMIT
    try:
        ranking.EXACT_BOOTSTRAP_LIMIT = 4
        assert ranking.bootstrap_kind(archives, groups) == "exact"
        ranking.EXACT_BOOTSTRAP_LIMIT = 3
        assert ranking.bootstrap_kind(archives, groups).startswith("exact for peer groups of up to 3 ")
        ranking.EXACT_BOOTSTRAP_LIMIT = 1
        assert ranking.bootstrap_kind(archives, groups).startswith("parametric")
    finally:
        ranking.EXACT_BOOTSTRAP_LIMIT = saved
    assert ranking.bootstrap_kind(None, np.zeros(3, dtype=int)) == "exact"


@settings(max_examples=15, deadline=None)
@given(values=values_st, seed=st.integers(0, 1000), runs=st.integers(1, 30), batch=st.integers(1, 10))
def test_monte_carlo_gives_the_same_numbers_on_one_thread_and_on_several(values, seed, runs, batch) -> None:
    """The Monte Carlo's blocks of runs and its peer groups' resampling run on several threads; the
    ranks and composites must be those of running them one after the other."""
    from metrics import ranking

    model = Model.from_config(CONFIG)
    groups = np.random.default_rng(seed).integers(0, 3, values.shape[0])
    archives = _archives(values, seed)
    got = {}
    saved = ranking.MC_BATCH_ROWS, ranking.MC_THREADS
    try:
        for threads in (1, 4):
            ranking.MC_BATCH_ROWS, ranking.MC_THREADS = batch * values.shape[0], threads
            composites = np.full((values.shape[0], runs), np.nan)
            ranks = ranking.monte_carlo(
                values,
                groups,
                model,
                CONFIG,
                archives=archives,
                runs=runs,
                seed=seed,
                composites=composites,
                keys=["A", "B", "C"],
            )
            got[threads] = (ranks, composites)
    finally:
        ranking.MC_BATCH_ROWS, ranking.MC_THREADS = saved
    assert np.array_equal(got[1][0], got[4][0], equal_nan=True)
    assert np.array_equal(got[1][1], got[4][1], equal_nan=True)
