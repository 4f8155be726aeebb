"""Seeds for every random choice, derived from (base seed, trial, purpose).

docs/design.md §2: trial t fixes the split, the initial weights and the presentation
order; every method and learning rate of a task shares them, so comparisons are
paired. Each purpose gets its own independent stream (numpy ``SeedSequence``
spawn keys), so adding a learning rate, a batch size or a task never changes
another run's numbers.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np


class Purpose(IntEnum):
    """What a random stream is used for; the value is part of the spawn key."""

    SPLIT = 1
    INIT = 2
    ORDER = 3
    SUBSET = 4  # the size sweep's nested training subsets (subsets.py)


def rng_for(base_seed: int, trial: int, purpose: Purpose, *extra: int) -> np.random.Generator:
    """A generator for one (base seed, trial, purpose, *extra) stream.

    ``extra`` distinguishes sub-streams, e.g. the epoch for presentation orders.
    """
    if base_seed < 0 or trial < 0 or any(e < 0 for e in extra):
        raise ValueError("seeds, trials and extra keys must be non-negative")
    key = (int(trial), int(purpose), *(int(e) for e in extra))
    return np.random.default_rng(np.random.SeedSequence(entropy=int(base_seed), spawn_key=key))


def epoch_permutation(base_seed: int, trial: int, epoch: int, n: int) -> np.ndarray:
    """The order in which trial ``trial`` presents its ``n`` training rows in ``epoch``.

    Epochs count from 0. This is the public function the audit trail refers to:
    any run's presentation order can be regenerated from (base seed, trial, epoch).
    """
    return rng_for(base_seed, trial, Purpose.ORDER, epoch).permutation(n)
