"""Project the wall-clock time of a whole configuration from short measured slices.

For every training job (task x batch size) of the config, trains all replicas
(rates x trials) for a few epochs, measures seconds per epoch with all replicas
active, and projects the job's time as

    sum over rates r of  t_epoch(R) * (trials_r / R) * budget_r

(per-epoch cost is proportional to the replicas still active; replicas with a
smaller budget leave early). Prints one JSON line per job and a summary with the
projected total on ``--cores`` cores running one single-threaded job per core.

    python benchmarks/project_runtime.py --configfile config/config.yaml --cores 2

With ``--scaling`` it projects the scaling study instead (docs/design.md §9): per rate
search, seconds per epoch with the first rates' replicas active, times
``max_epochs`` x (first rates + ``max_widenings``) / first rates. That is an upper
bound: it assumes no replica stops at the target and every widening is used. Pass
``--measured results/scaling`` to use, where a search has already run, the epochs its
replicas actually ran (``trials.csv``) instead of the bound, and, for the searches
not yet run, the bound times the share of their bound that the run ones used.

With ``--size-sweep`` it projects the size sweep (docs/design.md §10) the same way: per
task x method x size, seconds per replica-epoch on that subset (the first round's
replicas active) times a bound (every replica runs its size's epoch budget,
``size_sweep_config.epoch_budget``), or with ``--measured results/size_sweep`` the
replica-epochs recorded, the unmeasured ones calibrated by the measured share; plus per
task the target's calibration (on-line, smallest size, ``calibration_epochs``).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import pandas as pd
import yaml

from batch_inefficiency.datasets import load_dataset
from batch_inefficiency.engine import train
from batch_inefficiency.resources import task_shape
from batch_inefficiency.runs import engine_settings
from batch_inefficiency.scaling_config import study_batch_sizes
from batch_inefficiency.size_sweep import calibration_rates
from batch_inefficiency.size_sweep_config import epoch_budget, sweep_methods, sweep_sizes
from batch_inefficiency.splits import prepare_trials
from batch_inefficiency.subsets import nested_subsets
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


def scaling_job(task: str, batch: str, config: dict, epochs: int, measured: Path | None) -> dict:
    """Project one rate search: an upper bound, or the replica-epochs it actually ran."""
    scaling, training = config["scaling"], config["training"]
    dataset = load_dataset(task, Path(config["datasets"]["root"]), config["datasets"]["nominal"])
    data = prepare_trials(dataset, range(scaling["trials"]), config["seed"])
    # Tiny rates: no replica diverges or reaches the target while measured (the cost of a
    # replica-epoch does not depend on its rate).
    rates = [1e-7 * (i + 1) for i in range(len(scaling["initial_mean_rates"]))]
    probe = training | {"learning_rates": rates, "epochs": [1] * len(rates)}
    train(data, engine_settings(probe, batch, config["seed"], threads=1))  # warm-up
    probe["epochs"] = [epochs] * len(rates)
    start = time.perf_counter()
    train(data, engine_settings(probe, batch, config["seed"], threads=1))
    per_replica_epoch = (time.perf_counter() - start) / epochs / (len(rates) * len(data.trials))
    bound = len(data.trials) * scaling["max_epochs"] * (len(rates) + scaling["max_widenings"])
    done = measured / task / batch / "trials.csv" if measured else None
    ran = int(pd.read_csv(done)["epochs_run"].sum()) if done and done.is_file() else None
    return {
        "task": task,
        "batch_size": batch,
        "seconds_per_replica_epoch": per_replica_epoch,
        "bound_replica_epochs": bound,
        "replica_epochs_run": ran,
        "projected_seconds": per_replica_epoch * (bound if ran is None else ran),
    }


def calibrate(jobs: list[dict]) -> float | None:
    """Scale the unmeasured searches' bounds by the measured ones' share of their bound.

    Returns that share (replica-epochs run / bound over the searches already run), or
    None when none has run; the estimate assumes other tasks stop as early as those.
    """
    jobs = [j for j in jobs if not j.get("exact")]  # no target stop: the bound is its cost
    ran = [j for j in jobs if j["replica_epochs_run"] is not None]
    if not ran:
        return None
    share = sum(j["replica_epochs_run"] for j in ran) / sum(j["bound_replica_epochs"] for j in ran)
    for job in jobs:
        if job["replica_epochs_run"] is None:
            job["projected_seconds"] *= share
    return share


def scaling_jobs(config: dict, args: argparse.Namespace, sheet) -> list[dict]:
    """Every rate search of the scaling study, projected."""
    jobs = []
    for task in args.tasks or suite_tasks(sheet, config["scaling"]["suite"]):
        shape = task_shape(
            task, Path(config["datasets"]["root"]), config["datasets"]["nominal"], "twice_inputs"
        )
        for batch in study_batch_sizes(config["scaling"], shape.n_train - shape.n_classes):
            jobs.append(scaling_job(task, batch, config, args.epochs, args.measured))
            print(json.dumps(jobs[-1]), flush=True)
    share = calibrate(jobs)
    print(json.dumps({"calibration_share_of_bound": share}), flush=True)
    return jobs


def replica_epoch_seconds(subset, batch: str, config: dict, replicas: int, epochs: int) -> float:
    """Seconds per replica-epoch on ``subset`` with ``replicas`` rates x its trials active."""
    rates = [1e-7 * (1 + i) for i in range(replicas)]
    probe = config["training"] | {"learning_rates": rates, "epochs": [1] * replicas}
    train(subset, engine_settings(probe, batch, config["seed"], threads=1))  # warm-up
    probe["epochs"] = [epochs] * replicas
    start = time.perf_counter()
    train(subset, engine_settings(probe, batch, config["seed"], threads=1))
    return (time.perf_counter() - start) / epochs / replicas / len(subset.trials)


def size_sweep_jobs(config: dict, args: argparse.Namespace, sheet) -> list[dict]:
    """The size sweep (docs/design.md §10): per task, the target's calibration, then per
    method x size an upper bound (every replica runs its size's epoch budget: first rates +
    widenings + the paper's rates), or, with ``--measured results/size_sweep``, the
    replica-epochs its trials.csv records."""
    sweep, scaling = config["size_sweep"], config["scaling"]
    jobs = []
    for task in args.tasks or suite_tasks(sheet, sweep["suite"]):
        root, nominal = Path(config["datasets"]["root"]), config["datasets"]["nominal"]
        dataset = load_dataset(task, root, nominal)
        data = prepare_trials(dataset, range(sweep["trials"]), config["seed"])
        sizes = sweep_sizes(sweep, data.x_train.shape[1])
        subsets = nested_subsets(data, config["seed"], sizes)
        first_rates = len(calibration_rates(sweep, scaling, config["training"]["reduction"]))
        per = replica_epoch_seconds(subsets[sizes[0]], "1", config, first_rates, args.epochs)
        bound = len(data.trials) * first_rates * sweep["calibration_epochs"]
        jobs.append(
            {"task": task, "batch_size": "target", "size": sizes[0],
             "seconds_per_replica_epoch": per, "bound_replica_epochs": bound,
             "replica_epochs_run": None, "exact": True, "projected_seconds": per * bound}
        )  # fmt: skip
        print(json.dumps(jobs[-1]), flush=True)
        for batch in sweep_methods(sweep):
            done = args.measured / task / batch / "trials.csv" if args.measured else None
            ran = pd.read_csv(done) if done and done.is_file() else None
            for number, size in enumerate(sizes):
                first = len(scaling["initial_mean_rates"]) if number == 0 else 3
                rates = first + sweep["max_widenings"] + len(config["training"]["learning_rates"])
                per = replica_epoch_seconds(subsets[size], batch, config, first, args.epochs)
                bound = len(data.trials) * epoch_budget(sweep, size) * rates
                mine = None if ran is None else ran[ran["size"] == size]["epochs_run"].sum()
                jobs.append(
                    {"task": task, "batch_size": batch, "size": size,
                     "seconds_per_replica_epoch": per, "bound_replica_epochs": bound,
                     "replica_epochs_run": None if mine is None else int(mine),
                     "projected_seconds": per * (bound if mine is None else mine)}
                )  # fmt: skip
                print(json.dumps(jobs[-1]), flush=True)
    share = calibrate(jobs)
    print(json.dumps({"calibration_share_of_bound": share}), flush=True)
    return jobs


def main() -> None:
    """Measure every job of the configuration and print the projection."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--configfile", type=Path, nargs="*", default=[])
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=3, help="measured epochs per job")
    parser.add_argument("--tasks", nargs="*", help="only these tasks (default: the suite)")
    parser.add_argument("--scaling", action="store_true", help="project the scaling study")
    parser.add_argument("--size-sweep", action="store_true", help="project the size sweep")
    parser.add_argument(
        "--measured", type=Path, help="with --scaling or --size-sweep: results/<study> of a run"
    )
    args = parser.parse_args()
    config = load_config(args.configfile)
    sheet = read_sheet(Path(config["datasets"]["sheet"]), Path(config["datasets"]["root"]))
    suite = config["datasets"]["suite"]
    large = set(large_tasks(sheet, suite))
    study = args.scaling or args.size_sweep
    jobs = scaling_jobs(config, args, sheet) if args.scaling else []
    jobs += size_sweep_jobs(config, args, sheet) if args.size_sweep else []
    for task in [] if study else args.tasks or suite_tasks(sheet, suite):
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
