"""The optimizer study's claims and their verdicts (rules in docs/statistics.md, *The optimizer
study*, written before its data were seen).

The unit is a task; "most" is more than half of the tasks that count, and a claim with fewer
than ``MIN_TASKS`` counting tasks is not computable. The reference is plain SGD
(``optimizers.reference``); "the others" are every other optimizer run.

* **C7** (momentum and Adam raise the critical batch size): a task counts for an optimizer
  where both its fit and the reference's have a B_crit CI; the optimizer *raises* B_crit
  where the ratio's CI (optimizers/tables.py) lies above ``C7_FACTOR`` (1.5). Supported if
  every other optimizer raises it in most of its tasks; partly if at least one does, or if
  every one's point ratio is above the factor in most tasks; else not supported.
* **C7b** (at batch size 1 every optimizer needs about the same steps): a task counts where
  the reference and at least one other reached the target at batch size 1 (finite medians);
  it agrees where every other's ratio of median steps lies within a factor of ``C7B_FACTOR``
  (1.25) of the reference's. Supported if it agrees in most tasks; partly if every ratio is
  within a factor of 2 in most; else not supported.
* **C1 per optimizer** (full batch is slower than on-line in epochs, the rate tuned): a task
  counts where on-line reached the target and a larger batch size was run (the largest: full
  in the default config); full batch is *slower* where the epochs ratio's CI lies above 1
  (a censored full batch: its lower bound, from the budget). Supported if slower in most
  tasks; partly if the point ratio is above 1 in most; else not supported.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

C7, C7B = "C7", "C7b"
C7_FACTOR = 1.5
C7B_FACTOR = 1.25
PARTLY_FACTOR = 2.0  # C7b's partly rule
MIN_TASKS = 3
NOT_COMPUTABLE = "not computable"
STATEMENTS = {
    C7: "momentum and Adam raise the critical batch size B_crit above plain SGD's",
    C7B: "at small batch sizes (on-line) every optimizer needs about the same steps to the target",
}


def c1_claim(label: str) -> str:
    """The claim id of C1 for one optimizer (not C1 itself: a row named C1 would join the
    paper's C1 as its within-task verdict)."""
    return f"C1 ({label})"


def c1_statement(label: str) -> str:
    """C1's statement for one optimizer."""
    return f"with {label} and the rate tuned, full batch is still slower than on-line in epochs"


def most(count: int, of: int) -> bool:
    """More than half."""
    return count > of / 2


def _fmt(value: float) -> str:
    return "inf" if np.isinf(value) else f"{value:.3g}"


def verdict_c7(fits: pd.DataFrame, reference: str) -> tuple[str, str]:
    """C7's verdict and evidence from optimizers_fit (columns b_crit_ratio[_low, _high])."""
    others = fits[fits["optimizer"] != reference]
    raises, point_above, parts = [], [], []
    for label, rows in others.groupby("optimizer", sort=False):
        usable = rows[np.isfinite(rows["b_crit_ratio_low"])]
        listed = ", ".join(
            f"{r.task} {_fmt(r.b_crit_ratio)} ({_fmt(r.b_crit_ratio_low)} to "
            f"{_fmt(r.b_crit_ratio_high)})"
            for r in rows.itertuples()
        )
        above = int((usable["b_crit_ratio_low"] > C7_FACTOR).sum())
        point = int((usable["b_crit_ratio"] > C7_FACTOR).sum())
        parts.append(
            f"{label}: B_crit / {reference}'s {listed or 'none'}; CI above {C7_FACTOR} in "
            f"{above} of {len(usable)} tasks with CIs"
        )
        if len(usable) >= MIN_TASKS:
            raises.append(most(above, len(usable)))
            point_above.append(most(point, len(usable)))
    evidence = "; ".join(parts) or f"no optimizer besides {reference}"
    if not raises or len(raises) < others["optimizer"].nunique():
        return NOT_COMPUTABLE, f"{evidence}; {MIN_TASKS} tasks with CIs needed per optimizer"
    if all(raises):
        return "supported", evidence
    partly = any(raises) or all(point_above)
    return ("partly supported" if partly else "not supported"), evidence


def verdict_c7b(fits: pd.DataFrame, reference: str) -> tuple[str, str]:
    """C7b's verdict and evidence from optimizers_fit (column steps_1_ratio)."""
    others = fits[(fits["optimizer"] != reference) & np.isfinite(fits["steps_1_ratio"])]
    agree = within2 = counted = 0
    parts = []
    for task, rows in others.groupby("task", sort=False):
        ratios = rows["steps_1_ratio"].to_numpy()
        counted += 1
        agree += bool(np.all((ratios >= 1 / C7B_FACTOR) & (ratios <= C7B_FACTOR)))
        within2 += bool(np.all((ratios >= 1 / PARTLY_FACTOR) & (ratios <= PARTLY_FACTOR)))
        listed = ", ".join(f"{o} {_fmt(r)}" for o, r in zip(rows["optimizer"], ratios, strict=True))
        parts.append(f"{task}: {listed}")
    evidence = (
        f"steps at batch size 1 over {reference}'s: {'; '.join(parts) or 'none'}; within "
        f"{C7B_FACTOR} in {agree} of {counted} tasks, within {PARTLY_FACTOR:g} in {within2}"
    )
    if counted < MIN_TASKS:
        return NOT_COMPUTABLE, f"{evidence}; {MIN_TASKS} tasks needed"
    if most(agree, counted):
        return "supported", evidence
    return ("partly supported" if most(within2, counted) else "not supported"), evidence


def verdict_c1(fits: pd.DataFrame, label: str) -> tuple[str, str]:
    """C1's verdict and evidence for optimizer ``label`` (columns epochs_ratio[_low, _high])."""
    rows = fits[(fits["optimizer"] == label) & (fits["largest_batch"].fillna("") != "")]
    rows = rows[np.isfinite(rows["epochs_ratio_low"])]
    slower = int((rows["epochs_ratio_low"] > 1).sum())
    point = int((rows["epochs_ratio"] > 1).sum())
    listed = ", ".join(
        f"{r.task} ({r.largest_batch}) {_fmt(r.epochs_ratio)} "
        f"({_fmt(r.epochs_ratio_low)} to {_fmt(r.epochs_ratio_high)})"
        for r in rows.itertuples()
    )
    evidence = (
        f"epochs, largest batch size over on-line: {listed or 'none'}; CI above 1 in {slower} "
        f"of {len(rows)} tasks"
    )
    if len(rows) < MIN_TASKS:
        return NOT_COMPUTABLE, f"{evidence}; {MIN_TASKS} tasks needed"
    if most(slower, len(rows)):
        return "supported", evidence
    return ("partly supported" if most(point, len(rows)) else "not supported"), evidence


def claim_table(fits: pd.DataFrame, reference: str) -> pd.DataFrame:
    """optimizers_claim: C7, C7b and C1 per optimizer, in the claims table's columns."""
    rows = []
    for claim, rule in ((C7, verdict_c7), (C7B, verdict_c7b)):
        verdict, evidence = rule(fits, reference)
        rows.append((claim, STATEMENTS[claim], evidence, verdict))
    for label in dict.fromkeys(fits["optimizer"]):
        verdict, evidence = verdict_c1(fits, label)
        rows.append((c1_claim(label), c1_statement(label), evidence, verdict))
    return pd.DataFrame(rows, columns=["claim", "statement", "evidence", "verdict"])
