"""The size sweep's configuration (the config's ``size_sweep`` section), checked before any job.

docs/design.md §10. The sweep borrows the scaling study's rate grid and search rules
(``scaling.rates_per_decade``, ``initial_mean_rates``) and its per-task target (the
full-size target, ``scaling.targets``, unless ``size_sweep.targets`` overrides it).
What the schema cannot say, refused with one line naming the key: every task of the
sweep has a target, at most the best hold-out accuracy seen (``scaling.accuracy_seen``);
sizes fit the training split; the mini-batch fits the smallest size; the study's trials
are among the prepared ones.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from batch_inefficiency import batch_sizes
from batch_inefficiency.batch_sizes import FULL, ONLINE
from batch_inefficiency.errors import UserError
from batch_inefficiency.studies.scaling.config import check_reachable, read_accuracy_seen


def is_on(sweep: Mapping[str, Any]) -> bool:
    """Whether the config runs the size sweep (``size_sweep.suite`` not null)."""
    return sweep.get("suite") is not None


def sweep_sizes(sweep: Mapping[str, Any], n_train: int) -> list[int]:
    """Training-set sizes of a task, ascending: the config's list (``full`` = the split),
    or the full split halved while the half has at least ``min_size`` rows."""
    if sweep["sizes"] is not None:
        found = {n_train if s == FULL else int(s) for s in sweep["sizes"]}
        return sorted(found)
    sizes = [n_train]
    while sizes[-1] // 2 >= sweep["min_size"]:
        sizes.append(sizes[-1] // 2)
    return sorted(sizes)


def epoch_budget(sweep: Mapping[str, Any], size: int) -> int:
    """A replica's epoch budget at ``size`` rows: ``max_epochs``, or fewer where
    ``sample_budget`` presentations run out first (``ceil(sample_budget / size)``)."""
    budget = sweep["sample_budget"]
    if budget is None:
        return int(sweep["max_epochs"])
    return min(int(sweep["max_epochs"]), math.ceil(budget / size))


def sweep_methods(sweep: Mapping[str, Any]) -> list[str]:
    """The batch sizes of the sweep: on-line, the mini-batch, full batch."""
    return batch_sizes.ordered(dict.fromkeys([ONLINE, sweep["mini_batch"], FULL]))


def full_size_target(sweep: Mapping[str, Any], scaling: Mapping[str, Any], task: str) -> float:
    """The task's full-size target: ``size_sweep.targets``, else the scaling study's."""
    targets = {**scaling["targets"], **(sweep["targets"] or {})}
    if task not in targets:
        raise UserError(
            f"size_sweep.targets.{task} is missing (nor in scaling.targets): give the hold-out "
            f"accuracy on-line training should reach on all of {task}"
        )
    return float(targets[task])


def on_grid(rate: float, rates_per_decade: int) -> bool:
    """Whether ``rate`` is a point of the grid ``10 ** (k / rates_per_decade)``."""
    k = rates_per_decade * math.log10(rate)
    return math.isclose(k, round(k), abs_tol=1e-9)


def check_size_sweep(
    sweep: Mapping[str, Any],
    scaling: Mapping[str, Any],
    tasks: Sequence[str],
    trials: int,
    n_train: Mapping[str, int],
) -> None:
    """Refuse a size_sweep section the sweep cannot run with, naming the key."""
    if not is_on(sweep):
        return
    if sweep["trials"] > trials:
        raise UserError(
            f"size_sweep.trials = {sweep['trials']} but trials = {trials} are prepared; "
            "lower size_sweep.trials or raise trials"
        )
    mini = batch_sizes.parse(sweep["mini_batch"])
    seen = read_accuracy_seen(Path(scaling["accuracy_seen"]))
    for task in tasks:
        target = full_size_target(sweep, scaling, task)
        key = "size_sweep.targets" if task in (sweep["targets"] or {}) else "scaling.targets"
        check_reachable(key, task, target, seen, scaling["accuracy_seen"])
        larger = [s for s in sweep["sizes"] or [] if s != FULL and int(s) > n_train[task]]
        if larger:
            raise UserError(
                f"size_sweep.sizes: {larger[0]} is larger than the training split of {task} "
                f"(about {n_train[task]} rows); use 'full' for the whole split"
            )
        smallest = sweep_sizes(sweep, n_train[task])[0]
        if mini != FULL and mini > smallest:
            raise UserError(
                f"size_sweep.mini_batch = {mini} is larger than the smallest size of {task} "
                f"({smallest} rows); lower it or raise size_sweep.min_size"
            )
