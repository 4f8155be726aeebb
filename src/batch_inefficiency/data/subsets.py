"""Nested stratified subsets of a trial's training split (the size sweep, docs/design.md §10).

One order of the training rows per trial, drawn from (seed, trial, ``Purpose.SUBSET``):
the subset of size n is its first n rows, so a smaller subset is always inside a larger
one (nested), and every prefix is stratified: each class's count stays within one of
its share, n x p_c. The order takes, at each position, a row of the class furthest
below its share (ties to the lowest class index), each class's rows in a random order.
Hold-out and test splits are untouched, so accuracies compare across sizes.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from batch_inefficiency.data.splits import TrialData
from batch_inefficiency.errors import UserError
from batch_inefficiency.seeds import Purpose, rng_for


def stratified_order(y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A permutation of ``range(len(y))`` whose every prefix is stratified (module docstring)."""
    classes, counts = np.unique(y, return_counts=True)
    members = [rng.permutation(np.flatnonzero(y == c)) for c in classes]
    share = counts / counts.sum()
    taken = np.zeros(len(classes), dtype=int)
    order = np.empty(len(y), dtype=int)
    for position in range(len(y)):
        deficit = (position + 1) * share - taken
        deficit[taken == counts] = -np.inf
        c = int(np.argmax(deficit))
        order[position] = members[c][taken[c]]
        taken[c] += 1
    return order


def subset_orders(data: TrialData, seed: int) -> np.ndarray:
    """``[T, n_train]``: the stratified order of each trial's training rows."""
    return np.stack(
        [
            stratified_order(y, rng_for(seed, trial, Purpose.SUBSET))
            for trial, y in zip(data.trials, data.y_train, strict=True)
        ]
    )


def training_subset(data: TrialData, orders: np.ndarray, size: int) -> TrialData:
    """``data`` with each trial's training split cut to the first ``size`` rows of its order.

    The rows keep their original order (sorted indices), so the engine's presentation
    orders, drawn per epoch, are what shuffles them.
    """
    n_train = data.x_train.shape[1]
    if not 1 <= size <= n_train:
        raise UserError(f"a training subset of {size} rows: the training split has {n_train}")
    rows = np.sort(orders[:, :size], axis=1)
    pick = np.arange(len(data.trials))[:, None]
    return TrialData(
        trials=data.trials,
        x_train=data.x_train[pick, rows],
        y_train=data.y_train[pick, rows],
        x_hold=data.x_hold,
        y_hold=data.y_hold,
        x_test=data.x_test,
        y_test=data.y_test,
        n_classes=data.n_classes,
    )


def nested_subsets(data: TrialData, seed: int, sizes: Sequence[int]) -> dict[int, TrialData]:
    """Size -> the trials' nested stratified training subsets of that size."""
    orders = subset_orders(data, seed)
    return {size: training_subset(data, orders, size) for size in sizes}
