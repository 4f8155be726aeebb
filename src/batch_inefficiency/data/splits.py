"""Per-trial data preparation: split, scale, stack (docs/design.md §2, §3).

Trial t fixes a stratified 60/20/20 train / hold-out / test split; inputs are
min-max scaled to [0, 1] with statistics from the training split only.
"""

from __future__ import annotations

import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from batch_inefficiency.data.datasets import Dataset, load_dataset
from batch_inefficiency.errors import UserError
from batch_inefficiency.files import atomic_output, damaged_file
from batch_inefficiency.seeds import Purpose, rng_for


@dataclass(frozen=True)
class TrialData:
    """The prepared splits of one task for a set of trials, stacked on a leading trial axis.

    Every trial has the same split sizes (the stratified split's per-class
    counts do not depend on the seed), so the arrays stack.
    """

    trials: tuple[int, ...]
    x_train: np.ndarray  # [T, n_train, d] float64 in [0, 1]
    y_train: np.ndarray  # [T, n_train] int64 class index
    x_hold: np.ndarray  # [T, n_hold, d]
    y_hold: np.ndarray  # [T, n_hold]
    x_test: np.ndarray  # [T, n_test, d]
    y_test: np.ndarray  # [T, n_test]
    n_classes: int


SPLIT_FRACTIONS = (0.6, 0.2)  # train, hold-out; the test split takes the rest
ARRAYS = ("x_train", "y_train", "x_hold", "y_hold", "x_test", "y_test")


def stratified_split(y: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """Indices of a stratified 60/20/20 train / hold-out / test split.

    Each class's instances are shuffled and cut at round(0.6 n_c) and
    round(0.2 n_c), so every split holds each class to within one instance of
    its share and the split sizes depend only on the class counts.
    """
    parts: list[list[np.ndarray]] = [[], [], []]
    for label in np.unique(y):
        members = rng.permutation(np.flatnonzero(y == label))
        n_train, n_hold, _ = class_split_sizes(len(members))
        for part, chunk in zip(parts, np.split(members, [n_train, n_train + n_hold]), strict=True):
            part.append(chunk)
    return tuple(np.sort(np.concatenate(p)) for p in parts)


def class_split_sizes(n: int) -> tuple[int, int, int]:
    """(train, hold-out, test) instances that the stratified split gives a class of ``n``."""
    n_train, n_hold = (int(np.floor(f * n + 0.5)) for f in SPLIT_FRACTIONS)
    return n_train, n_hold, n - n_train - n_hold


# The smallest class that puts at least one instance into each of train, hold-out, test.
MIN_CLASS_SIZE = next(n for n in range(1, 100) if min(class_split_sizes(n)) >= 1)


def check_splittable(name: str, labels: np.ndarray) -> None:
    """Refuse (UserError) labels with one class, or a class too small for every split."""
    classes, counts = np.unique(labels, return_counts=True)
    if len(classes) < 2:
        found = f"one class ({str(classes[0])!r})" if len(classes) else "no class labels"
        raise UserError(f"{name}: {found}; a classification task needs at least 2 classes")
    small = np.flatnonzero(counts < MIN_CLASS_SIZE)
    if small.size:
        label, count = classes[small[0]], int(counts[small[0]])
        train, hold, test = class_split_sizes(count)
        raise UserError(
            f"{name}: class {str(label)!r} has {count} instance(s), which the stratified "
            f"60/20/20 split cuts into {train} train, {hold} hold-out and {test} test; every "
            f"class needs at least {MIN_CLASS_SIZE} so that each split holds it"
        )


def fit_minmax(x_train: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(minimum, span) per column of the training inputs; constant columns get span 1."""
    low = x_train.min(axis=0)
    span = x_train.max(axis=0) - low
    return low, np.where(span > 0, span, 1.0)


def scale(x: np.ndarray, low: np.ndarray, span: np.ndarray) -> np.ndarray:
    """Min-max scale with training statistics; hold-out/test values may fall outside [0, 1]."""
    return (x - low) / span


def one_hot(y: np.ndarray, n_classes: int) -> np.ndarray:
    """0/1 target rows, ``[n, n_classes]``."""
    return np.eye(n_classes)[y]


def prepare_trials(dataset: Dataset, trials: Sequence[int], base_seed: int) -> TrialData:
    """Split and scale ``dataset`` for each trial and stack the results."""
    if not trials:
        raise UserError("at least one trial is needed")
    if min(trials) < 0 or len(set(trials)) < len(trials):
        raise UserError(f"trials must be distinct integers >= 0, got {list(trials)}")
    check_splittable(dataset.name, dataset.y)
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ARRAYS}
    for trial in trials:
        splits = stratified_split(dataset.y, rng_for(base_seed, trial, Purpose.SPLIT))
        low, span = fit_minmax(dataset.x[splits[0]])
        for name, index in zip(("train", "hold", "test"), splits, strict=True):
            parts[f"x_{name}"].append(scale(dataset.x[index], low, span))
            parts[f"y_{name}"].append(dataset.y[index])
    return TrialData(
        trials=tuple(int(t) for t in trials),
        n_classes=dataset.n_classes,
        **{k: np.stack(v) for k, v in parts.items()},
    )


def save_trial_data(path: Path, data: TrialData) -> None:
    """Write prepared splits to an NPZ file (arrays + trials + class count), whole or not at all."""
    with atomic_output(path) as tmp:
        np.savez_compressed(
            tmp,
            trials=np.asarray(data.trials),
            n_classes=np.asarray(data.n_classes),
            **{k: getattr(data, k) for k in ARRAYS},
        )


def load_trial_data(path: Path) -> TrialData:
    """Read splits written by :func:`save_trial_data`; a damaged file is a FaultError."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            data = TrialData(
                trials=tuple(int(t) for t in npz["trials"]),
                n_classes=int(npz["n_classes"]),
                **{k: npz[k] for k in ARRAYS},
            )
    except FileNotFoundError:
        raise
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, zlib.error) as err:
        raise damaged_file(path, f"{type(err).__name__}: {err}") from None
    shapes = {k: getattr(data, k).shape[:1] for k in ARRAYS}
    if set(shapes.values()) != {(len(data.trials),)}:
        raise damaged_file(path, f"arrays do not match its {len(data.trials)} trial(s)")
    return data


def write_splits(
    name: str, root: Path, trials: int, base_seed: int, nominal: str, out: Path
) -> TrialData:
    """Load a verified data set, prepare trials ``0 .. trials-1`` and save them to ``out``."""
    data = prepare_trials(load_dataset(name, root, nominal), range(trials), base_seed)
    save_trial_data(out, data)
    return data
