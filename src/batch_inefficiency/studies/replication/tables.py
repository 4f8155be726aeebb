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


def speedup_bound(online_censored: bool, batch_censored: bool) -> str:
    """What a ratio batch / on-line of possibly censored values is.

    A censored value is a lower bound, so the ratio is a ``lower bound`` when only
    batch's is censored, an ``upper bound`` when only on-line's is, ``unknown``
    when both are, and exact (``""``) otherwise.
    """
    return {
        (False, False): "",
        (False, True): "lower bound",
        (True, False): "upper bound",
        (True, True): "unknown",
    }[(bool(online_censored), bool(batch_censored))]


def task_row(task: str, info: dict, rates: pd.DataFrame, trials: pd.DataFrame) -> dict:
    """One row of the per-task table: data set facts, each method at its best rate, speed-up.

    Epochs needed of a method that did not learn (best hold-out accuracy not above
    the majority share) are its budget, marked ``needed_censored``. Epochs to
    target: the median over trials, both methods censored at their common horizon
    (the smaller budget; ``*_censored`` counts the trials not at the target by then).
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
        mine = times.get(batch_size)
        row[f"{name}_epochs_to_target"] = np.median(mine.times) if mine else float("nan")
        row[f"{name}_censored"] = mine.n_censored if mine else float("nan")
    row["horizon"] = horizon
    row["speedup"] = best["speedup_vs_online"].get(FULL, float("nan"))
    row["speedup_bound"] = speedup_bound(
        row["online_needed_censored"], row["batch_needed_censored"]
    )
    # The same ratio on the median epochs to the common target (a lower bound when half
    # or more of the batch method's trials are censored: see batch_censored).
    row["speedup_to_target"] = max(row["batch_epochs_to_target"], 1) / max(
        row["online_epochs_to_target"], 1
    )
    return row


def tasks_table(per_task: dict[str, tuple[dict, pd.DataFrame, pd.DataFrame]]) -> pd.DataFrame:
    """The per-task table from ``{task: (facts, per-rate, per-trial metrics)}``, by size."""
    rows = [task_row(task, *tables) for task, tables in per_task.items()]
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
) -> pd.DataFrame:
    """Both tables from the per-task metrics (rates, trials) and splits; ``out``: output paths.

    Output names: ``tasks``, ``tasks_md``, ``tasks_tex``, ``grid``, ``grid_md``,
    ``grid_tex``. Without a large task the grid is written empty (with its columns).
    """
    per_task = {}
    read = {"batch_size": str}
    for task, rates_path, trials_path, split_path in zip(tasks, rates, trials, splits, strict=True):
        data = load_trial_data(split_path)
        info = {
            "classes": data.n_classes,
            "inputs": data.x_train.shape[2],
            "train_size": data.x_train.shape[1],
        }
        per_task[task] = (
            info,
            pd.read_csv(rates_path, dtype=read),
            pd.read_csv(trials_path, dtype=read),
        )
    table = tasks_table(per_task)
    write_table(table, out["tasks"], out["tasks_md"], out["tasks_tex"])
    grid = (
        grid_table(per_task[large_task][1])
        if large_task in per_task
        else pd.DataFrame(columns=GRID_COLUMNS + GRID_EXTRA)
    )
    write_table(grid, out["grid"], out["grid_md"], out["grid_tex"])
    return table
