"""The generalization study's tables (docs/design.md §11).

From every task's points.csv (points.py):

* ``generalization.{csv,md,tex}``: one row per task x batch size (and ``full+wd``, the
  full-batch arm with weight decay): the tuned rate, whether it finished, its epochs and
  presentations, overfitting (best minus final trial-averaged hold-out accuracy) and, for
  each control (a)-(d), its epoch and the median test accuracy over trials with its
  order-statistic CI (``stats/intervals.median_ci``); the generalization gaps (training
  minus test accuracy, test minus training loss) at (a) and (b); the sharpness at (b).
* ``generalization_claim.csv``: C3 without budgets and C6 (claims.py).
* ``generalization_stability.{csv,md,tex}``: their verdicts under the alternatives.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from batch_inefficiency import batch_sizes
from batch_inefficiency.stats.intervals import median_ci
from batch_inefficiency.studies.generalization.claims import claim_rows, stability
from batch_inefficiency.studies.replication.tables import write_table

CONTROLS = {
    "early_stopped": "a",
    "matched_loss": "b",
    "equal_epochs": "c",
    "equal_updates": "d",
}
GAPS = ("early_stopped", "matched_loss")


def _median(prefix: str, values: pd.Series, level: float) -> dict[str, float]:
    ci = median_ci(values.dropna().to_numpy(), level)
    return {prefix: ci.median, f"{prefix}_low": ci.low, f"{prefix}_high": ci.high}


def run_row(group: pd.DataFrame, level: float) -> dict[str, object]:
    """One task x batch size: the run and every control's medians with CIs."""
    first = group.iloc[0]
    row: dict[str, object] = {
        "task": first["task"],
        "batch_size": first["batch_size"],
        "lr": first["lr"],
        "weight_decay": first["weight_decay"],
        "search": first["search"],
        "finished": bool(first["finished"]),
        "run_epochs": int(first["run_epochs"]),
        "run_updates": int(first["run_epochs"] * first["steps_per_epoch"]),
        "best_mean_hold_acc": first["best_mean_hold_acc"],
        "overfitting": first["best_mean_hold_acc"] - first["end_mean_hold_acc"],
    }
    by_point = {p: g for p, g in group.groupby("point")}
    for point, letter in CONTROLS.items():
        mine = by_point.get(point)
        if mine is None:
            continue
        row[f"{letter}_epoch"] = mine["epoch"].iloc[0]
        row.update(_median(f"{letter}_test_acc", mine["test_acc"], level))
        if point in GAPS:
            row.update(_median(f"{letter}_gap_acc", mine["train_acc"] - mine["test_acc"], level))
            row.update(_median(f"{letter}_gap_loss", mine["test_loss"] - mine["train_loss"], level))
        if point == "matched_loss":
            row["b_epoch_low"], row["b_epoch_high"] = (
                mine["epoch_low"].iloc[0],
                mine["epoch_high"].iloc[0],
            )
            row["b_level"] = first["loss_level"]
            row["b_train_loss"] = float(mine["train_loss"].mean())
            row.update(_median("sharpness", mine["sharpness"], level))
    return row


def generalization_table(points: pd.DataFrame, level: float) -> pd.DataFrame:
    """generalization: one row per task x batch size, in task then batch-size order."""
    rows = [run_row(g, level) for _, g in points.groupby(["task", "batch_size"], sort=False)]
    table = pd.DataFrame(rows)
    order = table["batch_size"].map(lambda b: np.inf if b == "full+wd" else 0)
    key = batch_sizes.sort_key(table["batch_size"].where(table["batch_size"] != "full+wd", "full"))
    table = table.assign(_order=key + order.fillna(0), _task=table["task"])
    return table.sort_values(["_task", "_order"], kind="stable").drop(columns=["_order", "_task"])


def read_points(paths: Sequence[Path]) -> pd.DataFrame:
    """Every task's points.csv, concatenated."""
    return pd.concat([pd.read_csv(p, dtype={"batch_size": str}) for p in paths], ignore_index=True)


def write_generalization_tables(
    points: Sequence[Path],
    out: Mapping[str, Path],
    small_tasks: Sequence[str],
    margin: float,
    alpha: float,
    tolerances: Sequence[float],
    level: float = 0.95,
) -> pd.DataFrame:
    """Write generalization.*, generalization_stability.* and generalization_claim.csv.

    ``out`` keys: table, table_md, table_tex, stability, stability_md, stability_tex, claim.
    """
    frame = read_points([Path(p) for p in points])
    frame = frame[~frame["point"].str.startswith("curve_")]
    table = generalization_table(frame, level).reset_index(drop=True)
    table.insert(1, "small", table["task"].isin(small_tasks))
    write_table(table, out["table"], out["table_md"], out["table_tex"])
    stable = stability(frame, margin, alpha, tolerances, small_tasks)
    write_table(stable, out["stability"], out["stability_md"], out["stability_tex"])
    claims = claim_rows(frame, margin, alpha)
    claims.to_csv(out["claim"], index=False, lineterminator="\n")
    return table
