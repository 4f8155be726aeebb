"""Epochs to target as right-censored times: a common horizon, Kaplan-Meier, restricted means.

A trial that never reaches the target is censored at its epoch budget, and the
two methods compared on a task may have different budgets (their best rates
differ, and smaller rates get longer budgets). Comparing a trial censored at
1,000 epochs with one observed at 4,000 would call the censored one "faster".
So every comparison first censors both methods at a **common horizon**, the
smaller of their budgets: a time beyond it, or censored anywhere, becomes
"not reached by the horizon". Rank tests on these times are then valid (a
censored value is at least as large as every observed one), and the
censoring-aware summaries come from statsmodels' Kaplan-Meier estimator
(:class:`statsmodels.duration.survfunc.SurvfuncRight`) and log-rank test
(:func:`statsmodels.duration.survfunc.survdiff`):

* the Kaplan-Meier median epochs to target (infinite when the curve stays above
  one half up to the horizon);
* the restricted mean epochs to target, the area under the Kaplan-Meier curve
  from 0 to the horizon: the mean of min(time, horizon), estimated with censoring.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from statsmodels.duration.survfunc import SurvfuncRight, survdiff

from batch_inefficiency.studies.replication.metrics import best_rate_trials


@dataclass(frozen=True)
class Censored:
    """Right-censored times: ``times`` (epochs) and ``observed`` (True = target reached)."""

    times: np.ndarray
    observed: np.ndarray

    @property
    def n_censored(self) -> int:
        """How many times are censored."""
        return int((~self.observed).sum())


def at_horizon(epochs: pd.Series, censored: pd.Series, horizon: float) -> Censored:
    """Censor per-trial epochs to target at ``horizon``: later or censored = not reached by it."""
    epochs = np.asarray(epochs, dtype=float)
    observed = ~np.asarray(censored, dtype=bool) & (epochs <= horizon)
    return Censored(np.where(observed, epochs, float(horizon)), observed)


def common_horizon(budgets: list[pd.Series]) -> float:
    """The smallest epoch budget of the trials compared (NaN when there are none)."""
    values = [float(b.min()) for b in budgets if len(b)]
    return min(values) if values else np.nan


def km_median(times: Censored) -> float:
    """Kaplan-Meier median epochs to target; ``inf`` if it is not reached by the horizon."""
    if not times.observed.any():
        return np.inf
    median = SurvfuncRight(times.times, times.observed.astype(int)).quantile(0.5)
    return float(median) if np.isfinite(median) else np.inf


def restricted_mean(times: Censored, horizon: float) -> float:
    """Restricted mean epochs to target: the area under the Kaplan-Meier curve on [0, horizon]."""
    if not times.observed.any():
        return float(horizon)
    fit = SurvfuncRight(times.times, times.observed.astype(int))
    before = fit.surv_times < horizon
    steps = np.concatenate([[0.0], fit.surv_times[before], [horizon]])
    survival = np.concatenate([[1.0], fit.surv_prob[before]])
    return float(np.sum(np.diff(steps) * survival))


def logrank_p(a: Censored, b: Censored) -> float:
    """Two-sided log-rank p-value of two groups (NaN when neither has an event)."""
    if not (a.observed.any() or b.observed.any()):
        return np.nan
    groups = np.r_[np.zeros(len(a.times)), np.ones(len(b.times))]
    _, p = survdiff(np.r_[a.times, b.times], np.r_[a.observed, b.observed].astype(int), groups)
    return float(p)


def method_times(
    rates: pd.DataFrame, trials: pd.DataFrame, batch_sizes: list[str], suffix: str = ""
) -> tuple[dict[str, Censored], float]:
    """Epochs to target of each batch size at its best rate, censored at their common horizon.

    ``suffix`` picks an alternative tolerance's columns (:func:`metrics.tolerance_suffix`).
    Batch sizes that were not run are left out. Returns ``({batch size: times}, horizon)``.
    """
    rows = {b: best_rate_trials(rates, trials, b) for b in batch_sizes}
    rows = {b: r for b, r in rows.items() if len(r)}
    horizon = common_horizon([r["budget"] for r in rows.values()])
    times = {
        b: at_horizon(r[f"epochs_to_target{suffix}"], r[f"censored{suffix}"], horizon)
        for b, r in rows.items()
    }
    return times, horizon
