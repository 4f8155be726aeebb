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

from .permutation import assembled_entropy, check_rows, fill_permutations, words


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
    _check_keys(base_seed, trial, *extra)
    key = (int(trial), int(purpose), *(int(e) for e in extra))
    return np.random.default_rng(np.random.SeedSequence(entropy=int(base_seed), spawn_key=key))


def epoch_permutation(base_seed: int, trial: int, epoch: int, n: int) -> np.ndarray:
    """The order in which trial ``trial`` presents its ``n`` training rows in ``epoch``.

    Epochs count from 0. This is the public function the audit trail refers to:
    any run's presentation order can be regenerated from (base seed, trial, epoch).
    It is ``rng_for(base_seed, trial, Purpose.ORDER, epoch).permutation(n)``,
    computed by permutation.py (compiled, the same numbers).
    """
    return EpochOrders(base_seed, np.array([trial]), n)(epoch, np.zeros(1, dtype=np.int64))[0]


class EpochOrders:
    """Each epoch's presentation orders of several trials, :func:`epoch_permutation` of each.

    The training loop's source of orders: one compiled call an epoch fills a kept
    ``[T, n]`` array (valid until the next call) for the trial rows in use.
    """

    def __init__(self, base_seed: int, trials: np.ndarray, n: int) -> None:
        _check_keys(base_seed, *(int(t) for t in trials))
        check_rows(n)
        prefixes = [assembled_entropy(base_seed, int(t), Purpose.ORDER) for t in trials]
        self._base = np.array([len(p) for p in prefixes], dtype=np.int64)  # [T]
        width = self._base.max(initial=0) + 2  # an epoch has at most 2 words (below 2^64)
        self._entropy = np.zeros((len(trials), width), dtype=np.uint64)
        for row, prefix in zip(self._entropy, prefixes, strict=True):
            row[: len(prefix)] = prefix
        self._orders = np.zeros((len(trials), n), dtype=np.int64)

    def __call__(self, epoch: int, rows: np.ndarray) -> np.ndarray:
        """``[T, n]``: row ``t`` is trial ``trials[t]``'s order in ``epoch``, ``t`` in ``rows``."""
        _check_keys(epoch)
        epoch_words = words(epoch)  # one or two
        positions = np.arange(len(self._base))
        for i, word in enumerate(epoch_words):
            self._entropy[positions, self._base + i] = word
        lengths = self._base + len(epoch_words)
        fill_permutations(self._entropy, lengths, np.asarray(rows, dtype=np.int64), self._orders)
        return self._orders


def _check_keys(*keys: int) -> None:
    if any(k < 0 for k in keys):
        raise ValueError("seeds, trials and extra keys must be non-negative")
