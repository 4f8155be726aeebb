"""The compiled presentation orders are numpy's: SeedSequence, PCG64, Generator.permutation."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from batch_inefficiency.permutation import assembled_entropy, words
from batch_inefficiency.seeds import EpochOrders, Purpose, epoch_permutation, rng_for


def numpy_order(base_seed: int, trial: int, epoch: int, n: int) -> np.ndarray:
    """The definition: numpy's own generator for the (seed, trial, ORDER, epoch) stream."""
    return rng_for(base_seed, trial, Purpose.ORDER, epoch).permutation(n)


@settings(max_examples=300, deadline=None)
@given(
    base_seed=st.integers(0, 2**70),
    trial=st.integers(0, 2**40),
    epoch=st.integers(0, 2**36),
    n=st.integers(0, 5000),
)
def test_epoch_permutation_is_numpys(base_seed, trial, epoch, n):
    np.testing.assert_array_equal(
        epoch_permutation(base_seed, trial, epoch, n), numpy_order(base_seed, trial, epoch, n)
    )


@pytest.mark.parametrize("n", [1, 2, 3, 12_000, 20_000])
def test_epoch_permutation_sizes(n):
    for epoch in (0, 1, 9999):
        np.testing.assert_array_equal(
            epoch_permutation(2003, 7, epoch, n), numpy_order(2003, 7, epoch, n)
        )


def test_epoch_orders_fill_the_rows_in_use():
    trials = np.array([0, 3, 2**33, 9])  # one trial past 2^32: two words in its key
    orders = EpochOrders(2003, trials, 50)
    for epoch in (0, 5, 2**32 + 1):  # and an epoch of two words
        got = orders(epoch, np.array([0, 2, 3])).copy()
        for row in (0, 2, 3):
            np.testing.assert_array_equal(got[row], numpy_order(2003, int(trials[row]), epoch, 50))


def test_assembled_entropy_pads_the_seed_to_the_pool():
    assert words(0) == [0] and words(2**32 + 7) == [7, 1]
    np.testing.assert_array_equal(assembled_entropy(2003, 5, 3), [2003, 0, 0, 0, 5, 3])
    np.testing.assert_array_equal(assembled_entropy(2**128, 1), [0, 0, 0, 0, 1, 1])


def test_more_rows_than_32_bit_draws_can_permute_are_refused():
    with pytest.raises(ValueError, match="2\\^32 rows"):
        epoch_permutation(2003, 0, 0, 2**32 + 1)


def test_negative_keys_are_refused():
    with pytest.raises(ValueError, match="non-negative"):
        epoch_permutation(2003, -1, 0, 10)
    with pytest.raises(ValueError, match="non-negative"):
        EpochOrders(2003, np.array([0]), 10)(-1, np.array([0]))
