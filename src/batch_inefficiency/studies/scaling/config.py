"""The scaling study's configuration (the config's ``scaling`` section), checked before any job.

docs/design.md §9. What the schema cannot say: every task of the study has a
target, and no target lies above the best hold-out accuracy seen on that task
(``scaling.accuracy_seen``, a committed sheet with the source of each number),
so a study cannot silently chase an unreachable target; the study's trials are
among the prepared ones; its batch sizes include on-line (``1``, where the
gradient noise scale is measured) and fit the training split. Every refusal
names the config key.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from batch_inefficiency import batch_sizes
from batch_inefficiency.batch_sizes import ONLINE
from batch_inefficiency.errors import UserError


def read_accuracy_seen(path: Path) -> dict[str, float]:
    """Task -> the best hold-out accuracy seen (the sheet's ``best_hold_acc`` column)."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"scaling.accuracy_seen: file not found: {path}")
    sheet = pd.read_csv(path, sep="\t", comment="#")
    return dict(zip(sheet["task"], sheet["best_hold_acc"].astype(float), strict=True))


def study_batch_sizes(scaling: Mapping[str, Any], n_train: int) -> list[str]:
    """The batch sizes of a task: the config's list, or powers of ``batch_base`` then full."""
    if scaling["batch_sizes"] is not None:
        return batch_sizes.ordered(scaling["batch_sizes"])
    return batch_sizes.powers(int(scaling["batch_base"]), n_train)


def with_prepared_trials(
    section: Mapping[str, Any], trials: int, key: str = "scaling"
) -> dict[str, Any]:
    """The config section ``key`` (scaling, size_sweep) with ``trials`` at most the prepared.

    A config with fewer trials (a short look, a new data set) lowers the study's, with a
    note on stderr, instead of failing.
    """
    if section["trials"] <= trials:
        return dict(section)
    print(
        f"Note: {key}.trials lowered from {section['trials']} to the {trials} prepared trials",
        file=sys.stderr,
    )
    return {**section, "trials": trials}


def check_reachable(
    key: str, task: str, target: float, seen: Mapping[str, float], source: str
) -> None:
    """Refuse a target (config key ``key``) above the best hold-out accuracy seen on ``task``."""
    if task in seen and target > seen[task]:
        raise UserError(
            f"{key}.{task} = {target} is above the best hold-out accuracy seen on "
            f"{task} ({seen[task]:.4f}, {source}); no run could reach it"
        )


def check_scaling(
    scaling: Mapping[str, Any],
    tasks: Sequence[str],
    trials: int,
    n_train: Mapping[str, int],
) -> None:
    """Refuse a scaling section the study cannot run with, naming the key."""
    seen = read_accuracy_seen(Path(scaling["accuracy_seen"]))
    for task in tasks:
        target = scaling["targets"].get(task)
        if target is None:
            raise UserError(
                f"scaling.targets.{task} is missing: give a hold-out accuracy to reach on {task}"
            )
        check_reachable("scaling.targets", task, target, seen, scaling["accuracy_seen"])
    check_sizes_and_trials(
        "scaling", scaling, tasks, trials, n_train,
        "the gradient noise scale is measured where on-line training reaches the target",
    )  # fmt: skip


def check_sizes_and_trials(
    key: str,
    section: Mapping[str, Any],
    tasks: Sequence[str],
    trials: int,
    n_train: Mapping[str, int],
    why_online: str,
) -> None:
    """Refuse a study section (config key ``key``) whose batch sizes a task cannot serve,
    without on-line training (``why_online``: why the study needs it), or with more trials
    than are prepared."""
    for task in tasks:
        for size in study_batch_sizes(section, n_train[task]):
            try:
                batch_sizes.rows(size, n_train[task])
            except batch_sizes.BatchSizeError as error:
                raise UserError(f"{key}.batch_sizes on {task}: {error}") from None
    if section["trials"] > trials:
        raise UserError(
            f"{key}.trials = {section['trials']} but trials = {trials} are prepared; "
            f"lower {key}.trials or raise trials"
        )
    if section["batch_sizes"] is not None and ONLINE not in section["batch_sizes"]:
        raise UserError(f"{key}.batch_sizes must include '1': {why_online}")
