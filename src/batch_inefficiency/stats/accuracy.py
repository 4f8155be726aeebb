"""C3 (the same accuracy): difference tests and the two one-sided tests of equivalence."""

from __future__ import annotations

import numpy as np
from scipy import stats as sps
from statsmodels.stats.weightstats import ttost_paired

from batch_inefficiency.batch_sizes import FULL, ONLINE
from batch_inefficiency.studies.replication.metrics import best_rate_trials

from .common import (
    ACCURACY,
    MIN_TASKS,
    MIN_TRIALS,
    Settings,
    Study,
    TestResult,
    holm,
    not_computable,
    signed_rank,
)


def tost(
    diff: np.ndarray,
    batch: np.ndarray,
    online: np.ndarray,
    margin: float,
    alpha: float,
    scope: str = ACCURACY,
):
    """TOST (statsmodels ``ttost_paired``) of batch - on-line within +-``margin``.

    The TOST p-value is the larger of the two one-sided p-values; the statistic
    reported is the t of that same one-sided test.
    """
    name = f"across tasks: TOST equivalence of test accuracy within +-{margin:g}"
    fields = {"measure": "test accuracy", "alternative": "equivalence", "censored": scope}
    if len(diff) < MIN_TASKS:
        return not_computable("C3", name, f"only {len(diff)} tasks", len(diff), **fields)
    if np.all(diff == diff[0]):
        return not_computable(
            "C3", name, "all differences tied (zero variance)", len(diff), **fields
        )
    p, lower, upper = ttost_paired(batch, online, -margin, margin)
    decisive, side = (lower, "lower") if lower[1] >= upper[1] else (upper, "upper")
    ci = sps.ttest_1samp(diff, 0).confidence_interval(1 - 2 * alpha)
    return TestResult(
        "C3",
        name,
        statistic=float(decisive[0]),
        p_value=float(p),
        effect=float(diff.mean()),
        effect_name="mean difference",
        ci_level=1 - 2 * alpha,
        ci_low=float(ci.low),
        ci_high=float(ci.high),
        n=len(diff),
        notes=(
            f"t of the one-sided test with the larger p (the {side} margin); the CI is the one "
            f"TOST at alpha {alpha:g} compares to the margin"
        ),
        **fields,
    )


def within_task_accuracy(study: Study, alpha: float) -> list[TestResult]:
    """Per task, two-sided signed-rank over trials of test accuracy (batch - on-line); Holm."""
    results = []
    fields = {"measure": "test accuracy", "censored": ACCURACY}
    for task, (rates, trials) in study.per_task.items():
        name = f"{task}: signed-rank over trials, test accuracy, batch vs on-line"
        online, batch = (best_rate_trials(rates, trials, b) for b in (ONLINE, FULL))
        if online.empty or batch.empty:
            results.append(not_computable("C3", name, "a method is missing", **fields))
            continue
        pairs = (
            batch.set_index("trial")["test_acc_at_needed"]
            - online.set_index("trial")["test_acc_at_needed"]
        )
        results.append(
            signed_rank(
                "C3", name, pairs.dropna().to_numpy(), "two-sided", MIN_TRIALS, alpha, **fields
            )
        )
    holm(results)
    return results


def c3_accuracy(
    study: Study, settings: Settings, within: bool = True, scope: str = ACCURACY
) -> list[TestResult]:
    """C3: no accuracy difference (two-sided signed-rank; equivalence by TOST within the margin).

    ``within``: also the per-task tests over trials (evidence only); ``scope``: the across-task
    rows' ``censored`` text (which tasks they compare).
    """
    pairs = study.tasks[["batch_acc", "online_acc"]].dropna()
    diff = (pairs["batch_acc"] - pairs["online_acc"]).to_numpy()
    across = signed_rank(
        "C3",
        "across tasks: signed-rank on test accuracy (batch - on-line)",
        diff,
        "two-sided",
        alpha=settings.alpha,
        measure="test accuracy",
        censored=scope,
    )
    equivalence = tost(
        diff,
        pairs["batch_acc"].to_numpy(),
        pairs["online_acc"].to_numpy(),
        settings.equivalence_margin,
        settings.alpha,
        scope,
    )
    return [across, equivalence, *(within_task_accuracy(study, settings.alpha) if within else [])]


# ---- C4: larger batches need smaller rates and more epochs -------------------------------
