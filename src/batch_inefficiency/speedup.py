"""On-line's speed-up over a slower method: one ratio, its bound, and one word for a bound.

Every table and figure that shows a speed-up takes it from :func:`speedup`
(docs/statistics.md, *Speed-up*). A censored value (a method that did not learn,
stalled, did not finish, or whose median is censored) is a lower bound of the true
one, so the ratio slower / on-line is **at least** its value when only the slower
method's is censored, **at most** when only on-line's is, **unknown** when both are,
and exact (``""``) otherwise.
"""

from __future__ import annotations

import math

EXACT, AT_LEAST, AT_MOST, UNKNOWN = "", "at least", "at most", "unknown"
# Ratios the across-task tests keep: a lower bound only understates how much slower the
# slower method is (docs/statistics.md, *Bounds in the across-task tests*).
USABLE = (EXACT, AT_LEAST)


def bound(slow_censored: bool, online_censored: bool) -> str:
    """What a ratio slow / on-line of possibly censored values is: one of the four words."""
    return {
        (False, False): EXACT,
        (True, False): AT_LEAST,
        (False, True): AT_MOST,
        (True, True): UNKNOWN,
    }[(bool(slow_censored), bool(online_censored))]


def speedup(
    slow: float, online: float, slow_censored: bool = False, online_censored: bool = False
) -> tuple[float, str]:
    """(ratio, bound) of on-line's speed-up: ``slow / online``, each floored at 1 epoch.

    A censored value is given as its bound (e.g. the budget or the peak epoch). The ratio
    is NaN where it is unknown, or where a value is missing.
    """
    word = bound(slow_censored, online_censored)
    if word == UNKNOWN or not (math.isfinite(slow) and math.isfinite(online)):
        return math.nan, UNKNOWN
    return max(slow, 1.0) / max(online, 1.0), word
