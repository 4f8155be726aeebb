"""The generalization study's claims and their verdicts (rules in docs/statistics.md, *The
generalization study*, written before its data were seen).

Per task the unit is the median over trials: of each method's test accuracy (C3) and of
the paired difference full batch - on-line (trials share their split and initial
weights). A task counts only where both on-line and full batch finished.

* **C3 without budgets** (at (a), early-stopped): with fewer than ``MIN_TASKS`` tasks, not
  computable. Supported if TOST of full batch vs on-line across tasks within
  +-``equivalence_margin`` has p < alpha; partly if equivalence is not shown and the
  two-sided signed-rank test finds no difference (p >= alpha, or not computable);
  else not supported.
* **C6** ("smaller batches generalize better"): at a point, full batch is *below* when the
  t CI (1 - alpha) of the mean over tasks of the per-task difference lies below 0 and the
  difference is negative in more than half of the tasks. Supported if below at both (a)
  and (b) (matched training loss); partly if below at one of them; else not supported,
  and where full batch is below at (c) or (d) (equal epochs, equal updates) but at neither
  (a) nor (b) the evidence calls the difference a **budget artefact**.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats as sps

from batch_inefficiency.batch_sizes import FULL, ONLINE
from batch_inefficiency.stats.accuracy import tost
from batch_inefficiency.stats.common import MIN_TASKS, signed_rank

C3, C6 = "C3 without budgets", "C6"
STATEMENTS = {
    C3: "batch and on-line training reach the same test accuracy, each trained until it has "
    "finished and early-stopped on hold-out accuracy",
    C6: "smaller batches generalize better: full batch's test accuracy is below on-line's "
    "early-stopped and at matched training loss",
}
NOT_COMPUTABLE = "not computable"
LETTERS = {
    "early_stopped": "(a)",
    "matched_loss": "(b)",
    "matched_loss_alt": "(b)",
    "equal_epochs": "(c)",
    "equal_updates": "(d)",
}


def paired(points: pd.DataFrame, point: str, finished: str = "finished") -> pd.DataFrame:
    """Per task where on-line and full batch both ``finished`` (a column): the median test
    accuracy of each and the median paired difference full - on-line, at ``point``."""
    mine = points[(points["point"] == point) & points["batch_size"].isin([ONLINE, FULL])]
    rows = []
    for task, group in mine.groupby("task", sort=False):
        by = {b: g.set_index("trial") for b, g in group.groupby("batch_size")}
        if set(by) != {ONLINE, FULL} or not all(by[b][finished].all() for b in by):
            continue
        diff = (by[FULL]["test_acc"] - by[ONLINE]["test_acc"]).dropna()
        if diff.empty:
            continue
        rows.append(
            {
                "task": task,
                "online": float(by[ONLINE]["test_acc"].median()),
                "full": float(by[FULL]["test_acc"].median()),
                "difference": float(diff.median()),
            }
        )
    return pd.DataFrame(rows, columns=["task", "online", "full", "difference"])


def verdict_c3(table: pd.DataFrame, margin: float, alpha: float) -> tuple[str, str]:
    """C3 without budgets from :func:`paired` at (a) (module docstring)."""
    n = len(table)
    if n < MIN_TASKS:
        return NOT_COMPUTABLE, f"{n} tasks where both finished (at least {MIN_TASKS} needed)"
    diff = table["difference"].to_numpy()
    equivalence = tost(diff, table["full"].to_numpy(), table["online"].to_numpy(), margin, alpha)
    difference = signed_rank(C3, "signed-rank", diff, "two-sided", alpha=alpha)
    p_tost, p_rank = equivalence.p_value, difference.p_value
    evidence = (
        f"{n} tasks; median difference full - on-line {np.median(diff):+.4f}; TOST within "
        f"+-{margin:g}: p = {p_tost:.3g}; signed-rank: p = {p_rank:.3g}"
    )
    if np.isfinite(p_tost) and p_tost < alpha:
        return "supported", evidence
    if not (np.isfinite(p_rank) and p_rank < alpha):
        return "partly supported", evidence
    return "not supported", evidence


def below(table: pd.DataFrame, alpha: float) -> tuple[bool, str]:
    """Whether full batch is below on-line at a point (module docstring), and the numbers."""
    diff = table["difference"].to_numpy()
    if len(diff) < 2 or np.all(diff == diff[0]):
        mean = float(diff.mean()) if len(diff) else np.nan
        return False, f"mean {mean:+.4f} over {len(diff)} tasks (no CI)"
    ci = sps.ttest_1samp(diff, 0).confidence_interval(1 - alpha)
    share = float((diff < 0).mean())
    found = bool(ci.high < 0 and share > 0.5)
    text = (
        f"mean {diff.mean():+.4f}, CI [{ci.low:+.4f}, {ci.high:+.4f}], "
        f"negative in {int((diff < 0).sum())}/{len(diff)} tasks"
    )
    return found, text


def verdict_c6(tables: Mapping[str, pd.DataFrame], alpha: float, matched: str) -> tuple[str, str]:
    """C6 from :func:`paired` at each point; ``matched``: the point that is (b)."""
    order = ("early_stopped", matched, "equal_epochs", "equal_updates")
    n = len(tables["early_stopped"])
    if n < MIN_TASKS:
        return NOT_COMPUTABLE, f"{n} tasks where both finished (at least {MIN_TASKS} needed)"
    found = {point: below(tables[point], alpha) for point in order}
    evidence = "; ".join(f"{LETTERS[p]} {found[p][1]}" for p in order)
    primary = [found[p][0] for p in order[:2]]
    if all(primary):
        return "supported", evidence
    if any(primary):
        return "partly supported", evidence
    if found["equal_epochs"][0] or found["equal_updates"][0]:
        return "not supported", f"budget artefact: {evidence}"
    return "not supported", evidence


def claim_rows(
    points: pd.DataFrame,
    margin: float,
    alpha: float,
    matched: str = "matched_loss",
    finished: str = "finished",
) -> pd.DataFrame:
    """generalization_claim: one row per claim (claim, statement, evidence, verdict)."""
    tables = {
        p: paired(points, p, finished)
        for p in ("early_stopped", matched, "equal_epochs", "equal_updates")
    }
    rows = []
    for claim, (verdict, evidence) in (
        (C3, verdict_c3(tables["early_stopped"], margin, alpha)),
        (C6, verdict_c6(tables, alpha, matched)),
    ):
        rows.append(
            {"claim": claim, "statement": STATEMENTS[claim], "evidence": evidence,
             "verdict": verdict}
        )  # fmt: skip
    return pd.DataFrame(rows)


def stability(
    points: pd.DataFrame,
    margin: float,
    alpha: float,
    tolerances: Sequence[float],
    small_tasks: Sequence[str],
) -> pd.DataFrame:
    """generalization_stability: each claim's verdict under each alternative, and a label.

    Alternatives, one change at a time: the finishing tolerance (a run counts as finished
    if it learned and its last half improved by at most that; the runs themselves are not
    retrained), the matched-loss level (``matched_loss_alt``: C6's (b) only), and without
    the small tasks."""
    analyses: dict[str, pd.DataFrame] = {"primary": claim_rows(points, margin, alpha)}
    for tol in tolerances:
        column = points["learned"] & (points["improvement"] <= tol + 1e-12)
        frame = points.assign(finished_alt=column)
        analyses[f"tolerance {tol:g}"] = claim_rows(frame, margin, alpha, finished="finished_alt")
    analyses["matched-loss level x factor"] = claim_rows(
        points, margin, alpha, matched="matched_loss_alt"
    )
    without = points[~points["task"].isin(small_tasks)]
    analyses["without the small tasks"] = claim_rows(without, margin, alpha)
    table = pd.DataFrame(
        {name: rows.set_index("claim")["verdict"] for name, rows in analyses.items()}
    )
    table.loc[C3, "matched-loss level x factor"] = "n/a"
    table["stability"] = [_label(row) for _, row in table.iterrows()]
    return table.reset_index(names="claim")


def _label(row: pd.Series) -> str:
    """``robust`` when every computable alternative agrees with the primary verdict."""
    changes = [
        f"{name}: {value}"
        for name, value in row.drop("primary").items()
        if value not in (row["primary"], NOT_COMPUTABLE, "n/a")
    ]
    missing = [name for name, value in row.drop("primary").items() if value == NOT_COMPUTABLE]
    label = "fragile: " + "; ".join(changes) if changes else "robust"
    if missing and row["primary"] != NOT_COMPUTABLE:
        label += f" (not computable: {', '.join(missing)})"
    return label
