"""Project the wall-clock time of a whole configuration from short measured slices.

For every training job (task x batch size) of the config, trains all replicas
(rates x trials) for ``--epochs`` epochs after a one-epoch warm-up and reads the
seconds of each epoch from the run's own ``seconds`` curve (all replicas are
active throughout). Most epochs score only the hold-out split; those on the
training-curve schedule (engine/schedule.py: 0, 1, 2, 3, 4, 6, 10, 16, 25, ...)
also score the training split. So the projection takes

    steady = median seconds of the unscheduled epochs (not the last one)
    extra  = mean seconds of the scheduled epochs - steady

and projects the job as

    (steady x trials x sum_r budget_r + extra x trials x sum_r scheduled_r) / R

(per-epoch cost is proportional to the replicas still active; replicas with a
smaller budget leave early; ``scheduled_r`` counts the schedule's epochs within
budget_r). Prints one JSON line per job and a summary: the projected total on
``--cores`` cores, with jobs of ``--threads`` threads each running side by side
(``cores // threads`` at a time, the longest job at least).

    python benchmarks/project_runtime.py --configfile config/config.yaml --cores 2 --threads 1

It also projects an older engine (PYTHONPATH pointing at an older checkout's src), for a
before/after on the same machine.
"""

from __future__ import annotations

import batch_inefficiency  # noqa: F401  # isort: skip  (first: sets OMP_WAIT_POLICY)
import argparse
import json
from pathlib import Path

import numpy as np
import yaml

from batch_inefficiency.data import prepare_trials
from batch_inefficiency.datasets import load_dataset
from batch_inefficiency.engine import train
from batch_inefficiency.runs import engine_settings
from batch_inefficiency.suites import large_tasks, read_sheet, suite_tasks

try:
    from batch_inefficiency.engine.schedule import train_curve_epochs
except ImportError:  # an engine before issue 14 scored every split every epoch: no schedule

    def train_curve_epochs(max_epochs: int) -> np.ndarray:
        """No epoch costs more than another."""
        return np.zeros(max_epochs + 1, dtype=bool)


def load_config(paths: list[Path]) -> dict:
    """config/config.yaml updated (recursively) by the given files, as Snakemake does."""

    def merge(base: dict, extra: dict) -> dict:
        for key, value in extra.items():
            base[key] = merge(base.get(key, {}), value) if isinstance(value, dict) else value
        return base

    config: dict = {}
    for path in [Path("config/config.yaml"), *paths]:
        merge(config, yaml.safe_load(path.read_text()))
    return config


def job_seconds(task: str, batch: str, config: dict, epochs: int, threads: int) -> dict:
    """Measure ``epochs`` epochs of one job (after a one-epoch warm-up) and project it."""
    training = config["training"]
    dataset = load_dataset(task, Path(config["datasets"]["root"]), config["datasets"]["nominal"])
    data = prepare_trials(dataset, range(config["trials"]), config["seed"])

    def settings(budget: int):
        budgets = {"epochs": [budget] * len(training["epochs"])}
        return engine_settings(training | budgets, batch, config["seed"], threads=threads)

    train(data, settings(1))  # warm-up: numba compilation, caches
    seconds = np.diff(train(data, settings(epochs)).records.seconds[0])  # [epochs], epoch 1 on
    scheduled = train_curve_epochs(epochs)[1:-1]  # epochs 1 ... epochs - 1 (the last is final)
    steady = float(np.median(seconds[:-1][~scheduled]))
    extra = max(0.0, float(seconds[:-1][scheduled].mean()) - steady)
    trials, budgets = config["trials"], training["epochs"]
    replicas = trials * len(budgets)
    scheduled_epochs = trials * sum(int(train_curve_epochs(b)[1:].sum()) for b in budgets)
    projected = (steady * trials * sum(budgets) + extra * scheduled_epochs) / replicas
    return {
        "task": task,
        "batch_size": batch,
        "train_size": int(data.x_train.shape[1]),
        "replicas": replicas,
        "threads": threads,
        "seconds_per_epoch": steady,
        "scheduled_extra_seconds": extra,
        "projected_seconds": projected,
    }


def main() -> None:
    """Measure every job of the configuration and print the projection."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--configfile", type=Path, nargs="*", default=[])
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1, help="threads per job")
    parser.add_argument("--epochs", type=int, default=20, help="measured epochs per job (>= 12)")
    parser.add_argument("--tasks", nargs="*", help="only these tasks (default: the suite)")
    args = parser.parse_args()
    config = load_config(args.configfile)
    sheet = read_sheet(Path(config["datasets"]["sheet"]), Path(config["datasets"]["root"]))
    suite = config["datasets"]["suite"]
    large = set(large_tasks(sheet, suite))
    jobs = []
    for task in args.tasks or suite_tasks(sheet, suite):
        key = "large_task_batch_sizes" if task in large else "batch_sizes"
        for batch in config["training"][key]:
            jobs.append(job_seconds(task, batch, config, args.epochs, args.threads))
            print(json.dumps(jobs[-1]), flush=True)
    total = sum(j["projected_seconds"] for j in jobs)
    longest = max(j["projected_seconds"] for j in jobs)
    side_by_side = max(1, args.cores // args.threads)
    wall = max(total / side_by_side, longest)
    print(
        json.dumps(
            {
                "jobs": len(jobs),
                "job_seconds": total,
                "cpu_seconds": total * args.threads,
                "longest_job_seconds": longest,
                "cores": args.cores,
                "threads": args.threads,
                "projected_wall_seconds": wall,
                "projected_wall_minutes": round(wall / 60, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
