"""The paper-style tables (docs/design.md §7): per-task table and the large task's grid.

Each table is written as CSV (full precision, for re-use) and Markdown (rounded,
for reading).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from batch_inefficiency.batch_sizes import FULL, ONLINE, method_name
from batch_inefficiency.data.splits import load_trial_data
from batch_inefficiency.speedup import speedup
from batch_inefficiency.stats.survival import method_times

GRID_COLUMNS = [
    "batch_size",
    "lr",
    "test_acc",
    "test_acc_sd",
    "max_hold_acc",
    "epochs_needed",
    "updates_needed",
    "diverged_share",
    "censored_trials",
    "trials",
    "best",
]
# Also in the grid table (after GRID_COLUMNS, the figures' contract): whether epochs
# needed are censored (did not learn, or stalled) and the share of stalled trials.
GRID_EXTRA = ["needed_censored", "stalled_share"]


def finished(epochs: float, budget: float, learned: bool, budget_hit: float) -> bool:
    """Whether a method at its best rate finished: it learned (not censored for that) and its
    trial-averaged hold-out accuracy peaked before ``budget_hit`` of its budget
    (docs/statistics.md, *Finished or censored*)."""
    return bool(learned) and epochs < budget_hit * budget


def near_ties(rates: pd.DataFrame, batch_size: str, hold_size: int | None) -> float:
    """The other rates of ``batch_size`` whose best trial-averaged hold-out accuracy lies within
    one binomial standard error of the best one's: sqrt(p (1 - p) / (trials x hold_size))
    (NaN without the hold-out size or the method)."""
    mine = rates[rates["batch_size"] == batch_size]
    if mine.empty or hold_size is None:
        return np.nan
    best = mine.loc[mine["best"].astype(bool)].iloc[0]
    p = float(best["max_hold_acc"])
    se = np.sqrt(p * (1 - p) / (int(best["trials"]) * hold_size))
    others = mine[~mine["best"].astype(bool)]
    return float((others["max_hold_acc"] >= p - se).sum())


BUDGET_HIT = 0.95  # statistics.stability.budget_hit's default


def task_row(
    task: str,
    info: dict,
    rates: pd.DataFrame,
    trials: pd.DataFrame,
    budget_hit: float = BUDGET_HIT,
) -> dict:
    """One row of the per-task table: data set facts, each method at its best rate, speed-up.

    Epochs needed of a method that did not learn (best hold-out accuracy not above
    the majority share), stalled, or did not finish (peak at or after ``budget_hit`` of its
    budget) are censored, ``needed_censored``: at least their budget, or at least the peak
    of one that did not finish. Epochs to target: the median over trials, both methods
    censored at their common horizon (the smaller budget; ``*_censored`` counts the trials
    not at the target by then). The speed-ups and their bounds: :func:`speedup.speedup`.
    """
    row = {"task": task, **info, "majority_share": float(rates["majority_hold_acc"].iloc[0])}
    best = rates[rates["best"]].set_index("batch_size")
    times, horizon = method_times(rates, trials, [ONLINE, FULL])
    for batch_size in (ONLINE, FULL):
        name = method_name(batch_size)
        found = batch_size in best.index
        for column, source in (
            ("lr", "lr"),
            ("acc", "test_acc"),
            ("acc_sd", "test_acc_sd"),
            ("epochs", "epochs_needed"),
            ("needed_censored", "needed_censored"),
            ("budget", "budget"),
        ):
            row[f"{name}_{column}"] = best.loc[batch_size, source] if found else float("nan")
        row[f"{name}_finished"] = found and finished(
            row[f"{name}_epochs"],
            row[f"{name}_budget"],
            not row[f"{name}_needed_censored"],
            budget_hit,
        )
        row[f"{name}_needed_censored"] = found and not row[f"{name}_finished"]
        row[f"{name}_near_ties"] = near_ties(rates, batch_size, info.get("hold_size"))
        mine = times.get(batch_size)
        row[f"{name}_epochs_to_target"] = np.median(mine.times) if mine else float("nan")
        row[f"{name}_censored"] = mine.n_censored if mine else float("nan")
    row["horizon"] = horizon
    row["speedup"], row["speedup_bound"] = speedup(
        row["batch_epochs"],
        row["online_epochs"],
        row["batch_needed_censored"],
        row["online_needed_censored"],
    )
    # The same ratio on the median epochs to the common target: a median with half or more
    # of its trials censored is a lower bound.
    row["speedup_to_target"], row["speedup_to_target_bound"] = speedup(
        row["batch_epochs_to_target"],
        row["online_epochs_to_target"],
        bool(mine_censored(times, FULL)),
        bool(mine_censored(times, ONLINE)),
    )
    return row


def mine_censored(times: dict, batch_size: str) -> bool:
    """Whether a method's median epochs to target is censored (half or more of its trials)."""
    mine = times.get(batch_size)
    return mine is None or mine.n_censored >= len(mine.times) / 2


def tasks_table(
    per_task: dict[str, tuple[dict, pd.DataFrame, pd.DataFrame]], budget_hit: float = BUDGET_HIT
) -> pd.DataFrame:
    """The per-task table from ``{task: (facts, per-rate, per-trial metrics)}``, by size."""
    rows = [task_row(task, *tables, budget_hit) for task, tables in per_task.items()]
    return pd.DataFrame(rows).sort_values(["train_size", "task"]).reset_index(drop=True)


def grid_table(rates: pd.DataFrame) -> pd.DataFrame:
    """Batch size x rate grid of the large task."""
    return rates[GRID_COLUMNS + GRID_EXTRA].reset_index(drop=True)


def write_table(
    table: pd.DataFrame, csv_path: Path, markdown_path: Path, latex_path: Path | None = None
) -> None:
    """Write ``table`` as CSV, as a rounded Markdown table and, if asked, as LaTeX (booktabs)."""
    table.to_csv(csv_path, index=False, lineterminator="\n")
    Path(markdown_path).write_text(table.to_markdown(index=False, floatfmt=".4g") + "\n")
    if latex_path is not None:
        latex = table.rename(columns=lambda c: c.replace("_", " "))
        Path(latex_path).write_text(latex.to_latex(index=False, float_format="%.4g", escape=True))


def write_tables(
    tasks: list[str],
    rates: list[Path],
    trials: list[Path],
    splits: list[Path],
    large_task: str | None,
    out: dict[str, Path],
    budget_hit: float,
) -> pd.DataFrame:
    """Both tables from the per-task metrics (rates, trials) and splits; ``out``: output paths.

    ``budget_hit``: the share of its budget from which a method's peak means it did not
    finish (``statistics.stability.budget_hit``). Output names: ``tasks``, ``tasks_md``,
    ``tasks_tex``, ``grid``, ``grid_md``, ``grid_tex``. Without a large task the grid is
    written empty (with its columns).
    """
    per_task = {}
    read = {"batch_size": str}
    for task, rates_path, trials_path, split_path in zip(tasks, rates, trials, splits, strict=True):
        data = load_trial_data(split_path)
        info = {
            "classes": data.n_classes,
            "inputs": data.x_train.shape[2],
            "train_size": data.x_train.shape[1],
            "hold_size": data.x_hold.shape[1],
        }
        per_task[task] = (
            info,
            pd.read_csv(rates_path, dtype=read),
            pd.read_csv(trials_path, dtype=read),
        )
    table = tasks_table(per_task, budget_hit)
    write_table(table, out["tasks"], out["tasks_md"], out["tasks_tex"])
    grid = (
        grid_table(per_task[large_task][1])
        if large_task in per_task
        else pd.DataFrame(columns=GRID_COLUMNS + GRID_EXTRA)
    )
    write_table(grid, out["grid"], out["grid_md"], out["grid_tex"])
    return table
