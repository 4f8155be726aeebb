"""The rate search of the scaling study (issue 12; docs/design.md §9).

For one task and batch size, find the learning rate that reaches the task's
target hold-out accuracy in the fewest steps, on a log grid, widening the grid
until that rate lies inside it:

* Rates lie on the grid ``10 ** (k / rates_per_decade)`` (k an integer; 2 per
  decade = a factor of √10) in the engine's convention (``training.reduction``).
  The first rates are the grid points nearest to ``initial_mean_rates`` (the
  mean convention, η_mean = η_sum x batch) converted to it.
* Every replica (rate x trial) stops at the first epoch its own hold-out
  accuracy reaches the target (the engine's target stop), so most runs are
  short; one that never does within ``max_epochs`` is censored.
* Rates are ranked by :func:`rank_key`: median steps to target over trials
  (censored = ∞), then more trials reaching it, then fewer diverged, then the
  higher trial-mean best hold-out accuracy, then the larger rate.
* The best rate is *interior* when a smaller and a larger grid rate beside it
  were tried: the larger one then stalls, diverges or is slower (ties go to the
  larger rate). Otherwise the grid is widened by one rate past the best edge
  and the search goes on, at most ``max_widenings`` times; a search that stops
  there reports its best rate as ``edge``. When most trials of the best rate
  never reached the target (its median is censored), the search reports
  ``censored``: the ranking then rests on trials reaching it and accuracy only.

Adding a rate changes no other rate's numbers: initial weights and orders
depend on (seed, trial) only (seeds.py). Each round's engine run is saved in
full under ``rounds/<r>/`` (docs/run_format.md).

The ``objective`` of a search is ``steps`` (the above; the scaling study and the size
sweep) or ``accuracy`` (the generalization study, docs/design.md §11): no target stop,
every replica runs ``max_epochs``, and rates are ranked by their best trial-averaged
hold-out accuracy (the peak of the mean over trials), then fewer diverged, then the
larger rate; the widening is the same, and ``censored`` does not apply.
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from batch_inefficiency import batch_sizes
from batch_inefficiency.data.splits import ARRAYS, TrialData, load_trial_data
from batch_inefficiency.engine import EngineSettings, RunResult, train
from batch_inefficiency.errors import UserError
from batch_inefficiency.files import atomic_folder
from batch_inefficiency.models import Weights
from batch_inefficiency.studies.replication.runs import engine_settings

INTERIOR, EDGE, CENSORED = "interior", "edge", "censored"
SEARCH_FILES = ("search.json", "rates.csv", "trials.csv", "best_weights.npz")
STEPS, ACCURACY = "steps", "accuracy"  # the objectives of a search (module docstring)
OBJECTIVES = (STEPS, ACCURACY)


@dataclass(frozen=True)
class SearchSettings:
    """What fixes one rate search besides the data (the config's ``scaling`` section)."""

    target: float  # hold-out accuracy to reach
    trials: int  # the first ``trials`` trials of the prepared splits
    rates_per_decade: int
    initial_mean_rates: tuple[float, ...]
    max_widenings: int
    max_epochs: int
    patience: int | None

    @classmethod
    def from_config(cls, scaling: Mapping[str, Any], task: str) -> SearchSettings:
        """The settings of ``task`` from the config's ``scaling`` section."""
        return cls.of(scaling, scaling, float(scaling["targets"][task]))

    @classmethod
    def of(
        cls, grid: Mapping[str, Any], budget: Mapping[str, Any], target: float
    ) -> SearchSettings:
        """The rate grid of config section ``grid`` (``scaling``) with the trials, widenings,
        epochs and patience of section ``budget`` (``scaling`` or ``size_sweep``)."""
        return cls(
            target=target,
            trials=int(budget["trials"]),
            rates_per_decade=int(grid["rates_per_decade"]),
            initial_mean_rates=tuple(float(r) for r in grid["initial_mean_rates"]),
            max_widenings=int(budget["max_widenings"]),
            max_epochs=int(budget["max_epochs"]),
            patience=budget["patience"],
        )


def rate_of(index: int, rates_per_decade: int) -> float:
    """The grid's rate number ``index``: ``10 ** (index / rates_per_decade)``."""
    return float(10.0 ** (index / rates_per_decade))


def to_conventions(lr: float, batch_rows: int, reduction: str) -> tuple[float, float]:
    """``(summed, mean)`` rate of an engine rate: η_mean = η_sum x batch rows."""
    return (lr, lr * batch_rows) if reduction == "sum" else (lr / batch_rows, lr)


def initial_indices(settings: SearchSettings, batch_rows: int, reduction: str) -> list[int]:
    """Grid indices of the first rates: the points nearest to the initial mean rates."""
    per = 1.0 if reduction == "mean" else 1.0 / batch_rows
    found = {
        round(settings.rates_per_decade * math.log10(rate * per))
        for rate in settings.initial_mean_rates
    }
    return sorted(found)


@dataclass(frozen=True)
class RateOutcome:
    """One rate's trials: steps and epochs to target (∞ / -1 when censored), statuses."""

    index: int  # grid index
    lr: float  # engine rate
    round: int  # search round that trained it
    trial: np.ndarray  # [T] trial numbers
    steps: np.ndarray  # [T] float, inf = censored
    epochs: np.ndarray  # [T] int, epochs to target, -1 = censored
    epochs_run: np.ndarray  # [T] int
    status: np.ndarray  # [T] str
    best_hold: np.ndarray  # [T] best hold-out accuracy reached
    mean_peak: float = math.nan  # best trial-averaged hold-out accuracy (peak of the mean)

    @property
    def median_steps(self) -> float:
        """Median steps to target over trials (∞ when most trials are censored)."""
        return float(np.median(self.steps))

    def key(self, objective: str = STEPS) -> tuple[float, ...]:
        """The rank of this rate under ``objective``: smaller is better (module docstring)."""
        reached = np.isfinite(self.steps).sum()
        diverged = (self.status == "diverged").mean()
        if objective == ACCURACY:
            return (-self.mean_peak, diverged, -self.index)
        return (self.median_steps, -reached, diverged, -self.best_hold.mean(), -self.index)


def outcomes_of(records: Any, indices: Sequence[int], round_number: int) -> list[RateOutcome]:
    """One :class:`RateOutcome` per rate of an engine run (rate-major records)."""
    trials = len(records.lr) // len(indices)
    found = []
    for i, index in enumerate(indices):
        mine = slice(i * trials, (i + 1) * trials)
        step = records.target_step[mine].astype(float)
        found.append(
            RateOutcome(
                index=index,
                lr=float(records.lr[mine][0]),
                round=round_number,
                trial=records.trial[mine],
                steps=np.where(step >= 0, step, np.inf),
                epochs=records.target_epoch[mine],
                epochs_run=records.epochs_run[mine],
                status=records.status[mine],
                best_hold=np.nanmax(records.hold_acc[mine], axis=1),
                mean_peak=float(np.max(_filled_mean(records.hold_acc[mine]))),
            )
        )
    return found


def _filled_mean(curves: np.ndarray) -> np.ndarray:
    """The trial mean of ``curves [T, E+1]``, a stopped replica's last value carried forward."""
    index = np.where(np.isnan(curves), 0, np.arange(curves.shape[1]))
    np.maximum.accumulate(index, axis=1, out=index)
    return curves[np.arange(len(curves))[:, None], index].mean(axis=0)


def best_outcome(outcomes: Mapping[int, RateOutcome], objective: str = STEPS) -> RateOutcome:
    """The best rate tried (smallest :meth:`RateOutcome.key` under ``objective``)."""
    return min(outcomes.values(), key=lambda o: o.key(objective))


def next_index(outcomes: Mapping[int, RateOutcome], objective: str = STEPS) -> int | None:
    """The grid index to try next (one past the best rate's edge), or None if it is interior."""
    best = best_outcome(outcomes, objective).index
    if best == max(outcomes):
        return best + 1
    if best == min(outcomes):
        return best - 1
    return None


def subset_trials(data: TrialData, n: int) -> TrialData:
    """The first ``n`` trials of prepared splits (refused if there are fewer)."""
    if n > len(data.trials):
        raise UserError(
            f"scaling.trials is {n} but the splits hold {len(data.trials)} trials; "
            "raise trials or lower scaling.trials"
        )
    arrays = {k: getattr(data, k)[:n] for k in ARRAYS}
    return TrialData(trials=data.trials[:n], n_classes=data.n_classes, **arrays)


@dataclass
class Search:
    """The state of one search: every rate tried, its engine run, and the widenings."""

    settings: SearchSettings
    batch_rows: int
    reduction: str
    n_train: int
    outcomes: dict[int, RateOutcome]
    runs: list[tuple[list[int], RunResult]]
    widenings: int = 0
    objective: str = STEPS

    def best(self) -> RateOutcome:
        """The best rate tried, under the search's objective."""
        return best_outcome(self.outcomes, self.objective)

    def result(self) -> str:
        """``censored`` (most trials of the best rate never reached the target; the steps
        objective only), else ``edge`` (the best rate is at the grid's edge) or ``interior``."""
        if self.objective == STEPS and math.isinf(self.best().median_steps):
            return CENSORED
        return EDGE if next_index(self.outcomes, self.objective) is not None else INTERIOR


def train_rates(
    data: TrialData, engine: EngineSettings, rates: Sequence[float], settings: SearchSettings
) -> RunResult:
    """One round: ``rates`` x the data's trials, each replica stopping at the target."""
    return train(
        data,
        replace(
            engine,
            learning_rates=tuple(rates),
            epochs=settings.max_epochs,
            patience=settings.patience,
            target=settings.target,
        ),
    )


def run_search(
    data: TrialData,
    batch_size: str,
    training: Mapping[str, Any],
    settings: SearchSettings,
    seed: int,
    threads: int,
    first: Sequence[int] | None = None,
    objective: str = STEPS,
) -> Search:
    """Train rounds of rates until the best is interior or the widening limit is reached.

    ``first``: the grid indices of the first round (default: :func:`initial_indices`);
    ``objective``: what ranks the rates (module docstring).
    """
    data = subset_trials(data, settings.trials)
    n_train = data.x_train.shape[1]
    rows = batch_sizes.rows(batch_size, n_train)
    engine = engine_settings(training, batch_size, seed, threads)
    search = Search(settings, rows, training["reduction"], n_train, {}, [], objective=objective)
    indices = sorted(first) if first else initial_indices(settings, rows, training["reduction"])
    while indices:
        rates = tuple(rate_of(i, settings.rates_per_decade) for i in indices)
        run = train_rates(data, engine, rates, settings)
        round_number = len(search.runs)
        search.runs.append((indices, run))
        for outcome in outcomes_of(run.records, indices, round_number):
            search.outcomes[outcome.index] = outcome
        following = next_index(search.outcomes, objective)
        _log_round(search, following)
        if following is None or search.widenings >= settings.max_widenings:
            break
        search.widenings += 1
        indices = [following]
    return search


def _log_round(search: Search, following: int | None) -> None:
    """One line per round on stderr (the job's log): rates so far and what comes next."""
    accuracy = search.objective == ACCURACY
    tried = ", ".join(
        f"{o.lr:.3g}: {o.mean_peak:.4f}" if accuracy else f"{o.lr:.3g}: {o.median_steps:.0f}"
        for _, o in sorted(search.outcomes.items())
    )
    best = search.best().lr
    step = (
        "interior"
        if following is None
        else f"next {rate_of(following, search.settings.rates_per_decade):.3g}"
    )
    print(
        f"round {len(search.runs) - 1}: "
        f"{'best mean hold-out accuracy' if accuracy else 'median steps'} by rate "
        f"{{{tried}}}; best {best:.3g}; {step}",
        file=sys.stderr,
        flush=True,
    )


def rate_table(search: Search, batch_size: str) -> pd.DataFrame:
    """rates.csv: one row per rate tried, best first marked, in rate order."""
    best = search.best().index
    rows = []
    for index in sorted(search.outcomes):
        o = search.outcomes[index]
        lr_sum, lr_mean = to_conventions(o.lr, search.batch_rows, search.reduction)
        reached = np.isfinite(o.steps)
        rows.append(
            {
                "batch_size": batch_size,
                "grid_index": index,
                "lr": o.lr,
                "lr_sum": lr_sum,
                "lr_mean": lr_mean,
                "round": o.round,
                "trials": len(o.steps),
                "reached": int(reached.sum()),
                "diverged": int((o.status == "diverged").sum()),
                "stopped_early": int((o.status == "stopped_early").sum()),
                "median_steps": o.median_steps,
                "median_epochs": float(np.median(np.where(reached, o.epochs, np.inf))),
                "mean_best_hold_acc": float(o.best_hold.mean()),
                "best": index == best,
            }
        )
    return pd.DataFrame(rows)


def trial_table(search: Search, batch_size: str) -> pd.DataFrame:
    """trials.csv: one row per rate and trial (steps/epochs to target, censored, status)."""
    return outcome_rows(search.outcomes, batch_size)


def outcome_rows(outcomes: Mapping[int, RateOutcome], batch_size: str) -> pd.DataFrame:
    """One row per rate (in grid order) and trial: steps/epochs to target, censored, status."""
    frames = []
    for index in sorted(outcomes):
        o = outcomes[index]
        reached = np.isfinite(o.steps)
        frames.append(
            pd.DataFrame(
                {
                    "batch_size": batch_size,
                    "grid_index": index,
                    "lr": o.lr,
                    "trial": o.trial,
                    "steps_to_target": np.where(reached, o.steps, np.nan),
                    "epochs_to_target": np.where(reached, o.epochs, np.nan),
                    "epochs_run": o.epochs_run,
                    "censored": ~reached,
                    "status": o.status,
                    "best_hold_acc": o.best_hold,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def best_weights(search: Search) -> Weights:
    """The final weights of the best rate's replicas: where each reached the target (or stopped)."""
    best = search.best()
    indices, run = search.runs[best.round]
    trials = len(best.steps)
    mine = slice(indices.index(best.index) * trials, (indices.index(best.index) + 1) * trials)
    w = run.final
    return Weights(w.w1[mine], w.b1[mine], w.w2[mine], w.b2[mine])


def summary(search: Search, task: str, batch_size: str, seconds: float) -> dict[str, Any]:
    """search.json: what was searched, where it ended, and why (``objective`` and the best
    rate's ``best_mean_hold_acc`` only where the objective is not the default)."""
    best = search.best()
    lr_sum, lr_mean = to_conventions(best.lr, search.batch_rows, search.reduction)
    following = next_index(search.outcomes, search.objective)
    extra = (
        {}
        if search.objective == STEPS
        else {"objective": search.objective, "best_mean_hold_acc": best.mean_peak}
    )
    return {
        "task": task,
        "batch_size": batch_size,
        "batch_rows": search.batch_rows,
        "n_train": search.n_train,
        "target": search.settings.target,
        "reduction": search.reduction,
        "settings": asdict(search.settings),
        "rounds": len(search.runs),
        "widenings": search.widenings,
        "rates_tried": [search.outcomes[i].lr for i in sorted(search.outcomes)],
        "search": search.result(),
        "next_rate_if_widened": None
        if following is None
        else rate_of(following, search.settings.rates_per_decade),
        "best_lr": best.lr,
        "best_lr_sum": lr_sum,
        "best_lr_mean": lr_mean,
        "best_median_steps": None if math.isinf(best.median_steps) else best.median_steps,
        "seconds": seconds,
        **extra,
    }


def search_task(
    split: Path,
    out_dir: Path,
    task: str,
    batch_size: str,
    training: Mapping[str, Any],
    scaling: Mapping[str, Any],
    seed: int,
    threads: int,
    first: Sequence[int] | None = None,
) -> dict[str, Any]:
    """The ``search_rates`` rule: search, then write every file of the search at once
    (``first``: the first round's grid indices, as :func:`run_search`'s)."""
    settings = SearchSettings.from_config(scaling, task)
    start = time.perf_counter()
    search = run_search(
        load_trial_data(split), batch_size, training, settings, seed, threads, first
    )
    info = summary(search, task, batch_size, time.perf_counter() - start)
    with atomic_folder(out_dir, (*SEARCH_FILES, "rounds")) as folder:
        (folder / "search.json").write_text(json.dumps(info, indent=2) + "\n")
        rate_table(search, batch_size).to_csv(folder / "rates.csv", index=False)
        trial_table(search, batch_size).to_csv(folder / "trials.csv", index=False)
        np.savez(folder / "best_weights.npz", **best_weights(search).as_dict())
        for number, (_, run) in enumerate(search.runs):
            run.info["context"] = {"task": task, "batch_size": batch_size, "split": str(split)}
            run.save(folder / "rounds" / str(number))
    return info
