"""When a run has finished, and the budgets a run that has not gets (docs/design.md §11).

* **Finished**: the trial-averaged hold-out accuracy has learned (its peak is at least
  ``learned_share`` of the way from the mean majority share to 100%) and has not improved
  by more than ``tolerance`` over the last half of the epochs: the best of epochs ``last//2 + 1 ...
  last`` is at most the best of epochs ``0 ... last//2`` plus ``tolerance``. A curve flat near
  chance is a plateau (full batch on letter sits at about 5% for hundreds of epochs), not a
  finish.
* **Budgets**: a run that has not finished is trained again with its epoch budget doubled,
  while the budget's sample presentations (epochs x training rows) stay within ``cap``;
  the last budget is the cap itself (``cap // n_train`` epochs) where doubling would pass
  it. A run not finished at the cap is reported as not finished.
"""

from __future__ import annotations

import numpy as np


def improvement(mean_hold: np.ndarray) -> float:
    """Best of the last half of a trial-mean curve minus the best up to its midpoint."""
    mean_hold = np.asarray(mean_hold, dtype=float)
    half = (len(mean_hold) - 1) // 2
    return float(mean_hold[half + 1 :].max() - mean_hold[: half + 1].max())


def finished(mean_hold: np.ndarray, tolerance: float, chance: float = 0.0) -> bool:
    """Whether the run of the trial-mean hold-out curve ``mean_hold [E+1]`` has finished;
    ``chance``: the accuracy the peak must exceed (runs.until_finished)."""
    if len(mean_hold) < 3 or float(np.max(mean_hold)) <= chance:
        return False
    return improvement(mean_hold) <= tolerance


def next_budget(budget: int, n_train: int, cap: int) -> int | None:
    """The budget after ``budget`` epochs: doubled, or the cap's epochs, or None (at the cap)."""
    most = cap // n_train
    if budget >= most:
        return None
    return min(2 * budget, most)


def budgets(first: int, n_train: int, cap: int) -> list[int]:
    """Every budget a run may get: ``first`` (within the cap), doubled up to the cap."""
    found = [min(first, max(cap // n_train, 1))]
    while (following := next_budget(found[-1], n_train, cap)) is not None:
        found.append(following)
    return found
