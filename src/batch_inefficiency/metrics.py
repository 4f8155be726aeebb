"""From per-epoch curves to the paper's measures (docs/design.md §2, §6; issue 4).

For each task, method (batch size) and learning rate:

* the hold-out accuracy curve averaged over trials (a replica that stopped early
  or diverged keeps its last recorded accuracy: its weights are frozen);
* *epochs needed* = the epoch where that average peaks (first such epoch), and the
  test accuracy there (mean and sd over trials);
* the share of trials that diverged;
* per trial, the epochs (and weight updates, and seconds) to reach a target
  hold-out accuracy: the task's best trial-averaged hold-out accuracy of any
  method and rate minus a tolerance. A trial that never reaches it is
  right-censored at the epochs it ran and marked so, never dropped.

The best rate of a method is chosen by hold-out accuracy (never test), ties
broken by fewer epochs, then by the larger rate. Speed-up = epochs needed by a
method / by on-line, each at its best rate (the paper's measure); the per-rate
table also gives the median epochs to the common target, the measure that stays
meaningful when a method peaks early at a poor accuracy.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from batch_inefficiency.batch_sizes import ONLINE, sort_key

KEYS = ["batch_size", "lr"]


def filled_matrix(group: pd.DataFrame, value: str, last_epoch: int) -> pd.DataFrame:
    """``[epoch, trial]`` values of one (batch size, rate), forward-filled after a replica stops."""
    matrix = group.pivot(index="epoch", columns="trial", values=value)
    return matrix.reindex(range(last_epoch + 1)).ffill()


def rate_summary(curves: pd.DataFrame, replicas: pd.DataFrame) -> pd.DataFrame:
    """One row per (batch size, rate): epochs needed, accuracy there, divergence share."""
    rows = []
    for (batch_size, lr), group in curves.groupby(KEYS, sort=False):
        last = int(group["epoch"].max())
        hold = filled_matrix(group, "hold_acc", last).mean(axis=1)
        needed = int(hold.to_numpy().argmax())
        test = filled_matrix(group, "test_acc", last).loc[needed]
        updates = filled_matrix(group, "updates", last).loc[needed]
        seconds = filled_matrix(group, "seconds", last).loc[needed]
        mine = replicas[(replicas["batch_size"] == batch_size) & (replicas["lr"] == lr)]
        rows.append(
            {
                "batch_size": batch_size,
                "lr": lr,
                "budget": int(mine["budget"].max()),
                "trials": len(mine),
                "max_hold_acc": float(hold.iloc[needed]),
                "epochs_needed": needed,
                "updates_needed": float(updates.mean()),
                "seconds_needed": float(seconds.mean()),
                "test_acc": float(test.mean()),
                "test_acc_sd": float(test.std(ddof=1)) if len(test) > 1 else np.nan,
                "diverged_share": float((mine["status"] == "diverged").mean()),
            }
        )
    return pd.DataFrame(rows)


def task_target(rates: pd.DataFrame, tolerance: float) -> float:
    """The task's target hold-out accuracy: best trial-averaged accuracy minus ``tolerance``."""
    return float(rates["max_hold_acc"].max()) - tolerance


def trials_to_target(
    curves: pd.DataFrame, replicas: pd.DataFrame, target: float, needed: pd.DataFrame
) -> pd.DataFrame:
    """One row per replica: epochs / updates / seconds to ``target``, censored if never reached.

    Also the replica's test accuracy at its method's *epochs needed* (for paired tests).
    """
    at_needed = needed.set_index(KEYS)["epochs_needed"]
    rows = []
    for (batch_size, lr, trial), run in curves.groupby([*KEYS, "trial"], sort=False):
        run = run.sort_values("epoch")
        reached = run[run["hold_acc"] >= target]
        censored = reached.empty
        hit = run.iloc[-1] if censored else reached.iloc[0]
        epoch = int(at_needed[(batch_size, lr)])
        test_there = run.loc[run["epoch"] <= epoch, "test_acc"].iloc[-1]
        rows.append(
            {
                "batch_size": batch_size,
                "lr": lr,
                "trial": int(trial),
                "epochs_to_target": int(hit["epoch"]),
                "updates_to_target": float(hit["updates"]),
                "seconds_to_target": float(hit["seconds"]),
                "censored": censored,
                "test_acc_at_needed": float(test_there),
            }
        )
    per_trial = pd.DataFrame(rows)
    status = replicas.set_index([*KEYS, "trial"])["status"]
    per_trial["status"] = [
        status[(b, r, t)] for b, r, t in per_trial[[*KEYS, "trial"]].itertuples(index=False)
    ]
    return per_trial


def best_rates(rates: pd.DataFrame) -> pd.DataFrame:
    """Per batch size, the rate of highest trial-mean hold-out accuracy.

    Ties go to fewer epochs needed, then to the larger rate.
    """
    ranked = rates.sort_values(
        ["max_hold_acc", "epochs_needed", "lr"], ascending=[False, True, False], kind="stable"
    )
    best = ranked.groupby("batch_size", sort=False).head(1)
    return best.sort_values("batch_size", key=sort_key).reset_index(drop=True)


def speedups(best: pd.DataFrame) -> pd.Series:
    """Epochs needed by each batch size / by on-line, at best rates (epochs floored at 1)."""
    epochs = best.set_index("batch_size")["epochs_needed"].clip(lower=1)
    if ONLINE not in epochs.index:
        return pd.Series(np.nan, index=epochs.index)
    return epochs / epochs[ONLINE]


def summarise_task(
    curves: pd.DataFrame, replicas: pd.DataFrame, tolerance: float
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """All metrics of one task: (per-rate table with best-rate flags, per-trial table)."""
    rates = rate_summary(curves, replicas)
    target = task_target(rates, tolerance)
    per_trial = trials_to_target(curves, replicas, target, rates)
    grouped = per_trial.groupby(KEYS, sort=False)
    to_target = pd.DataFrame(
        {
            "censored_trials": grouped["censored"].sum(),
            "median_epochs_to_target": grouped["epochs_to_target"].median(),
        }
    )
    rates = rates.merge(to_target.reset_index(), on=KEYS)
    rates["target_hold_acc"] = target
    best = best_rates(rates)
    rates["best"] = rates.set_index(KEYS).index.isin(best.set_index(KEYS).index)
    rates["speedup_vs_online"] = rates["batch_size"].map(speedups(best)).where(rates["best"])
    rates = rates.sort_values(
        ["batch_size", "lr"], key=lambda c: sort_key(c) if c.name == "batch_size" else -c
    )
    return rates.reset_index(drop=True), per_trial


def summarise_task_files(
    curves: list[Path], replicas: list[Path], tolerance: float, rates_out: Path, trials_out: Path
) -> pd.DataFrame:
    """Read every run of a task, summarise it and write the per-rate and per-trial tables."""
    read = {"batch_size": str}
    all_curves = pd.concat([pd.read_csv(p, dtype=read) for p in curves], ignore_index=True)
    all_replicas = pd.concat([pd.read_csv(p, dtype=read) for p in replicas], ignore_index=True)
    rates, per_trial = summarise_task(all_curves, all_replicas, tolerance)
    rates.to_csv(rates_out, index=False, lineterminator="\n")
    per_trial.to_csv(trials_out, index=False, lineterminator="\n")
    return rates
