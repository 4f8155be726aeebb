"""The size sweep: C2 inside a task (issue 13; docs/design.md §10).

For one task, nested stratified subsets of each trial's training split
(subsets.py) are trained with on-line, one mini-batch size and full batch, each
at every size:

* **tuned**: the scaling study's rate search (scaling.run_search: widen the grid
  until the fastest rate to the target is interior; every replica stops at the
  target);
* **grid**: the paper's four rates (``training.learning_rates``), with the same
  target stop and epoch budget (not the paper's 1,000-10,000: a trial that has not
  reached the target by then is censored).

Every replica at size n has the budget ``min(max_epochs, ceil(sample_budget / n))``
epochs (studies.size_sweep.config.epoch_budget): the same number of sample presentations at
every size but the smallest, so each job's cost is bounded. A censored full batch
gives a lower bound of on-line's speed-up.
  A paper rate on the search grid that the search already tried is not trained
  again (its numbers do not depend on the other rates of its run).

The target is one hold-out accuracy per task, the same at every size and for every
method (:func:`choose_target`): the full-size target (the scaling study's, about
5-10 points below the best seen), lowered to what on-line training reaches at the
smallest size less ``target_margin`` where that is lower. The reach is measured at the
rate search's first on-line rates (``scaling.initial_mean_rates``), not the paper's rates,
which lie far below on-line's best rate on large tasks.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from batch_inefficiency.batch_sizes import FULL
from batch_inefficiency.data.splits import TrialData, load_trial_data
from batch_inefficiency.data.subsets import nested_subsets
from batch_inefficiency.engine import train
from batch_inefficiency.files import atomic_output
from batch_inefficiency.studies.rate_search import (
    RateOutcome,
    Search,
    SearchSettings,
    best_outcome,
    initial_indices,
    outcome_rows,
    outcomes_of,
    rate_of,
    run_search,
    subset_trials,
    summary,
    train_rates,
)
from batch_inefficiency.studies.replication.runs import engine_settings
from batch_inefficiency.studies.size_sweep.config import (
    epoch_budget,
    full_size_target,
    on_grid,
    sweep_sizes,
)

GRID_ROUND = -1  # the ``round`` of a paper rate trained after the search


def lowered_target(full: float, reach: float, margin: float) -> float:
    """``full``, or ``reach - margin`` rounded down to a whole point where that is lower."""
    return min(full, math.floor(round((reach - margin) * 100, 6)) / 100)


def calibration_rates(sweep: Mapping[str, Any], scaling: Mapping[str, Any], reduction: str):
    """The on-line rates that measure the reach: the rate search's first rates for batch 1
    (the grid points nearest to ``scaling.initial_mean_rates``)."""
    settings = SearchSettings.of(scaling, sweep, target=1.0)
    indices = initial_indices(settings, 1, reduction)
    return tuple(rate_of(i, settings.rates_per_decade) for i in indices)


def choose_target(
    data: TrialData,
    task: str,
    training: Mapping[str, Any],
    sweep: Mapping[str, Any],
    scaling: Mapping[str, Any],
    seed: int,
    threads: int,
) -> dict[str, Any]:
    """The task's target: on-line training at the smallest size, at the rate search's first
    on-line rates, for ``calibration_epochs``; its reach is the best rate's trial-mean best
    hold-out accuracy."""
    data = subset_trials(data, int(sweep["trials"]))
    size = sweep_sizes(sweep, data.x_train.shape[1])[0]
    smallest = nested_subsets(data, seed, [size])[size]
    rates = calibration_rates(sweep, scaling, training["reduction"])
    engine = engine_settings(training, "1", seed, threads)
    epochs = int(sweep["calibration_epochs"])
    run = train(smallest, replace(engine, learning_rates=rates, epochs=epochs, patience=None))
    records = run.records
    best_hold = np.nanmax(records.hold_acc, axis=1)
    reach_by_rate = pd.Series(best_hold).groupby(records.lr).mean()
    full = full_size_target(sweep, scaling, task)
    reach = float(reach_by_rate.max())
    target = lowered_target(full, reach, float(sweep["target_margin"]))
    return {
        "task": task,
        "full_size_target": full,
        "smallest_size": size,
        "calibration_epochs": epochs,
        "calibration_rates": "the rate search's first on-line rates (scaling.initial_mean_rates)",
        "reach_by_rate": {f"{lr:g}": float(v) for lr, v in reach_by_rate.items()},
        "reach_rate": float(reach_by_rate.idxmax()),
        "reach": reach,
        "target_margin": float(sweep["target_margin"]),
        "target": target,
        "lowered": target < full,
        "rule": "min(full-size target, reach - target_margin rounded down to a whole point)",
    }


def grid_outcomes(
    data: TrialData,
    batch_size: str,
    training: Mapping[str, Any],
    search_outcomes: Mapping[int, RateOutcome],
    settings: SearchSettings,
    seed: int,
    threads: int,
) -> dict[float, RateOutcome]:
    """The paper's rates (rate -> outcome): a rate on the search grid that the search tried
    is reused; the others are trained in one run (their ``grid_index``: the nearest point)."""
    found, missing = {}, []
    for lr in training["learning_rates"]:
        index = round(settings.rates_per_decade * math.log10(lr))
        if on_grid(lr, settings.rates_per_decade) and index in search_outcomes:
            found[float(lr)] = search_outcomes[index]
        else:
            missing.append(float(lr))
    if missing:
        engine = engine_settings(training, batch_size, seed, threads)
        run = train_rates(data, engine, missing, settings)
        nearest = [round(settings.rates_per_decade * math.log10(lr)) for lr in missing]
        outcomes = outcomes_of(run.records, nearest, GRID_ROUND)
        found |= dict(zip(missing, outcomes, strict=True))
    return dict(sorted(found.items()))


def next_first(search: Search, batch_size: str) -> list[int]:
    """The first rates at the next (doubled) size: the best rate's grid neighbours, moved by
    the paper's argument for full batch (summed rate halves: ``rates_per_decade x log10 2``
    grid steps down), kept for on-line and a fixed mini-batch."""
    best = best_outcome(search.outcomes).index
    if batch_size == FULL and search.reduction == "sum":
        best -= round(search.settings.rates_per_decade * math.log10(2))
    return [best - 1, best, best + 1]


def size_rows(
    outcomes: Mapping[int, RateOutcome],
    grid: Mapping[float, RateOutcome],
    batch_size: str,
    size: int,
) -> pd.DataFrame:
    """Trial rows of every rate tried at one size, marking the tuned best, the paper's rates
    and the best of those."""
    extra = {o.lr: o for o in grid.values() if o.round == GRID_ROUND}
    frames = [outcome_rows(outcomes, batch_size)]
    frames += [outcome_rows(extra, batch_size)] if extra else []
    rows = pd.concat(frames, ignore_index=True)
    rows.insert(1, "size", size)
    rows["tuned_best"] = np.isclose(rows["lr"], best_outcome(outcomes).lr, rtol=1e-9)
    rows["paper_rate"] = np.isin(rows["lr"].round(12), np.round(list(grid), 12))
    rows["grid_best"] = np.isclose(rows["lr"], best_outcome(grid).lr, rtol=1e-9)
    return rows


def sweep_method(
    data: TrialData,
    target: float,
    task: str,
    batch_size: str,
    training: Mapping[str, Any],
    sweep: Mapping[str, Any],
    scaling: Mapping[str, Any],
    seed: int,
    threads: int,
) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """Every size of one method: (trial rows, one search summary per size)."""
    settings = SearchSettings.of(scaling, sweep, target)
    data = subset_trials(data, settings.trials)
    sizes = sweep_sizes(sweep, data.x_train.shape[1])
    frames, summaries, first = [], [], None
    for size, subset in nested_subsets(data, seed, sizes).items():
        start = time.perf_counter()
        budgeted = replace(settings, max_epochs=epoch_budget(sweep, size))
        search = run_search(subset, batch_size, training, budgeted, seed, threads, first)
        first = next_first(search, batch_size)
        grid = grid_outcomes(subset, batch_size, training, search.outcomes, budgeted, seed, threads)
        frames.append(size_rows(search.outcomes, grid, batch_size, size))
        info = summary(search, task, batch_size, time.perf_counter() - start)
        summaries.append({"size": size, **info, "grid_best_lr": best_outcome(grid).lr})
    return pd.concat(frames, ignore_index=True), summaries


def write_target(
    split: Path,
    out: Path,
    task: str,
    training: Mapping[str, Any],
    sweep: Mapping[str, Any],
    scaling: Mapping[str, Any],
    seed: int,
    threads: int,
) -> dict[str, Any]:
    """The ``size_sweep_target`` rule: choose the task's target and write target.json."""
    info = choose_target(load_trial_data(split), task, training, sweep, scaling, seed, threads)
    with atomic_output(out) as tmp:
        Path(tmp).write_text(json.dumps(info, indent=2) + "\n")
    return info


def write_method(
    split: Path,
    target: Path,
    out: Mapping[str, Path],
    task: str,
    batch_size: str,
    training: Mapping[str, Any],
    sweep: Mapping[str, Any],
    scaling: Mapping[str, Any],
    seed: int,
    threads: int,
) -> list[dict[str, Any]]:
    """The ``sweep_sizes`` rule: every size of one method; ``out`` keys trials, searches."""
    goal = json.loads(Path(target).read_text())["target"]
    data = load_trial_data(split)
    trials, summaries = sweep_method(
        data, goal, task, batch_size, training, sweep, scaling, seed, threads
    )
    with atomic_output(out["trials"]) as tmp:
        trials.to_csv(tmp, index=False, lineterminator="\n")
    with atomic_output(out["searches"]) as tmp:
        Path(tmp).write_text(json.dumps(summaries, indent=2) + "\n")
    return summaries
