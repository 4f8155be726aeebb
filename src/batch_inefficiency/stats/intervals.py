"""Medians over trials with distribution-free order-statistic CIs (binomial ranks).

Censored trials count as ∞, so a median or bound that falls on one is ∞ (at least
the budget). The scaling study's and the size sweep's tables use it alike.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class MedianCI:
    """A median over trials with its order-statistic CI (∞ where censored trials decide)."""

    median: float
    low: float
    high: float
    coverage: float  # the CI's exact coverage under any continuous distribution


def median_ci(values: np.ndarray, level: float = 0.95) -> MedianCI:
    """Median of ``values`` (∞ = censored) and the order-statistic CI of the median.

    The CI is [x_(l), x_(n+1-l)] for the largest rank l whose coverage
    1 - 2 P(Bin(n, 1/2) < l) is at least ``level``; with too few trials for that,
    l = 1 (the range) and the smaller coverage is reported.
    """
    x = np.sort(np.asarray(values, dtype=float))
    n = len(x)
    if n == 0:
        return MedianCI(math.nan, math.nan, math.nan, math.nan)
    coverage = [1 - 2 * stats.binom.cdf(rank - 1, n, 0.5) for rank in range(1, n // 2 + 1)]
    meets = [rank for rank, c in enumerate(coverage, start=1) if c >= level]
    rank = max(meets) if meets else 1
    cover = coverage[rank - 1] if coverage else 0.0
    return MedianCI(float(np.median(x)), float(x[rank - 1]), float(x[n - rank]), float(cover))
