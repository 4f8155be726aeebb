"""Project the wall-clock time of a whole configuration from short measured slices.

It covers what ``snakemake --cores all`` trains: the replication's training jobs, the
scaling study's rate searches, the size sweep, the generalization study and the optimizer
study (``--part`` picks one of them; the optimizer study's searches are projected as the
scaling study's, with each optimizer's rule, first rates and budget).

**Training jobs** (task x batch size): trains all replicas (rates x trials) for
``--epochs`` epochs after a one-epoch warm-up and reads the seconds of each
epoch from the run's own ``seconds`` curve (all replicas are active
throughout). Most epochs score only the hold-out split; those on the
training-curve schedule (engine/schedule.py: 0, 1, 2, 3, 4, 6, 10, 16, 25, ...)
also score the training split. So the projection takes

    steady = median seconds of the unscheduled epochs (not the last one)
    extra  = mean seconds of the scheduled epochs - steady

and projects the job as

    (steady x trials x sum_r budget_r + extra x trials x sum_r scheduled_r) / R

(per-epoch cost is proportional to the replicas still active; replicas with a
smaller budget leave early; ``scheduled_r`` counts the schedule's epochs within
budget_r). The few epochs scored beyond the schedule (a run's midpoint and last
epoch, docs/run_format.md) are not counted.

**Rate searches** (scaling study, docs/design.md §9): the same measurement with
tiny rates (no replica stops), per replica-epoch, times ``max_epochs`` x (first
rates + ``max_widenings``) x trials. That is an upper bound: it assumes no
replica stops at the target and every widening is used. ``--measured
results`` uses, where a search has already run, the epochs its replicas
actually ran (``scaling/<task>/<batch>/trials.csv``) instead, and for the searches not yet run, the
bound times the share of their bound that the run ones used. The short
``noise_scale`` and ``step_cost`` jobs are counted as ``step_seconds`` per
batch size (their timing budget).

**Size sweep** (docs/design.md §10): per task, the target's calibration (on-line, smallest
size, ``calibration_epochs``), then per method x size the seconds per replica-epoch on that
subset (the first round's replicas active) times a bound: every replica runs its size's
epoch budget (``size_sweep_config.epoch_budget``) at every rate (first rates + widenings +
the paper's rates). ``--measured results`` uses the replica-epochs a run's
``size_sweep/<task>/<method>/trials.csv`` records, as for the rate searches.

**Generalization study** (docs/design.md §11): per task x batch size the seconds per
replica-epoch (the search's first rates x trials active) times a bound: the search (first
rates + widenings, ``search_epochs`` each), the best rate's budget doubled to the cap
(``finishing.budgets``: every run assumed not to finish), the points job's probe run (five
replica groups up to the cap's epochs) and, for full batch, the weight-decay arm (each
strength doubled to the cap). ``--measured results`` uses the epochs each run's search.json
records (its attempts), and scales the unmeasured ones by the measured share.

Prints one JSON line per job and a summary: the projected total on ``--cores``
cores, with jobs of ``--threads`` threads each running side by side
(``cores // threads`` at a time, the longest job at least).

    python benchmarks/project_runtime.py --configfile config/config.yaml --cores 2 --threads 1

It also projects an older engine (PYTHONPATH pointing at an older checkout's src), for a
before/after on the same machine.
"""

from __future__ import annotations

import batch_inefficiency  # noqa: F401  # isort: skip  (first: sets OMP_WAIT_POLICY)
import argparse
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from batch_inefficiency.data.datasets import load_dataset
from batch_inefficiency.data.splits import TrialData, prepare_trials
from batch_inefficiency.data.suites import large_tasks, read_sheet, suite_tasks
from batch_inefficiency.engine import EngineSettings, train
from batch_inefficiency.pipeline.resources import task_shape
from batch_inefficiency.studies.replication.runs import engine_settings
from batch_inefficiency.studies.scaling.config import study_batch_sizes

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


def epoch_costs(
    data: TrialData, settings: Callable[[int], EngineSettings], epochs: int
) -> tuple[float, float]:
    """``(steady, extra)`` seconds of an epoch with every replica active (module docstring).

    ``settings(budget)``: the job's settings with every rate's budget set to ``budget``.
    """
    train(data, settings(1))  # warm-up: numba compilation, caches
    seconds = np.diff(train(data, settings(epochs)).records.seconds[0])  # [epochs], epoch 1 on
    scheduled = train_curve_epochs(epochs)[1:-1]  # epochs 1 ... epochs - 1 (the last is final)
    steady = float(np.median(seconds[:-1][~scheduled]))
    extra = max(0.0, float(seconds[:-1][scheduled].mean()) - steady) if scheduled.any() else 0.0
    return steady, extra


def job_seconds(task: str, batch: str, config: dict, epochs: int, threads: int) -> dict:
    """Measure ``epochs`` epochs of one training job (after a one-epoch warm-up), project it."""
    training = config["training"]
    dataset = load_dataset(task, Path(config["datasets"]["root"]), config["datasets"]["nominal"])
    data = prepare_trials(dataset, range(config["trials"]), config["seed"])

    def settings(budget: int) -> EngineSettings:
        budgets = {"epochs": [budget] * len(training["epochs"])}
        return engine_settings(training | budgets, batch, config["seed"], threads=threads)

    steady, extra = epoch_costs(data, settings, epochs)
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


def replica_epoch_seconds(
    data: TrialData, batch: str, config: dict, n_rates: int, args: argparse.Namespace, budget: int
) -> float:
    """Seconds per replica-epoch with ``n_rates`` tiny rates x the trials active, on runs of
    ``budget`` epochs (the training split scored on the schedule's share of them)."""
    # Tiny rates: no replica diverges or reaches the target while measured (the cost of a
    # replica-epoch does not depend on its rate).
    rates = [1e-7 * (i + 1) for i in range(n_rates)]

    def settings(epochs: int) -> EngineSettings:
        probe = config["training"] | {"learning_rates": rates, "epochs": [epochs] * n_rates}
        return engine_settings(probe, batch, config["seed"], threads=args.threads)

    steady, extra = epoch_costs(data, settings, args.epochs)
    scheduled_share = float(train_curve_epochs(budget)[1:].mean())
    return (steady + extra * scheduled_share) / (n_rates * len(data.trials))


def scaling_job(task: str, batch: str, config: dict, args: argparse.Namespace) -> dict:
    """Project one rate search: an upper bound, or the replica-epochs it actually ran."""
    scaling = config["scaling"]
    dataset = load_dataset(task, Path(config["datasets"]["root"]), config["datasets"]["nominal"])
    data = prepare_trials(dataset, range(scaling["trials"]), config["seed"])
    first = len(scaling["initial_mean_rates"])
    budget = scaling["max_epochs"]
    per_replica_epoch = replica_epoch_seconds(data, batch, config, first, args, budget)
    bound = len(data.trials) * budget * (first + scaling["max_widenings"])
    done = args.measured / "scaling" / task / batch / "trials.csv" if args.measured else None
    ran = int(pd.read_csv(done)["epochs_run"].sum()) if done and done.is_file() else None
    return {
        "task": task,
        "batch_size": batch,
        "threads": args.threads,
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


def scaling_jobs(config: dict, args: argparse.Namespace, sheet: pd.DataFrame) -> list[dict]:
    """Every rate search of the scaling study, projected, and each task's timing jobs."""
    jobs = []
    for task in args.tasks or suite_tasks(sheet, config["scaling"]["suite"]):
        shape = task_shape(
            task, Path(config["datasets"]["root"]), config["datasets"]["nominal"], "twice_inputs"
        )
        batches = study_batch_sizes(config["scaling"], shape.n_train - shape.n_classes)
        for batch in batches:
            job = scaling_job(task, batch, config, args)
            jobs.append(job)
            print(json.dumps(jobs[-1]), flush=True)
        timing = {"task": task, "job": "noise_scale + step_cost", "replica_epochs_run": None}
        timing["projected_seconds"] = config["scaling"]["step_seconds"] * len(batches)
        jobs.append(timing)
        print(json.dumps(timing), flush=True)
    searches = [j for j in jobs if "bound_replica_epochs" in j]
    share = calibrate(searches)
    print(json.dumps({"calibration_share_of_bound": share}), flush=True)
    return jobs


def optimizer_jobs(config: dict, args: argparse.Namespace, sheet: pd.DataFrame) -> list[dict]:
    """Every rate search of the optimizer study (docs/design.md §12), projected as the scaling
    study's (:func:`scaling_job`) with the optimizer's update rule, first rates and budget;
    plain SGD's searches that are the scaling study's own are not counted twice.
    ``--measured``: the epochs the study's own trials.csv records, else (a proxy) those of
    the scaling study's search of the same task and batch size."""
    from batch_inefficiency.studies.optimizers.config import (
        optimizer_training,
        reuses_scaling_search,
        run_labels,
        search_section,
    )

    section = config["optimizers"]
    jobs = []
    for task in args.tasks or suite_tasks(sheet, section["suite"]):
        shape = task_shape(
            task, Path(config["datasets"]["root"]), config["datasets"]["nominal"], "twice_inputs"
        )
        for label in run_labels(section):
            entry = section["optimizers"][label]
            probe = config | {
                "training": optimizer_training(config["training"], entry),
                "scaling": search_section(config["scaling"], section, entry),
            }
            n_train = shape.n_train - shape.n_classes
            reused = reuses_scaling_search(
                config["training"], config["scaling"], section, label, task
            ) and task in suite_tasks(sheet, config["scaling"]["suite"])
            scaling_sizes = study_batch_sizes(config["scaling"], n_train)
            for batch in study_batch_sizes(section, n_train):
                if reused and batch in scaling_sizes:
                    continue  # the scaling study's own search (docs/design.md §12)
                job = scaling_job(task, batch, probe, args) | {"optimizer": label}
                own = args.measured / "optimizers" / task / label / batch if args.measured else None
                if own is not None and (own / "trials.csv").is_file():
                    ran = int(pd.read_csv(own / "trials.csv")["epochs_run"].sum())
                    job["replica_epochs_run"], job["proxy"] = ran, False
                    job["projected_seconds"] = job["seconds_per_replica_epoch"] * ran
                jobs.append(job)
                print(json.dumps(job), flush=True)
    share = calibrate(jobs)
    print(json.dumps({"optimizers_calibration_share_of_bound": share}), flush=True)
    return jobs


def training_jobs(config: dict, args: argparse.Namespace, sheet: pd.DataFrame) -> list[dict]:
    """Every training job of the replication (task x batch size), projected."""
    suite = config["datasets"]["suite"]
    large = set(large_tasks(sheet, suite))
    jobs = []
    for task in args.tasks or suite_tasks(sheet, suite):
        key = "large_task_batch_sizes" if task in large else "batch_sizes"
        for batch in config["training"][key]:
            jobs.append(job_seconds(task, batch, config, args.epochs, args.threads))
            print(json.dumps(jobs[-1]), flush=True)
    return jobs


def size_sweep_jobs(config: dict, args: argparse.Namespace, sheet: pd.DataFrame) -> list[dict]:
    """The size sweep (docs/design.md §10): per task, the target's calibration, then per
    method x size an upper bound (every replica runs its size's epoch budget: first rates +
    widenings + the paper's rates), or, with ``--measured results``, the
    replica-epochs its trials.csv records."""
    # Imported here: --part replication also projects an engine from before the sweep.
    from batch_inefficiency.data.subsets import nested_subsets
    from batch_inefficiency.studies.size_sweep.config import (
        epoch_budget,
        sweep_methods,
        sweep_sizes,
    )
    from batch_inefficiency.studies.size_sweep.runs import calibration_rates

    sweep, scaling = config["size_sweep"], config["scaling"]
    jobs = []
    for task in args.tasks or suite_tasks(sheet, sweep["suite"]):
        root, nominal = Path(config["datasets"]["root"]), config["datasets"]["nominal"]
        dataset = load_dataset(task, root, nominal)
        data = prepare_trials(dataset, range(sweep["trials"]), config["seed"])
        sizes = sweep_sizes(sweep, data.x_train.shape[1])
        subsets = nested_subsets(data, config["seed"], sizes)
        first_rates = len(calibration_rates(sweep, scaling, config["training"]["reduction"]))
        calibration = sweep["calibration_epochs"]
        per = replica_epoch_seconds(subsets[sizes[0]], "1", config, first_rates, args, calibration)
        bound = len(data.trials) * first_rates * calibration
        jobs.append(
            {"task": task, "batch_size": "target", "size": sizes[0],
             "seconds_per_replica_epoch": per, "bound_replica_epochs": bound,
             "replica_epochs_run": None, "exact": True, "projected_seconds": per * bound}
        )  # fmt: skip
        print(json.dumps(jobs[-1]), flush=True)
        for batch in sweep_methods(sweep):
            done = args.measured and args.measured / "size_sweep" / task / batch / "trials.csv"
            ran = pd.read_csv(done) if done and done.is_file() else None
            for number, size in enumerate(sizes):
                first = len(scaling["initial_mean_rates"]) if number == 0 else 3
                rates = first + sweep["max_widenings"] + len(config["training"]["learning_rates"])
                budget = epoch_budget(sweep, size)
                per = replica_epoch_seconds(subsets[size], batch, config, first, args, budget)
                bound = len(data.trials) * budget * rates
                mine = None if ran is None else ran[ran["size"] == size]["epochs_run"].sum()
                jobs.append(
                    {"task": task, "batch_size": batch, "size": size,
                     "seconds_per_replica_epoch": per, "bound_replica_epochs": bound,
                     "replica_epochs_run": None if mine is None else int(mine),
                     "projected_seconds": per * (bound if mine is None else mine)}
                )  # fmt: skip
                print(json.dumps(jobs[-1]), flush=True)
    share = calibrate(jobs)
    print(json.dumps({"size_sweep_calibration_share_of_bound": share}), flush=True)
    return jobs


def generalization_jobs(config: dict, args: argparse.Namespace, sheet: pd.DataFrame) -> list[dict]:
    """The generalization study (module docstring): an upper bound per task x batch size, or
    with ``--measured results`` the replica-epochs its runs record."""
    from batch_inefficiency.studies.generalization.config import task_batch_sizes
    from batch_inefficiency.studies.generalization.finishing import budgets

    section = config["generalization"]
    trials, first = section["trials"], len(section["initial_mean_rates"])
    jobs = []
    for task in args.tasks or suite_tasks(sheet, section["suite"]):
        dataset = load_dataset(
            task, Path(config["datasets"]["root"]), config["datasets"]["nominal"]
        )
        data = prepare_trials(dataset, range(trials), config["seed"])
        n_train = data.x_train.shape[1]
        doubling = budgets(section["search_epochs"], n_train, section["cap"])
        for batch in task_batch_sizes(section, n_train):
            search = (first + section["max_widenings"]) * section["search_epochs"]
            arms = 1 + (len(section["weight_decays"]) if batch == "full" else 0)
            bound = trials * (search + arms * sum(doubling[1:]) + 5 * doubling[-1])
            info = args.measured and args.measured / "generalization" / task / batch / "search.json"
            ran = None
            if info and info.is_file():
                attempts = json.loads(info.read_text())["attempts"]
                runs = sum(a["epochs"] for a in attempts[1:]) + 5 * attempts[-1]["epochs"]
                ran = trials * (search + arms * runs)
            per = replica_epoch_seconds(data, batch, config, first, args, section["search_epochs"])
            jobs.append(
                {"task": task, "batch_size": batch, "seconds_per_replica_epoch": per,
                 "bound_replica_epochs": bound, "replica_epochs_run": ran,
                 "projected_seconds": per * (bound if ran is None else ran)}
            )  # fmt: skip
            print(json.dumps(jobs[-1]), flush=True)
    share = calibrate(jobs)
    print(json.dumps({"generalization_calibration_share_of_bound": share}), flush=True)
    return jobs


def main() -> None:
    """Measure every job of the configuration and print the projection."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--configfile", type=Path, nargs="*", default=[])
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1, help="threads per job")
    parser.add_argument("--epochs", type=int, default=20, help="measured epochs per job (>= 12)")
    parser.add_argument("--tasks", nargs="*", help="only these tasks (default: the suites)")
    parser.add_argument(
        "--part",
        choices=("all", "replication", "scaling", "size_sweep", "generalization", "optimizers"),
        default="all",
        help="what to project: everything snakemake --cores all runs (default), or one part",
    )
    parser.add_argument("--measured", type=Path, help="a run's results folder (module doc)")
    args = parser.parse_args()
    config = load_config(args.configfile)
    sheet = read_sheet(Path(config["datasets"]["sheet"]), Path(config["datasets"]["root"]))
    parts = {
        "replication": training_jobs,
        "scaling": scaling_jobs,
        "size_sweep": size_sweep_jobs,
        "generalization": generalization_jobs,
        "optimizers": optimizer_jobs,
    }
    jobs = []
    for name, jobs_of in parts.items():
        if args.part in ("all", name):
            jobs += jobs_of(config, args, sheet)
    total = sum(j["projected_seconds"] for j in jobs)
    longest = max(j["projected_seconds"] for j in jobs)
    side_by_side = max(1, args.cores // args.threads)
    wall = max(total / side_by_side, longest)
    print(
        json.dumps(
            {
                "part": args.part,
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
