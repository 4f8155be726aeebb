"""Trial-averaged curves of a run: one home for the mean over trials (docs/design.md §11)."""

from __future__ import annotations

import numpy as np


def forward_filled(curves: np.ndarray) -> np.ndarray:
    """``[T, E+1]`` with each NaN replaced by the last value before it along the epochs
    (a stopped replica keeps its last value, as the metrics read it)."""
    curves = np.asarray(curves, dtype=float)
    index = np.where(np.isnan(curves), 0, np.arange(curves.shape[1]))
    np.maximum.accumulate(index, axis=1, out=index)
    return curves[np.arange(len(curves))[:, None], index]


def mean_curve(curves: np.ndarray, last: int | None = None) -> np.ndarray:
    """The trial mean ``[E+1]`` of ``curves [T, E+1]`` (forward-filled) up to epoch ``last``."""
    filled = forward_filled(curves)
    end = filled.shape[1] if last is None else last + 1
    return filled[:, :end].mean(axis=0)


def peak_epoch(mean: np.ndarray) -> int:
    """The first epoch where a trial-mean curve is largest (the paper's *epochs needed*)."""
    return int(np.nanargmax(mean))
