"""The generalization study's configuration (the config's ``generalization``), checked before
any job (docs/design.md §11). What the schema cannot say, each refusal naming the key: a
positive finishing tolerance, a cap of at least one epoch of the study's largest task, batch
sizes with on-line (``1``), no negative weight decay, curve tasks among the study's tasks,
and trials among the prepared ones. A batch size larger than a task's training split is
left out for that task (:func:`task_batch_sizes`; breast's 164 rows have no 256), never
clamped."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from batch_inefficiency import batch_sizes
from batch_inefficiency.batch_sizes import ONLINE
from batch_inefficiency.errors import UserError

KEY = "generalization"


def task_batch_sizes(section: Mapping[str, Any], n_train: int) -> list[str]:
    """The study's batch sizes that fit a training split of ``n_train`` rows, in order."""
    sizes = batch_sizes.ordered(section["batch_sizes"])
    return [b for b in sizes if b == batch_sizes.FULL or int(b) <= n_train]


def check_generalization(
    section: Mapping[str, Any], tasks: Sequence[str], trials: int, n_train: Mapping[str, int]
) -> None:
    """Refuse a ``generalization`` section the study cannot run with, naming the key."""
    if not section["tolerance"] > 0:
        raise UserError(f"{KEY}.tolerance = {section['tolerance']} must be > 0")
    if ONLINE not in section["batch_sizes"]:
        raise UserError(f"{KEY}.batch_sizes must include '1': on-line is what batch is compared to")
    negative = [s for s in section["weight_decays"] if s < 0]
    if negative:
        raise UserError(f"{KEY}.weight_decays must be >= 0, got {negative[0]}")
    if section["trials"] > trials:
        raise UserError(
            f"{KEY}.trials = {section['trials']} but trials = {trials} are prepared; "
            f"lower {KEY}.trials or raise trials"
        )
    if tasks:
        largest = max(tasks, key=lambda t: n_train[t])
        if section["cap"] < n_train[largest]:
            raise UserError(
                f"{KEY}.cap = {section['cap']} is below one epoch of {largest} "
                f"({n_train[largest]} training rows)"
            )
    unknown = [t for t in section["curve_tasks"] if t not in tasks]
    if tasks and unknown:
        raise UserError(f"{KEY}.curve_tasks: {unknown[0]} is not a task of the study's suite")
