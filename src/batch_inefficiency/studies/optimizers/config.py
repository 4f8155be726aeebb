"""The optimizer study's configuration (the ``optimizers`` section), checked before any job.

docs/design.md §12. What the schema cannot say: the optimizers run and the reference are
labels of ``optimizers.optimizers``, and the reference is run; nesterov has a momentum
above 0; every task has a target (``scaling.targets``); the batch sizes include on-line
(``1``: C7b and C1 compare there) and fit the training split; the trials are prepared.
Every refusal names the config key.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from batch_inefficiency.errors import UserError
from batch_inefficiency.studies.rate_search import SearchSettings, initial_indices
from batch_inefficiency.studies.scaling.config import check_sizes_and_trials

# The keys of an optimizer entry that are the engine's optimizer setting.
OPTIMIZER_KEYS = ("name", "momentum", "betas", "eps")


def run_labels(section: Mapping[str, Any]) -> list[str]:
    """The labels of the optimizers run, in the config's order."""
    return list(section["run"])


def optimizer_training(training: Mapping[str, Any], entry: Mapping[str, Any]) -> dict[str, Any]:
    """The ``training`` section with its optimizer replaced by the entry's (weight decay kept)."""
    spec = {key: entry[key] for key in OPTIMIZER_KEYS if key in entry}
    return {**training, "optimizer": spec}


def search_section(
    scaling: Mapping[str, Any], section: Mapping[str, Any], entry: Mapping[str, Any]
) -> dict[str, Any]:
    """A scaling-like section for the rate search of one optimizer: the scaling study's grid
    and targets, this study's trials and budget, the entry's first rates."""
    budget = ("trials", "max_epochs", "max_widenings", "patience")
    return {
        **scaling,
        **{key: section[key] for key in budget},
        "initial_mean_rates": list(entry["initial_rates"]),
    }


def first_indices(grid: Mapping[str, Any], entry: Mapping[str, Any], task: str) -> list[int] | None:
    """The first round's grid indices: None (the search's own, mean-convention rates divided by
    the batch) where ``batch_scaled``, else the grid points nearest the entry's engine rates."""
    if entry.get("batch_scaled", True):
        return None
    return initial_indices(SearchSettings.from_config(grid, task), 1, "mean")


def reuses_scaling_search(
    training: Mapping[str, Any],
    scaling: Mapping[str, Any],
    section: Mapping[str, Any],
    label: str,
    task: str,
) -> bool:
    """Whether optimizer ``label``'s search on ``task`` would repeat the scaling study's: plain
    SGD as the scaling study trains, with the same grid, budget and first rates. The study then
    reads the scaling study's search instead of running it again (docs/design.md §12)."""
    entry = section["optimizers"][label]
    ours = SearchSettings.from_config(search_section(scaling, section, entry), task)
    return (
        entry["name"] == "sgd"
        and training["optimizer"]["name"] == "sgd"
        and entry.get("batch_scaled", True)
        and ours == SearchSettings.from_config(scaling, task)
    )


def check_optimizers(
    section: Mapping[str, Any],
    scaling: Mapping[str, Any],
    tasks: Sequence[str],
    trials: int,
    n_train: Mapping[str, int],
) -> None:
    """Refuse an optimizers section the study cannot run with, naming the key."""
    known = section["optimizers"]
    for label in run_labels(section):
        if label not in known:
            raise UserError(
                f"optimizers.run: {label!r} is not a label of optimizers.optimizers "
                f"(known: {', '.join(known)})"
            )
    if section["reference"] not in section["run"]:
        raise UserError(
            f"optimizers.reference = {section['reference']!r} is not one of optimizers.run"
        )
    for label, entry in known.items():
        if entry["name"] == "nesterov" and entry.get("momentum", 0.9) == 0:
            raise UserError(f"optimizers.optimizers.{label}.momentum must be > 0 for nesterov")
    for task in tasks:
        if task not in scaling["targets"]:
            raise UserError(
                f"scaling.targets.{task} is missing: the optimizers suite needs a hold-out "
                f"accuracy to reach on {task}"
            )
    check_sizes_and_trials(
        "optimizers", section, tasks, trials, n_train,
        "C7b and C1 compare with on-line training",
    )  # fmt: skip
