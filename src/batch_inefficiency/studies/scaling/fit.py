"""Steps to target against batch size: medians with CIs, the S(B) fit and its regimes.

docs/design.md §9. McCandlish et al. (2018, eq. 2.11): the steps S a batch size
B needs to reach a given loss follow ``S(B) = S_min (1 + B_crit / B)``: small
batches are in the *perfect-scaling* regime (doubling B halves S), large ones
gain nothing more (S → S_min), and B_crit marks the knee.

* medians over trials with their CIs: :func:`batch_inefficiency.stats.intervals.median_ci`.
* :func:`fit_steps`: least squares of log S on log S_min + log(1 + B_crit/B)
  over the batch sizes with a finite median (scipy ``curve_fit``), CIs of S_min
  and B_crit from the covariance of the log parameters (t quantiles with n - 2
  degrees of freedom; none with two points).
* :func:`regime`: from the model's local slope d log S / d log B =
  -B_crit / (B + B_crit): ``perfect scaling`` while it is at least 3/4 of
  perfect (B ≤ B_crit/3), ``no further gain`` once it is at most 1/4
  (B ≥ 3 B_crit), ``diminishing returns`` between.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats

PERFECT, DIMINISHING, NO_GAIN = "perfect scaling", "diminishing returns", "no further gain"
REGIME_FACTOR = 3.0  # regime boundaries at B_crit / 3 and 3 B_crit


@dataclass(frozen=True)
class StepsFit:
    """The fitted S(B) = S_min (1 + B_crit / B) with CIs (NaN where not computable)."""

    s_min: float
    s_min_low: float
    s_min_high: float
    b_crit: float
    b_crit_low: float
    b_crit_high: float
    points: int  # batch sizes in the fit (finite medians)
    note: str

    def steps(self, batch: np.ndarray) -> np.ndarray:
        """The fitted curve at batch sizes ``batch``."""
        return self.s_min * (1 + self.b_crit / np.asarray(batch, dtype=float))


def _log_model(batch: np.ndarray, log_s_min: float, log_b_crit: float) -> np.ndarray:
    return log_s_min + np.log1p(np.exp(log_b_crit) / batch)


NOT_FITTED = StepsFit(*[math.nan] * 6, points=0, note="")


def fit_steps(batch: np.ndarray, steps: np.ndarray, level: float = 0.95) -> StepsFit:
    """Fit S(B) to median steps ``steps`` at batch sizes ``batch`` (∞ / NaN medians left out)."""
    batch, steps = np.asarray(batch, dtype=float), np.asarray(steps, dtype=float)
    keep = np.isfinite(steps) & (steps > 0)
    b, s = batch[keep], steps[keep]
    if len(b) < 2:
        return replace_note(NOT_FITTED, len(b), "fewer than two batch sizes reached the target")
    guess = (math.log(s.min()), math.log(max(b.min() * (s.max() / s.min() - 1), 1e-3)))
    bounds = ([-np.inf, math.log(1e-6)], [np.inf, math.log(1e9)])
    with warnings.catch_warnings():  # two points: no covariance, said in the note
        warnings.simplefilter("ignore", optimize.OptimizeWarning)
        params, cov = optimize.curve_fit(_log_model, b, np.log(s), p0=guess, bounds=bounds)
    s_min, b_crit = math.exp(params[0]), math.exp(params[1])
    dof = len(b) - 2
    if dof < 1 or not np.isfinite(cov).all():
        fit = StepsFit(s_min, math.nan, math.nan, b_crit, math.nan, math.nan, len(b), "")
        return replace_note(fit, len(b), "two batch sizes: exact fit, no CI")
    half = stats.t.ppf(0.5 + level / 2, dof) * np.sqrt(np.diag(cov))
    low, high = np.exp(params - half).tolist(), np.exp(params + half).tolist()
    note = "" if b.min() <= b_crit <= b.max() else "B_crit outside the batch sizes measured"
    return StepsFit(s_min, low[0], high[0], b_crit, low[1], high[1], len(b), note)


def replace_note(fit: StepsFit, points: int, note: str) -> StepsFit:
    """``fit`` with its point count and note set."""
    return StepsFit(
        fit.s_min, fit.s_min_low, fit.s_min_high, fit.b_crit, fit.b_crit_low, fit.b_crit_high,
        points, note,
    )  # fmt: skip


def regime(batch: float, b_crit: float) -> str:
    """The scaling regime of batch size ``batch`` under S(B) with knee ``b_crit`` ("" if NaN)."""
    if not math.isfinite(b_crit):
        return ""
    if batch <= b_crit / REGIME_FACTOR:
        return PERFECT
    return NO_GAIN if batch >= REGIME_FACTOR * b_crit else DIMINISHING
