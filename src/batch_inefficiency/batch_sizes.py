"""Batch sizes: the one place that says what a batch size and ``full`` mean.

A batch size is the number of training instances per weight update (docs/design.md,
"Protocol"): ``1`` is on-line training, ``full`` is the whole training split (the
paper's batch training), anything in between a mini-batch. Configs, file paths and
tables spell it as text (``"1"``, ``"100"``, ``"full"``); the engine takes an int
or ``"full"``. Every module parses, resolves, orders and labels batch sizes with
the functions here, so they agree. One policy for a batch larger than the
training split: it is refused (use ``full``), never clamped.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

import numpy as np
import pandas as pd

from batch_inefficiency.errors import UserError

FULL = "full"
ONLINE = "1"

BatchSize = int | Literal["full"]


class BatchSizeError(UserError, ValueError):
    """A batch size that is not an integer >= 1 or ``full``, or exceeds the training split."""


def parse(value: str | int) -> BatchSize:
    """``'full'`` as is, an integer >= 1 as an int; anything else raises BatchSizeError."""
    if value == FULL:
        return FULL
    if isinstance(value, bool | float) or not str(value).isdigit() or int(value) < 1:
        raise BatchSizeError(f"batch size must be an integer >= 1 or 'full', got {value!r}")
    return int(value)


def text(value: str | int) -> str:
    """The canonical spelling of a batch size: ``'1'``, ``'100'``, ``'full'``."""
    return str(parse(value))


def rows(value: str | int, n_train: int) -> int:
    """Instances per update: ``full`` is ``n_train``; a larger number is refused."""
    size = parse(value)
    if size == FULL:
        return n_train
    if size > n_train:
        raise BatchSizeError(
            f"batch size {size} is larger than the training split ({n_train} instances); "
            "use 'full' for the whole split"
        )
    return size


def steps_per_epoch(batch_rows: int, n_train: int) -> int:
    """Weight updates per epoch: ceil(n_train / batch_rows) (the last batch may be shorter)."""
    return -(-n_train // batch_rows)


def sort_key(values: pd.Series) -> pd.Series:
    """Sort key of a column of batch sizes: numeric ascending, ``full`` last."""
    return values.map(lambda b: np.inf if b == FULL else float(b))


def ordered(values: Iterable[str]) -> list[str]:
    """Distinct batch sizes, numeric ascending, ``full`` last."""
    unique = pd.Series(pd.unique(pd.Series(list(values), dtype=str)))
    return list(unique.iloc[np.argsort(sort_key(unique).to_numpy(), kind="stable")])


def positions(values: pd.Series, n_train: int) -> pd.Series:
    """Instances per update as floats (an x coordinate): ``full`` at ``n_train``."""
    return values.map(lambda b: float(rows(b, n_train)))


def method_name(value: str) -> str:
    """``online`` for batch size 1, ``batch`` for ``full``, else ``batch_<size>``."""
    if value == ONLINE:
        return "online"
    return "batch" if value == FULL else f"batch_{value}"


def label(value: str) -> str:
    """Legend text: ``1 (on-line)``, ``full (batch)``, ``100``."""
    if value == ONLINE:
        return "1 (on-line)"
    return "full (batch)" if value == FULL else value


def powers(base: int, n_train: int) -> list[str]:
    """``1, base, base², …`` below ``n_train``, then ``full``: a scaling study's batch sizes."""
    if base < 2:
        raise BatchSizeError(f"the base of batch-size powers must be >= 2, got {base!r}")
    sizes, size = [], 1
    while size < n_train:
        sizes.append(str(size))
        size *= base
    return [*sizes, FULL]
