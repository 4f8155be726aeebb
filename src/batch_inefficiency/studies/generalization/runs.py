"""Per task x batch size: the rate tuned on hold-out accuracy, then trained until finished.

docs/design.md §11. The rule ``generalization_runs``:

1. The rate search of the scaling study (``studies/rate_search.py``) with the ``accuracy``
   objective: rates ranked by their best trial-averaged hold-out accuracy within
   ``search_epochs`` epochs, no target stop, the grid widened until the best is interior.
2. The best rate's search run is the first attempt; while it has not finished
   (``finishing.finished``), it is trained again with its budget doubled, up to the cap
   in sample presentations (``finishing.budgets``). Each attempt trains from the start
   (the engine does not resume): the same seeds give the same epochs, so an attempt's
   curves extend the one before.

The full-batch arm with L2 weight decay (rule ``generalization_decay``) trains full batch at
its tuned rate with each strength of ``weight_decays`` until finished, the same way.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from batch_inefficiency import batch_sizes
from batch_inefficiency.data.splits import TrialData, load_trial_data
from batch_inefficiency.engine import EngineSettings, train
from batch_inefficiency.files import atomic_folder
from batch_inefficiency.models import Weights
from batch_inefficiency.studies.generalization.curves import mean_curve
from batch_inefficiency.studies.generalization.finishing import finished, improvement, next_budget
from batch_inefficiency.studies.rate_search import (
    ACCURACY,
    Search,
    SearchSettings,
    rate_table,
    run_search,
    subset_trials,
    summary,
)
from batch_inefficiency.studies.replication.runs import engine_settings

RUN_FILES = ("search.json", "rates.csv", "curves.npz", "final_weights.npz")
DECAY_FILES = ("decay.json", "curves.npz", "final_weights.npz")
CURVES = ("hold_acc", "train_loss", "train_acc", "test_acc")


@dataclass(frozen=True)
class Curves:
    """One rate's replicas (one per trial): their curves ``[T, E+1]`` and how they ended."""

    trial: np.ndarray  # [T]
    lr: float
    status: np.ndarray  # [T] str
    epochs_run: np.ndarray  # [T]
    hold_acc: np.ndarray
    train_loss: np.ndarray  # NaN where the engine did not score it (docs/run_format.md)
    train_acc: np.ndarray
    test_acc: np.ndarray

    @classmethod
    def of(cls, records: Any, rows: slice) -> Curves:
        """The replicas ``rows`` of an engine run's records."""
        arrays = {name: getattr(records, name)[rows] for name in CURVES}
        return cls(
            trial=records.trial[rows],
            lr=float(records.lr[rows][0]),
            status=records.status[rows],
            epochs_run=records.epochs_run[rows],
            **arrays,
        )

    @property
    def epochs(self) -> int:
        """The epochs of the run: its curves' last column."""
        return self.hold_acc.shape[1] - 1

    def mean_hold(self) -> np.ndarray:
        """The trial-averaged hold-out accuracy ``[E+1]``."""
        return mean_curve(self.hold_acc)

    def save(self, path: Path) -> None:
        """Write the curves as one NPZ (no pickle)."""
        np.savez(path, **{k: np.asarray(v) for k, v in asdict(self).items()})

    @classmethod
    def load(cls, path: Path) -> Curves:
        """Read :meth:`save`'s file."""
        with np.load(path, allow_pickle=False) as npz:
            values = {k: npz[k] for k in npz.files}
        return cls(**{**values, "lr": float(values["lr"])})


@dataclass(frozen=True)
class StudySettings:
    """What fixes the study's runs besides the data (the config's ``generalization``)."""

    trials: int
    search_epochs: int
    tolerance: float
    cap: int  # sample presentations
    learned_share: float  # of the way from the majority share to 1 the peak must reach

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> StudySettings:
        """The settings of the config's ``generalization`` section."""
        return cls(
            trials=int(section["trials"]),
            search_epochs=int(section["search_epochs"]),
            tolerance=float(section["tolerance"]),
            cap=int(section["cap"]),
            learned_share=float(section["learned_share"]),
        )


def search_settings(section: Mapping[str, Any]) -> SearchSettings:
    """The rate search's settings: no target, ``search_epochs`` epochs, no patience."""
    return SearchSettings(
        target=None,  # type: ignore[arg-type]  # the accuracy objective has no target
        trials=int(section["trials"]),
        rates_per_decade=int(section["rates_per_decade"]),
        initial_mean_rates=tuple(float(r) for r in section["initial_mean_rates"]),
        max_widenings=int(section["max_widenings"]),
        max_epochs=int(section["search_epochs"]),
        patience=None,
    )


def majority_share(data: TrialData) -> np.ndarray:
    """``[T]`` the hold-out accuracy of predicting each trial's most frequent training class."""
    return np.array(
        [
            float(np.mean(hold == np.bincount(train, minlength=data.n_classes).argmax()))
            for train, hold in zip(data.y_train, data.y_hold, strict=True)
        ]
    )


def until_finished(
    data: TrialData,
    engine: EngineSettings,
    first: Curves,
    final: Weights,
    settings: StudySettings,
) -> tuple[Curves, Weights, list[dict[str, Any]]]:
    """Double ``first``'s budget until its trial-mean hold-out accuracy has finished or the cap
    is reached; the last attempt's curves and final weights, and every attempt's record."""
    n_train = data.x_train.shape[1]
    majority = float(majority_share(data).mean())
    chance = majority + settings.learned_share * (1 - majority)
    curves, attempts = first, []
    while True:
        mean = curves.mean_hold()
        done = finished(mean, settings.tolerance, chance)
        attempts.append(
            {
                "epochs": curves.epochs,
                "presentations": curves.epochs * n_train,
                "improvement": improvement(mean),
                "learned": bool(mean.max() > chance),
                "finished": done,
            }
        )
        following = None if done else next_budget(curves.epochs, n_train, settings.cap)
        print(
            f"{curves.epochs} epochs: last half improved {attempts[-1]['improvement']:+.4f}; "
            + ("finished" if done else f"next {following}" if following else "not finished"),
            file=sys.stderr,
            flush=True,
        )
        if following is None:
            return curves, final, attempts
        run = train(data, replace(engine, learning_rates=(curves.lr,), epochs=following))
        curves, final = Curves.of(run.records, slice(None)), run.final


def _slice(weights: Weights, rows: slice) -> Weights:
    return Weights(weights.w1[rows], weights.b1[rows], weights.w2[rows], weights.b2[rows])


def study_engine(
    training: Mapping[str, Any], batch_size: str, seed: int, threads: int, **changes: Any
) -> EngineSettings:
    """The replication's engine settings for one batch size, without patience or target."""
    return replace(
        engine_settings(training, batch_size, seed, threads), patience=None, target=None, **changes
    )


def tune_and_finish(
    data: TrialData,
    batch_size: str,
    training: Mapping[str, Any],
    section: Mapping[str, Any],
    settings: StudySettings,
    seed: int,
    threads: int,
) -> tuple[Search, Curves, Weights, list[dict[str, Any]]]:
    """The rate search (accuracy objective), then its best rate trained until finished."""
    search = run_search(
        data, batch_size, training, search_settings(section), seed, threads, objective=ACCURACY
    )
    best = search.best()
    indices, run = search.runs[best.round]
    trials = len(data.trials)
    rows = slice(indices.index(best.index) * trials, (indices.index(best.index) + 1) * trials)
    engine = study_engine(training, batch_size, seed, threads)
    first = Curves.of(run.records, rows)
    return search, *until_finished(data, engine, first, _slice(run.final, rows), settings)


def run_task(
    split: Path,
    out_dir: Path,
    task: str,
    batch_size: str,
    training: Mapping[str, Any],
    section: Mapping[str, Any],
    seed: int,
    threads: int,
) -> dict[str, Any]:
    """The ``generalization_runs`` rule: search the rate, train it until finished, write."""
    settings = StudySettings.from_config(section)
    data = subset_trials(load_trial_data(split), settings.trials)
    start = time.perf_counter()
    search, curves, final, attempts = tune_and_finish(
        data, batch_size, training, section, settings, seed, threads
    )
    info = summary(search, task, batch_size, time.perf_counter() - start)
    info.update(_finish_info(curves, attempts, data, settings))
    rates = rate_table(search, batch_size)
    return _write(out_dir, RUN_FILES, "search.json", info, curves, final, rates)


def _finish_info(
    curves: Curves, attempts: list[dict[str, Any]], data: TrialData, settings: StudySettings
) -> dict[str, Any]:
    return {
        "tolerance": settings.tolerance,
        "cap_presentations": settings.cap,
        "attempts": attempts,
        "finished": attempts[-1]["finished"],
        "epochs": curves.epochs,
        "majority_share": float(majority_share(data).mean()),
    }


def _write(
    out_dir: Path,
    files: tuple[str, ...],
    name: str,
    info: dict[str, Any],
    curves: Curves,
    final: Weights,
    rates: Any = None,
) -> dict[str, Any]:
    with atomic_folder(out_dir, files) as folder:
        (folder / name).write_text(json.dumps(info, indent=2) + "\n")
        if rates is not None:
            rates.to_csv(folder / "rates.csv", index=False)
        curves.save(folder / "curves.npz")
        np.savez(folder / "final_weights.npz", **final.as_dict())
    return info


def decay_task(
    split: Path,
    full_search: Path,
    out_dir: Path,
    task: str,
    training: Mapping[str, Any],
    section: Mapping[str, Any],
    seed: int,
    threads: int,
) -> dict[str, Any]:
    """The ``generalization_decay`` rule: full batch at its tuned rate with each weight decay
    (on the mean loss, converted to the engine's convention) until finished; the strength of
    best trial-averaged hold-out accuracy is kept (ties: the smaller)."""
    settings = StudySettings.from_config(section)
    data = subset_trials(load_trial_data(split), settings.trials)
    lr = float(json.loads(Path(full_search).read_text())["best_lr"])
    n_train = data.x_train.shape[1]
    tried: list[dict[str, Any]] = []
    best: tuple[float, Curves, Weights] | None = None
    for strength in sorted(float(s) for s in section["weight_decays"]):
        engine = study_engine(
            training, batch_sizes.FULL, seed, threads,
            weight_decay=engine_decay(strength, n_train, training["reduction"]),
        )  # fmt: skip
        run = train(data, replace(engine, learning_rates=(lr,), epochs=settings.search_epochs))
        curves, final, attempts = until_finished(
            data, engine, Curves.of(run.records, slice(None)), run.final, settings
        )
        peak = float(curves.mean_hold().max())
        tried.append({"weight_decay": strength, "best_mean_hold_acc": peak, "attempts": attempts})
        if best is None or peak > best[0]:
            best = (peak, curves, final)
    assert best is not None
    chosen = max(tried, key=lambda t: (t["best_mean_hold_acc"], -t["weight_decay"]))
    info = {
        "task": task,
        "batch_size": "full+wd",
        "lr": lr,
        "tried": tried,
        "weight_decay": chosen["weight_decay"],
        **_finish_info(best[1], chosen["attempts"], data, settings),
    }
    return _write(out_dir, DECAY_FILES, "decay.json", info, best[1], best[2])


def engine_decay(strength: float, batch_rows: int, reduction: str) -> float:
    """The engine's ``weight_decay`` (PyTorch convention, added to the gradient of the batch's
    summed or mean loss) of a penalty ``strength / 2 |w|²`` on the mean training loss."""
    return strength * batch_rows if reduction == "sum" else strength
