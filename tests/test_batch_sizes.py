"""Batch sizes: one parser, one resolution of 'full', one order, one policy for too large."""

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from batch_inefficiency import batch_sizes
from batch_inefficiency.errors import UserError


def test_parse_and_text_agree_on_every_spelling():
    assert batch_sizes.parse("full") == "full"
    assert batch_sizes.parse("10") == batch_sizes.parse(10) == 10
    assert batch_sizes.text(10) == batch_sizes.text("10") == "10"


@pytest.mark.parametrize("bad", ["0", 0, -3, "half", "1.5", 1.5, True, "", " 4"])
def test_bad_batch_sizes_are_user_errors_naming_the_value(bad):
    with pytest.raises(batch_sizes.BatchSizeError, match="batch size") as info:
        batch_sizes.parse(bad)
    assert isinstance(info.value, UserError) and repr(bad) in str(info.value)


def test_full_resolves_to_the_training_split_and_larger_is_refused_not_clamped():
    assert batch_sizes.rows("full", 120) == 120
    assert batch_sizes.rows("120", 120) == 120
    with pytest.raises(batch_sizes.BatchSizeError, match="larger than the training split"):
        batch_sizes.rows("121", 120)


@given(st.integers(1, 10_000), st.integers(1, 10_000))
def test_steps_per_epoch_cover_every_instance_once(batch, n):
    steps = batch_sizes.steps_per_epoch(batch, n)
    assert (steps - 1) * batch < n <= steps * batch


def test_order_labels_and_positions():
    sizes = ["full", "100", "1", "10", "100"]
    assert batch_sizes.ordered(sizes) == ["1", "10", "100", "full"]
    assert [batch_sizes.label(b) for b in ("1", "10", "full")] == [
        "1 (on-line)",
        "10",
        "full (batch)",
    ]
    assert list(batch_sizes.positions(pd.Series(["1", "full"]), 500)) == [1.0, 500.0]
    assert list(batch_sizes.sort_key(pd.Series(["full", "2"]))) == [float("inf"), 2.0]
