"""The optimizer study's rate searches: the scaling study's search with another update rule.

docs/design.md §12. One search per task x optimizer x batch size
(:func:`batch_inefficiency.studies.rate_search.search_task`, files as the scaling
study's): the optimizer reaches the engine through the training settings, the first rates
are the optimizer's (``initial_rates``), and a rate at which replicas diverge is recorded
as diverged (rates.csv, trials.csv) while the search goes on.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from batch_inefficiency.studies.optimizers.config import (
    first_indices,
    optimizer_training,
    search_section,
)
from batch_inefficiency.studies.rate_search import search_task


def search_optimizer(
    split: Path,
    out_dir: Path,
    task: str,
    batch_size: str,
    label: str,
    training: Mapping[str, Any],
    scaling: Mapping[str, Any],
    section: Mapping[str, Any],
    seed: int,
    threads: int,
) -> dict[str, Any]:
    """The ``optimizer_search`` rule: the rate search of optimizer ``label``, all files at once."""
    entry = section["optimizers"][label]
    grid = search_section(scaling, section, entry)
    info = search_task(
        split,
        out_dir,
        task,
        batch_size,
        optimizer_training(training, entry),
        grid,
        seed,
        threads,
        first=first_indices(grid, entry, task),
    )
    return {"optimizer": label, **info}
