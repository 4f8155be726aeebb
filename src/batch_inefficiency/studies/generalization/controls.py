"""The epochs at which the study compares batch sizes: its controls (docs/design.md §11).

Per task, each batch size's run (trained until finished) is read at:

* (a) ``early_stopped``: the epoch of its best trial-averaged hold-out accuracy;
* (b) ``matched_loss``: the first epoch where its trial-averaged training loss reaches the
  task's level, the highest final training loss among the batch sizes that finished (all
  of them if none did); ``matched_loss_alt`` the same at ``alt_factor`` x that level;
* (c) ``equal_epochs``: the fewest epochs any batch size of the task ran;
* (d) ``equal_updates``: the fewest weight updates any batch size ran, as whole epochs of
  this batch size (at least 1; the updates actually made are recorded);
* ``end``: the last epoch of the run (for overfitting: best minus final hold-out accuracy).

The engine scores the training loss on a sparse schedule (docs/run_format.md), so (b)'s
crossing lies between two scored epochs: it is placed by log-linear interpolation of the
loss between them, and the bracket is recorded; the loss at the epoch chosen is then
computed exactly from the weights there (points.py).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from batch_inefficiency.studies.generalization.curves import peak_epoch

POINTS = ("early_stopped", "matched_loss", "matched_loss_alt", "equal_epochs", "equal_updates")


@dataclass(frozen=True)
class Matched:
    """Where a training-loss curve first reaches a level: the epoch chosen and its bracket."""

    epoch: float  # NaN: never reached
    low: float  # the last scored epoch above the level
    high: float  # the first scored epoch at or below it


def scored_mean(train_loss: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(epochs, trial-mean loss)`` at the epochs where every trial's loss was scored."""
    scored = ~np.isnan(train_loss).any(axis=0)
    return np.flatnonzero(scored), train_loss[:, scored].mean(axis=0)


def final_loss(train_loss: np.ndarray) -> float:
    """The trial mean of each trial's last scored training loss."""
    last = [row[~np.isnan(row)][-1] for row in train_loss]
    return float(np.mean(last))


def loss_level(finals: Mapping[str, float], finished: Mapping[str, bool]) -> float:
    """The matched-loss level: the highest final loss of the batch sizes that finished."""
    done = [loss for batch, loss in finals.items() if finished[batch]]
    return float(max(done or finals.values()))


def matched_epoch(epochs: np.ndarray, mean_loss: np.ndarray, level: float) -> Matched:
    """The first epoch where the loss curve (scored at ``epochs``) reaches ``level``."""
    below = np.flatnonzero(mean_loss <= level)
    if len(below) == 0:
        return Matched(math.nan, math.nan, math.nan)
    first = int(below[0])
    if first == 0:
        return Matched(float(epochs[0]), float(epochs[0]), float(epochs[0]))
    e_lo, e_hi = int(epochs[first - 1]), int(epochs[first])
    l_lo, l_hi = float(mean_loss[first - 1]), float(mean_loss[first])
    if e_hi - e_lo == 1 or not (l_lo > l_hi > 0 and level > 0):
        return Matched(float(e_hi), float(e_lo), float(e_hi))
    share = (math.log(l_lo) - math.log(level)) / (math.log(l_lo) - math.log(l_hi))
    epoch = min(e_hi, max(e_lo + 1, math.ceil(e_lo + share * (e_hi - e_lo) - 1e-9)))
    return Matched(float(epoch), float(e_lo), float(e_hi))


def equal_updates_epoch(updates: int, steps_per_epoch: int) -> int:
    """The whole epochs of a batch size nearest to ``updates`` weight updates (at least 1)."""
    return max(1, round(updates / steps_per_epoch))


def point_epochs(
    mean_hold: np.ndarray,
    loss_epochs: np.ndarray,
    mean_loss: np.ndarray,
    level: float,
    alt_factor: float,
    fewest_epochs: int,
    fewest_updates: int,
    steps_per_epoch: int,
) -> dict[str, Matched]:
    """Every control's epoch of one run (``Matched`` with its bracket; exact ones have none)."""

    def exact(epoch: int) -> Matched:
        return Matched(float(epoch), math.nan, math.nan)

    end = len(mean_hold) - 1
    return {
        "early_stopped": exact(peak_epoch(mean_hold)),
        "matched_loss": matched_epoch(loss_epochs, mean_loss, level),
        "matched_loss_alt": matched_epoch(loss_epochs, mean_loss, alt_factor * level),
        "equal_epochs": exact(min(fewest_epochs, end)),
        "equal_updates": exact(min(equal_updates_epoch(fewest_updates, steps_per_epoch), end)),
        "end": exact(end),
    }
