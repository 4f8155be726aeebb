"""Per-trial preparation: stratified, disjoint, deterministic splits; training-only scaling."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from batch_inefficiency.data.datasets import Dataset, load_dataset
from batch_inefficiency.data.splits import (
    fit_minmax,
    load_trial_data,
    one_hot,
    prepare_trials,
    save_trial_data,
    stratified_split,
)
from batch_inefficiency.seeds import Purpose, epoch_permutation, rng_for


@settings(max_examples=60, deadline=None)
@given(
    counts=st.lists(st.integers(min_value=1, max_value=60), min_size=1, max_size=6),
    seed=st.integers(min_value=0, max_value=2**32 - 1),
)
def test_split_is_a_stratified_partition(counts, seed):
    y = np.repeat(np.arange(len(counts)), counts)
    parts = stratified_split(y, np.random.default_rng(seed))
    joined = np.concatenate(parts)
    assert np.array_equal(np.sort(joined), np.arange(len(y)))  # disjoint and complete
    for part, share in zip(parts, (0.6, 0.2, 0.2), strict=True):
        for label, n in enumerate(counts):
            assert abs(np.sum(y[part] == label) - share * n) <= 1  # within one instance


def test_split_sizes_do_not_depend_on_the_seed():
    y = np.repeat([0, 1, 2], [17, 40, 3])
    sizes = {
        tuple(len(p) for p in stratified_split(y, np.random.default_rng(s))) for s in range(20)
    }
    assert len(sizes) == 1


@pytest.fixture(scope="module")
def wine(datasets_root):
    return load_dataset("wine", datasets_root)


def test_trials_are_deterministic_and_differ(wine):
    a = prepare_trials(wine, [0, 1], base_seed=7)
    b = prepare_trials(wine, [1], base_seed=7)
    np.testing.assert_array_equal(a.x_train[1], b.x_train[0])  # trial 1 alone == trial 1 of two
    np.testing.assert_array_equal(a.y_test[1], b.y_test[0])
    assert not np.array_equal(a.x_train[0], a.x_train[1])
    assert a.x_train.shape == (2, 107, 13) and a.x_hold.shape[1] + a.x_test.shape[1] == 71


def test_trial_split_matches_known_values(wine):
    """Regression anchor: the same trial gives the same arrays on every machine."""
    data = prepare_trials(wine, [0], base_seed=2003)
    np.testing.assert_allclose(
        data.x_train[0, 0, :4],
        [0.842105263158, 0.203354297694, 0.572192513369, 0.257731958763],
        atol=1e-12,
    )
    assert float(data.x_train[0].sum()) == pytest.approx(572.681231534822, rel=1e-12)
    assert float(data.x_test[0].sum()) == pytest.approx(190.36132170769025, rel=1e-12)


def test_scaling_uses_training_statistics_only():
    rng = np.random.default_rng(0)
    x = rng.uniform(-3, 5, size=(200, 3))
    x[:, 2] = 4.0  # a constant column
    y = np.repeat([0, 1], 100)
    test_rows = stratified_split(y, rng_for(11, 0, Purpose.SPLIT))[2]
    planted = x.copy()
    planted[test_rows[0], 0] = 1e6  # an outlier in the test split
    clean = prepare_trials(Dataset("clean", x, y, ("a", "b"), ("x1", "x2", "x3")), [0], 11)
    dirty = prepare_trials(Dataset("dirty", planted, y, ("a", "b"), ("x1", "x2", "x3")), [0], 11)
    np.testing.assert_array_equal(clean.x_train, dirty.x_train)
    np.testing.assert_array_equal(clean.x_hold, dirty.x_hold)
    assert dirty.x_train[0, :, :2].min(axis=0).tolist() == [0.0, 0.0]
    assert dirty.x_train[0, :, :2].max(axis=0).tolist() == [1.0, 1.0]
    assert dirty.x_test.max() > 1e5  # test values are scaled, never used to fit
    np.testing.assert_array_equal(dirty.x_train[0, :, 2], 0.0)  # constant column -> 0


def test_fit_minmax_constant_column_has_unit_span():
    low, span = fit_minmax(np.array([[1.0, 2.0], [1.0, 4.0]]))
    assert low.tolist() == [1.0, 2.0] and span.tolist() == [1.0, 2.0]


def test_one_hot():
    np.testing.assert_array_equal(one_hot(np.array([2, 0]), 3), [[0, 0, 1], [1, 0, 0]])


def test_save_and_load_round_trip(tmp_path, wine):
    data = prepare_trials(wine, [0, 2], base_seed=3)
    save_trial_data(tmp_path / "wine.npz", data)
    back = load_trial_data(tmp_path / "wine.npz")
    assert back.trials == (0, 2) and back.n_classes == 3
    for key in ("x_train", "y_train", "x_hold", "y_hold", "x_test", "y_test"):
        np.testing.assert_array_equal(getattr(back, key), getattr(data, key))


def test_epoch_permutation_depends_on_trial_and_epoch_only():
    a = epoch_permutation(2003, 1, 5, 100)
    np.testing.assert_array_equal(a, epoch_permutation(2003, 1, 5, 100))
    assert sorted(a.tolist()) == list(range(100))
    assert not np.array_equal(a, epoch_permutation(2003, 1, 6, 100))
    assert not np.array_equal(a, epoch_permutation(2003, 2, 5, 100))
