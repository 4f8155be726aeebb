"""The rule ``generalization_points``: every control of a task's runs, scored (§11).

For each batch size (and the weight-decay arm) the epochs of controls.py; the weights there
come from one more engine run of the tuned rate with one replica group per epoch (budgets
= those epochs: the same seeds give the same weights as the long run at that epoch); each
point is scored in float64 from the weights (sharpness.py): loss and accuracy on the
training, hold-out and test splits, and the sharpness at the matched-loss point (b). For the
tasks of ``curve_tasks`` the same is done at ``curve_points`` log-spaced epochs (the figure
of training loss against test accuracy).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from batch_inefficiency import batch_sizes
from batch_inefficiency.data.splits import TrialData, load_trial_data
from batch_inefficiency.engine import EngineSettings, train
from batch_inefficiency.engine.records import load_weights
from batch_inefficiency.models import ModelSpec, Weights
from batch_inefficiency.studies.generalization.controls import (
    Matched,
    final_loss,
    loss_level,
    point_epochs,
    scored_mean,
)
from batch_inefficiency.studies.generalization.runs import Curves, engine_decay, study_engine
from batch_inefficiency.studies.generalization.sharpness import scores, sharpness
from batch_inefficiency.studies.rate_search import subset_trials

DECAY = "full+wd"
SPLITS = ("train", "hold", "test")


def weights_at(
    data: TrialData, engine: EngineSettings, lr: float, epochs: list[int], end: int, last: Weights
) -> dict[int, Weights]:
    """The replicas' weights after each of ``epochs`` (``last``: those at ``end``)."""
    wanted = sorted({max(1, e) for e in epochs if e != end})
    found = {end: last}
    if wanted:
        run = train(data, replace(engine, learning_rates=(lr,) * len(wanted), epochs=tuple(wanted)))
        t = len(data.trials)
        for i, epoch in enumerate(wanted):
            rows = slice(i * t, (i + 1) * t)
            w = run.final
            found[epoch] = Weights(w.w1[rows], w.b1[rows], w.w2[rows], w.b2[rows])
    return {e: found[max(1, e) if e != end else end] for e in epochs}


def curve_epochs(end: int, count: int) -> list[int]:
    """``count`` log-spaced whole epochs from 1 to ``end`` (fewer where they coincide)."""
    return sorted({int(np.rint(e)) for e in np.geomspace(1, max(end, 1), count)})


def score_rows(data: TrialData, spec: ModelSpec, weights: Weights) -> dict[str, np.ndarray]:
    """Loss and accuracy of each trial's replica on its training, hold-out and test split."""
    found = {}
    for split in SPLITS:
        x, y = getattr(data, f"x_{split}"), getattr(data, f"y_{split}")
        found[f"{split}_loss"], found[f"{split}_acc"] = scores(x, y, data.n_classes, spec, weights)
    return found


def run_points(
    data: TrialData,
    spec: ModelSpec,
    engine: EngineSettings,
    curves: Curves,
    last: Weights,
    points: Mapping[str, Matched],
    with_sharpness: tuple[str, ...] = ("matched_loss",),
) -> pd.DataFrame:
    """One row per point and trial: epoch, bracket, scores; sharpness at ``with_sharpness``."""
    epochs = {name: int(m.epoch) for name, m in points.items() if np.isfinite(m.epoch)}
    weights = weights_at(data, engine, curves.lr, list(epochs.values()), curves.epochs, last)
    frames = []
    for name, matched in points.items():
        base = {"point": name, "epoch": matched.epoch, "epoch_low": matched.low}
        base["epoch_high"] = matched.high
        if name not in epochs:
            frames.append(pd.DataFrame([base | {"trial": t} for t in data.trials]))
            continue
        w = weights[epochs[name]]
        frame = pd.DataFrame({**base, "trial": list(data.trials), **score_rows(data, spec, w)})
        if name in with_sharpness:
            frame["sharpness"] = [
                sharpness(data.x_train[i], data.y_train[i], data.n_classes, spec, w, i)
                for i in range(len(data.trials))
            ]
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def _load(folder: Path, info_name: str) -> tuple[dict[str, Any], Curves, Weights]:
    info = json.loads((folder / info_name).read_text())
    return info, Curves.load(folder / "curves.npz"), load_weights(folder / "final_weights.npz")


def task_points(
    split: Path,
    runs: Mapping[str, Path],
    decay: Path | None,
    out: Path,
    task: str,
    training: Mapping[str, Any],
    section: Mapping[str, Any],
    seed: int,
    threads: int,
) -> pd.DataFrame:
    """The rule: ``runs`` maps each batch size to its run folder, ``decay`` the weight-decay
    arm's folder (or None); writes ``out`` (points.csv) and returns it."""
    data = subset_trials(load_trial_data(split), int(section["trials"]))
    spec = ModelSpec(**training["model"])
    n_train = data.x_train.shape[1]
    loaded = {b: _load(Path(folder), "search.json") for b, folder in runs.items()}
    finals = {b: final_loss(c.train_loss) for b, (_, c, _) in loaded.items()}
    level = loss_level(finals, {b: info["finished"] for b, (info, _, _) in loaded.items()})
    steps = {b: batch_sizes.steps_per_epoch(batch_sizes.rows(b, n_train), n_train) for b in runs}
    fewest_epochs = min(c.epochs for _, c, _ in loaded.values())
    fewest_updates = min(c.epochs * steps[b] for b, (_, c, _) in loaded.items())
    frames = []
    for batch, (info, curves, last) in loaded.items():
        epochs, mean_loss = scored_mean(curves.train_loss)
        points = point_epochs(
            curves.mean_hold(), epochs, mean_loss, level, float(section["loss_level_factor"]),
            fewest_epochs, fewest_updates, steps[batch],
        )  # fmt: skip
        if task in section["curve_tasks"]:
            for epoch in curve_epochs(curves.epochs, int(section["curve_points"])):
                points[f"curve_{epoch}"] = Matched(float(epoch), np.nan, np.nan)
        engine = study_engine(training, batch, seed, threads)
        frame = run_points(data, spec, engine, curves, last, points)
        frames.append(frame.assign(**_run_columns(info, curves, batch, steps[batch], level)))
    if decay is not None:
        info, curves, last = _load(Path(decay), "decay.json")
        strength = engine_decay(info["weight_decay"], n_train, training["reduction"])
        engine = study_engine(training, batch_sizes.FULL, seed, threads, weight_decay=strength)
        ends = point_epochs(
            curves.mean_hold(), *scored_mean(curves.train_loss), level, 1.0, 1, 1, 1
        )
        points = {name: ends[name] for name in ("early_stopped", "end")}
        frame = run_points(data, spec, engine, curves, last, points, with_sharpness=())
        frames.append(frame.assign(**_run_columns(info, curves, DECAY, 1, level)))
    table = pd.concat(frames, ignore_index=True)
    table.insert(0, "task", task)
    table["updates"] = table["epoch"] * table["steps_per_epoch"]
    table.to_csv(out, index=False, lineterminator="\n")
    return table


def _run_columns(
    info: Mapping[str, Any], curves: Curves, batch: str, steps: int, level: float
) -> dict[str, Any]:
    """The columns every point of a run shares."""
    mean = curves.mean_hold()
    return {
        "batch_size": batch,
        "lr": curves.lr,
        "weight_decay": info.get("weight_decay", 0.0),
        "finished": bool(info["finished"]),
        "learned": bool(info["attempts"][-1]["learned"]),
        "improvement": float(info["attempts"][-1]["improvement"]),
        "run_epochs": curves.epochs,
        "steps_per_epoch": steps,
        "best_mean_hold_acc": float(mean.max()),
        "end_mean_hold_acc": float(mean[-1]),
        "loss_level": level,
        "search": info.get("search", ""),
    }
