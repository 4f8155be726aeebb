"""The paper-style tables (docs/design.md §7): per-task table and the large task's grid.

Each table is written as CSV (full precision, for re-use) and Markdown (rounded,
for reading).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from batch_inefficiency.batch_sizes import FULL, ONLINE, method_name
from batch_inefficiency.data import load_trial_data

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


def task_row(task: str, info: dict, rates: pd.DataFrame) -> dict:
    """One row of the per-task table: data set facts, each method at its best rate, speed-up."""
    row = {"task": task, **info}
    best = rates[rates["best"]].set_index("batch_size")
    for batch_size in (ONLINE, FULL):
        name = method_name(batch_size)
        found = batch_size in best.index
        for column, source in (
            ("lr", "lr"),
            ("acc", "test_acc"),
            ("acc_sd", "test_acc_sd"),
            ("epochs", "epochs_needed"),
            ("epochs_to_target", "median_epochs_to_target"),
            ("censored", "censored_trials"),
        ):
            row[f"{name}_{column}"] = best.loc[batch_size, source] if found else float("nan")
    row["speedup"] = best["speedup_vs_online"].get(FULL, float("nan"))
    # The same ratio on the median epochs to the common target (a lower bound when the
    # batch method's trials are censored: see batch_censored).
    row["speedup_to_target"] = max(row["batch_epochs_to_target"], 1) / max(
        row["online_epochs_to_target"], 1
    )
    return row


def tasks_table(per_task: dict[str, tuple[dict, pd.DataFrame]]) -> pd.DataFrame:
    """The per-task table from ``{task: (facts, per-rate metrics)}``, ordered by training size."""
    rows = [task_row(task, info, rates) for task, (info, rates) in per_task.items()]
    return pd.DataFrame(rows).sort_values(["train_size", "task"]).reset_index(drop=True)


def grid_table(rates: pd.DataFrame) -> pd.DataFrame:
    """Batch size x rate grid of the large task."""
    return rates[GRID_COLUMNS].reset_index(drop=True)


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
    splits: list[Path],
    large_task: str | None,
    out: dict[str, Path],
) -> pd.DataFrame:
    """Build both tables from the per-task metrics and splits; ``out`` maps output names to paths.

    Output names: ``tasks``, ``tasks_md``, ``tasks_tex``, ``grid``, ``grid_md``,
    ``grid_tex``. Without a large task the grid is written empty (with its columns).
    """
    per_task = {}
    for task, rates_path, split_path in zip(tasks, rates, splits, strict=True):
        data = load_trial_data(split_path)
        info = {
            "classes": data.n_classes,
            "inputs": data.x_train.shape[2],
            "train_size": data.x_train.shape[1],
        }
        per_task[task] = (info, pd.read_csv(rates_path, dtype={"batch_size": str}))
    table = tasks_table(per_task)
    write_table(table, out["tasks"], out["tasks_md"], out["tasks_tex"])
    grid = (
        grid_table(per_task[large_task][1])
        if large_task in per_task
        else pd.DataFrame(columns=GRID_COLUMNS)
    )
    write_table(grid, out["grid"], out["grid_md"], out["grid_tex"])
    return table
