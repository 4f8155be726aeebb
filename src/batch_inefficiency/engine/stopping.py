"""Stopping rules: after each epoch, which replicas leave the active set, and why.

Checked in this order (docs/run_format.md): ``diverged`` (non-finite weights or
loss, or training loss above ``divergence_factor`` x the replica's initial
loss), ``reached_target`` (with ``target``: the replica's own hold-out accuracy
has reached it; :attr:`Stopper.reached_epoch` keeps the epoch), ``complete``
(budget spent), ``stopped_early`` (with ``patience``: the rate's trial-mean
hold-out accuracy has not improved for that many epochs).
"""

from __future__ import annotations

import numpy as np
import torch

from .contract import Replicas, Scores
from .records import COMPLETE, DIVERGED, REACHED_TARGET, STOPPED_EARLY
from .settings import EngineSettings


class Stopper:
    """Decides, after each epoch, which active replicas stop and with which status."""

    def __init__(
        self, settings: EngineSettings, rate_index: np.ndarray, budget: np.ndarray
    ) -> None:
        self.status = np.full(len(rate_index), COMPLETE, dtype="<U14")
        self.reached_epoch = np.full(len(rate_index), -1, dtype=np.int64)  # [R], -1: never
        self._target = settings.target
        self._rate_of = rate_index  # [R]
        self._budget = budget  # [R]
        self._factor = settings.divergence_factor
        self._patience = settings.patience
        self._limit = np.full(len(rate_index), np.inf)  # [R] divergence threshold on train loss
        self._best = np.full(len(settings.learning_rates), -np.inf)  # best trial-mean hold acc
        self._best_epoch = np.zeros(len(settings.learning_rates), dtype=np.int64)

    def __call__(self, epoch: int, active: Replicas, scores: Scores) -> np.ndarray:
        """[Ra] bool: the replicas that stop after ``epoch``; their status is set."""
        ids = active.ids
        if epoch == 0:
            self._limit[ids] = self._factor * scores.train_loss
        finite = torch.stack([torch.isfinite(p).flatten(1).all(1) for p in active.params])
        loss = scores.train_loss
        diverged = ~finite.all(0).cpu().numpy() | ~np.isfinite(loss) | (loss > self._limit[ids])
        reached = self._reached(epoch, ids, scores.hold_acc, diverged)
        done = diverged | reached | (self._budget[ids] == epoch)
        if self._patience is not None:
            stale = self._stale_rates(epoch, self._rate_of[ids], scores.hold_acc, diverged)
            early = stale[self._rate_of[ids]] & ~done
            self.status[ids[early]] = STOPPED_EARLY
            done |= early
        self.status[ids[reached]] = REACHED_TARGET
        self.status[ids[diverged]] = DIVERGED
        return done

    def _reached(
        self, epoch: int, ids: np.ndarray, hold_acc: np.ndarray, diverged: np.ndarray
    ) -> np.ndarray:
        """[Ra] bool: replicas (not diverged) whose hold-out accuracy reached the target now."""
        if self._target is None:
            return np.zeros(len(ids), dtype=bool)
        reached = (hold_acc >= self._target) & ~diverged
        self.reached_epoch[ids[reached]] = epoch
        return reached

    def _stale_rates(
        self, epoch: int, rate_of: np.ndarray, hold_acc: np.ndarray, diverged: np.ndarray
    ) -> np.ndarray:
        """[n_rates] bool: rates whose trial-mean hold-out accuracy is ``patience`` epochs stale.

        The mean is over the rate's replicas still training and not diverged.
        """
        stale = np.zeros(len(self._best), dtype=bool)
        for rate in np.unique(rate_of[~diverged]):
            mean = hold_acc[(rate_of == rate) & ~diverged].mean()
            if mean > self._best[rate]:
                self._best[rate], self._best_epoch[rate] = mean, epoch
            stale[rate] = epoch - self._best_epoch[rate] >= self._patience
        return stale
