"""Project the wall-clock time of a whole configuration from short measured slices.

For every training job (task x batch size) of the config, trains all replicas
(rates x trials) for a few epochs, measures seconds per epoch with all replicas
active, and projects the job's time as

    sum over rates r of  t_epoch(R) * (trials_r / R) * budget_r

(per-epoch cost is proportional to the replicas still active; replicas with a
smaller budget leave early). Prints one JSON line per job and a summary with the
projected total on ``--cores`` cores running one single-threaded job per core.

    python benchmarks/project_runtime.py --configfile config/config.yaml --cores 2
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import yaml

from batch_inefficiency.datasets import load_dataset
from batch_inefficiency.engine import train
from batch_inefficiency.runs import engine_settings
from batch_inefficiency.splits import prepare_trials
from batch_inefficiency.suites import large_tasks, read_sheet, suite_tasks


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


def job_seconds(task: str, batch: str, config: dict, epochs: int) -> dict:
    """Measure ``epochs`` epochs of one job (after a one-epoch warm-up) and project it."""
    training = config["training"]
    dataset = load_dataset(task, Path(config["datasets"]["root"]), config["datasets"]["nominal"])
    data = prepare_trials(dataset, range(config["trials"]), config["seed"])
    settings = engine_settings(
        training | {"epochs": [1] * len(training["epochs"])}, batch, config["seed"], threads=1
    )
    train(data, settings)  # warm-up: numba compilation, caches
    settings = engine_settings(
        training | {"epochs": [epochs] * len(training["epochs"])}, batch, config["seed"], threads=1
    )
    start = time.perf_counter()
    train(data, settings)
    per_epoch = (time.perf_counter() - start) / epochs  # all R replicas active
    replica_epochs = config["trials"] * sum(training["epochs"])
    replicas = config["trials"] * len(training["epochs"])
    return {
        "task": task,
        "batch_size": batch,
        "train_size": int(data.x_train.shape[1]),
        "replicas": replicas,
        "seconds_per_epoch": per_epoch,
        "projected_seconds": per_epoch * replica_epochs / replicas,
    }


def main() -> None:
    """Measure every job of the configuration and print the projection."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--configfile", type=Path, nargs="*", default=[])
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=3, help="measured epochs per job")
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
            jobs.append(job_seconds(task, batch, config, args.epochs))
            print(json.dumps(jobs[-1]), flush=True)
    total = sum(j["projected_seconds"] for j in jobs)
    longest = max(j["projected_seconds"] for j in jobs)
    wall = max(total / args.cores, longest)  # one single-threaded job per core
    print(
        json.dumps(
            {
                "jobs": len(jobs),
                "cpu_seconds": total,
                "longest_job_seconds": longest,
                "cores": args.cores,
                "projected_wall_seconds": wall,
            }
        )
    )


if __name__ == "__main__":
    main()
