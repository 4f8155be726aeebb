"""Which small tasks join the generalization study: those where on-line training overfits.

The rule (docs/statistics.md, *The generalization study*, stated before the study ran):
among the paper suite's tasks outside the scaling suite with at most ``MAX_TRAIN`` training
rows, take those where on-line training at its committed best rate
(``results/metrics/<task>/rates.csv``) ends its budget with a trial-averaged hold-out
accuracy at least ``FALL`` below its peak; if more than ``MAX_TASKS`` qualify, the ones
with the largest fall (ties by name); if fewer than four, the threshold is ``FALLBACK_FALL``.

The committed metrics hold the peak (``max_hold_acc``, ``peak_epoch``) but not the accuracy
at the end of the budget, so the end comes from the same run trained again
(:func:`online_fall`): on-line at the committed best rate and budget, the committed trials;
the run is deterministic and a rate's numbers do not depend on its run-mates, and the
regenerated peak and peak epoch must equal the committed ones, else the task is refused.

``python -m batch_inefficiency.studies.generalization.selection`` prints the table and the
tasks it picks.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from batch_inefficiency.data.datasets import load_dataset
from batch_inefficiency.data.splits import prepare_trials
from batch_inefficiency.data.suites import read_sheet, suite_tasks
from batch_inefficiency.engine import train
from batch_inefficiency.studies.generalization.curves import mean_curve, peak_epoch
from batch_inefficiency.studies.replication.runs import engine_settings

FALL = 0.02  # peak minus end of the trial-averaged hold-out accuracy: 2 points
FALLBACK_FALL = 0.01  # the threshold if fewer than MIN_TASKS tasks reach FALL
MIN_TASKS = 4
MAX_TASKS = 6
MAX_TRAIN = 1000  # "small": at most this many training rows


def select_tasks(
    falls: pd.DataFrame,
    fall: float = FALL,
    fallback: float = FALLBACK_FALL,
    least: int = MIN_TASKS,
    most: int = MAX_TASKS,
) -> list[str]:
    """The tasks the rule picks from ``falls`` (columns ``task``, ``fall``, ``reproduced``)."""
    usable = falls[falls["reproduced"]]
    for threshold in (fall, fallback):
        chosen = usable[usable["fall"] >= threshold - 1e-12]
        if len(chosen) >= least or threshold == fallback:
            break
    ranked = chosen.sort_values(["fall", "task"], ascending=[False, True], kind="stable")
    return sorted(ranked["task"].head(most))


def candidates(sheet: pd.DataFrame, sizes: Mapping[str, int]) -> list[str]:
    """Paper tasks outside the scaling suite with at most ``MAX_TRAIN`` training rows."""
    scaling = set(suite_tasks(sheet, "scaling"))
    return [t for t in suite_tasks(sheet, "paper") if t not in scaling and sizes[t] <= MAX_TRAIN]


def online_fall(task: str, config: Mapping[str, Any], metrics: Path) -> dict[str, Any]:
    """On-line's committed best rate trained again: peak, end, fall, and whether it matches."""
    rates = pd.read_csv(metrics / task / "rates.csv", dtype={"batch_size": str})
    best = rates[(rates["batch_size"] == "1") & rates["best"]].iloc[0]
    datasets = config["datasets"]
    dataset = load_dataset(task, Path(datasets["root"]), datasets["nominal"])
    data = prepare_trials(dataset, range(int(best["trials"])), config["seed"])
    settings = engine_settings(config["training"], "1", config["seed"], threads=1)
    settings = replace(
        settings, learning_rates=(float(best["lr"]),), epochs=int(best["budget"]), patience=None
    )
    mean = mean_curve(train(data, settings).records.hold_acc)
    peak = peak_epoch(mean)
    return {
        "task": task,
        "train_size": int(data.x_train.shape[1]),
        "lr": float(best["lr"]),
        "budget": int(best["budget"]),
        "peak_epoch": peak,
        "peak_hold_acc": float(mean[peak]),
        "end_hold_acc": float(mean[-1]),
        "fall": float(mean[peak] - mean[-1]),
        "reproduced": bool(
            peak == int(best["peak_epoch"]) and np.isclose(mean[peak], best["max_hold_acc"])
        ),
    }


def fall_table(config: Mapping[str, Any], metrics: Path, tasks: Sequence[str]) -> pd.DataFrame:
    """:func:`online_fall` of every task."""
    return pd.DataFrame([online_fall(task, config, metrics) for task in tasks])


def main() -> None:
    """Print the fall of every candidate and the tasks the rule picks."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", type=Path, default=Path("config/config.yaml"))
    parser.add_argument("--metrics", type=Path, default=Path("results/metrics"))
    args = parser.parse_args()
    config = yaml.safe_load(args.config.read_text())
    sheet = read_sheet(Path(config["datasets"]["sheet"]), Path(config["datasets"]["root"]))
    sizes = pd.read_csv(args.metrics.parent / "tables" / "tasks.csv").set_index("task")
    table = fall_table(config, args.metrics, candidates(sheet, sizes["train_size"].to_dict()))
    print(table.to_string(index=False))
    print("picked:", ", ".join(select_tasks(table)))


if __name__ == "__main__":
    main()
