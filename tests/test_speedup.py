"""The one speed-up: its ratio, its bound and the word for it."""

import math

import pytest

from batch_inefficiency.speedup import AT_LEAST, AT_MOST, EXACT, UNKNOWN, USABLE, speedup


@pytest.mark.parametrize(
    ("slow_censored", "online_censored", "word"),
    [(False, False, EXACT), (True, False, AT_LEAST), (False, True, AT_MOST), (True, True, UNKNOWN)],
)
def test_a_censored_value_makes_the_ratio_a_bound(slow_censored, online_censored, word):
    ratio, bound = speedup(400, 20, slow_censored, online_censored)
    assert bound == word
    assert math.isnan(ratio) if word == UNKNOWN else ratio == 20.0


def test_epochs_are_floored_at_one_and_missing_values_are_unknown():
    assert speedup(0, 0) == (1.0, EXACT)
    assert speedup(5, 0.5) == (5.0, EXACT)
    ratio, bound = speedup(math.nan, 3)
    assert math.isnan(ratio) and bound == UNKNOWN


def test_only_exact_ratios_and_lower_bounds_are_kept_by_the_tests():
    assert set(USABLE) == {EXACT, AT_LEAST}
