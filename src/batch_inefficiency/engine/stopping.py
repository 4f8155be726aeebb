"""Stopping rules: after each epoch, which replicas leave the active set, and why.

Checked in this order (docs/run_format.md): ``diverged`` (non-finite weights or
loss, or training loss above ``divergence_factor`` x the replica's initial
loss), ``reached_target`` (with ``target``: the replica's own hold-out accuracy
has reached it; :attr:`Stopper.reached_epoch` keeps the epoch), ``complete``
(budget spent), ``stopped_early`` (with ``patience``: the rate's trial-mean
hold-out accuracy has not improved for that many epochs).

The divergence rule reads the training loss only where it could fire
(:meth:`Stopper.loss_needed`, docs/design.md §8): with sigmoid outputs and
squared error the mean loss is at most k/2, so once the limit is above that and
the weights are small enough for every sum to stay finite, the loss can be
neither non-finite nor above the limit, and the rule decides from the weights
alone, as it would from the loss. Cross-entropy has no such bound: its loss is
computed every epoch. :meth:`Stopper.may_end` says where a replica's run could
still end without diverging or reaching a target, for the training-loss schedule
(schedule.midpoint_wanted).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .contract import Replicas
from .evaluation import EpochScores
from .records import COMPLETE, DIVERGED, REACHED_TARGET, STOPPED_EARLY
from .settings import EngineSettings


@dataclass(frozen=True)
class LossBound:
    """What bounds a replica's training loss: the model's shape, inputs and dtype.

    ``max_loss`` is the largest mean loss per instance (k/2 for squared error),
    None where the loss is unbounded. With weights at most ``W`` in magnitude
    and inputs at most ``max_input``, the hidden sums are at most
    ``W (d max_input + 1)``, the hidden units at most 1 (sigmoid, tanh) or that
    (relu), the output sums at most ``W (h max_hidden + 1)``; while both stay
    below ``finite_below`` no sum can overflow, and the loss is finite.
    """

    max_loss: float | None
    n_inputs: int
    hidden: int
    max_input: float
    bounded_hidden: bool  # sigmoid or tanh: |hidden unit| <= 1
    finite_below: float

    def safe(self, magnitude: np.ndarray, limit: np.ndarray) -> np.ndarray:
        """[Ra] bool: the loss is finite and at most ``limit`` for weights of this ``magnitude``."""
        if self.max_loss is None:
            return np.zeros(len(magnitude), dtype=bool)
        with np.errstate(over="ignore", invalid="ignore"):
            hidden_sum = magnitude * (self.n_inputs * self.max_input + 1)
            unit = 1.0 if self.bounded_hidden else hidden_sum
            output_sum = magnitude * (self.hidden * unit + 1)
        finite = (hidden_sum < self.finite_below) & (output_sum < self.finite_below)
        return finite & (limit >= 2 * self.max_loss)  # 2x: room for the float32 sums' rounding


class Stopper:
    """Decides, after each epoch, which active replicas stop and with which status."""

    def __init__(
        self,
        settings: EngineSettings,
        rate_index: np.ndarray,
        budget: np.ndarray,
        bound: LossBound,
    ) -> None:
        self.status = np.full(len(rate_index), COMPLETE, dtype="<U14")
        self.reached_epoch = np.full(len(rate_index), -1, dtype=np.int64)  # [R], -1: never
        self._target = settings.target
        self._rate_of = rate_index  # [R]
        self._budget = budget  # [R]
        self._bound = bound
        self._factor = settings.divergence_factor
        self._patience = settings.patience
        self._limit = np.full(len(rate_index), np.inf)  # [R] divergence threshold on train loss
        self._best = np.full(len(settings.learning_rates), -np.inf)  # best trial-mean hold acc
        self._best_epoch = np.zeros(len(settings.learning_rates), dtype=np.int64)

    def loss_needed(self, epoch: int, magnitude: np.ndarray, ids: np.ndarray) -> np.ndarray:
        """[Ra] bool: the replicas whose training loss the divergence rule reads this epoch.

        All at epoch 0 (it sets the limit), then those whose loss could be
        non-finite or above the limit (:class:`LossBound`).
        """
        if epoch == 0:
            return np.ones(len(ids), dtype=bool)
        return np.isfinite(magnitude) & ~self._bound.safe(magnitude, self._limit[ids])

    def __call__(self, epoch: int, active: Replicas, scores: EpochScores) -> np.ndarray:
        """[Ra] bool: the replicas that stop after ``epoch``; their status is set."""
        ids = active.ids
        magnitude = weight_magnitude(active)
        scores.score_train(self.loss_needed(epoch, magnitude, ids))
        if epoch == 0:
            self._limit[ids] = self._factor * scores.train_loss
        loss, scored = scores.train_loss, scores.scored
        bad_loss = scored & (~np.isfinite(loss) | (loss > self._limit[ids]))
        diverged = ~np.isfinite(magnitude) | bad_loss
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

    def may_end(self, epoch: int, ids: np.ndarray) -> np.ndarray:
        """[Ra] bool: replicas ``ids`` (still training) whose run could end at ``epoch`` as
        ``complete`` or ``stopped_early``.

        Complete at the budget; stopped early at or after ``patience`` epochs past
        the rate's best epoch so far (the best epoch only moves later, so no later
        stop is missed). Ends by divergence or by reaching a target are not foreseen.
        """
        end = self._budget[ids] == epoch
        if self._patience is not None:
            stale_from = self._best_epoch[self._rate_of[ids]] + self._patience
            end |= (epoch <= self._budget[ids]) & (epoch >= stale_from)
        return end

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


def weight_magnitude(active: Replicas) -> np.ndarray:
    """[Ra] float64: the largest |weight| of each replica; NaN or inf if a weight is not finite."""
    if active.w1.device.type == "cpu":  # NumPy: a quarter of torch's per-call overhead
        per_array = [np.abs(p.numpy().reshape(len(p), -1)).max(1) for p in active.params]
        return np.max(per_array, axis=0).astype(np.float64)  # [Ra]
    per_tensor = torch.stack([p.abs().flatten(1).amax(1) for p in active.params])  # [4, Ra]
    return per_tensor.amax(0).double().cpu().numpy()
