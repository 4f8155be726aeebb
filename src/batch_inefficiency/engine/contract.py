"""What every training path shares: the problem, the replicas, the update scale.

The paths (torch_path, fused_path, triton_path) import this module and nothing
else of the engine (the update rule and optimizer state it names are optimizers.py's),
so each can be read, replaced or added on its own. A path is
a class built from a :class:`Problem` whose ``train_epoch`` trains every active
replica for one epoch in place (:class:`Trainer`). The activation and loss codes
are the integer names the compiled kernels (numba, Triton) use for
``models.ACTIVATIONS`` / ``models.LOSSES``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch

from batch_inefficiency.batch_sizes import steps_per_epoch
from batch_inefficiency.models import Activation, ModelSpec

from .optimizers import PLAIN_SGD, OptimizerState, Update

Tensor = torch.Tensor

ACTIVATION_CODES: dict[str, int] = {"sigmoid": 0, "tanh": 1, "relu": 2}
LOSS_CODES: dict[str, int] = {"squared_error": 0, "cross_entropy": 1}


@dataclass(frozen=True)
class Problem:
    """What a trainer needs: the training split, the model and the update rule."""

    x_train: np.ndarray  # [T, n, d]
    y_train: np.ndarray  # [T, n]
    n_classes: int
    spec: ModelSpec
    batch_rows: int  # instances per update; the last batch of an epoch may be shorter
    reduction: str  # "sum" | "mean"
    dtype: torch.dtype
    device: torch.device
    chunk_rows: int  # rows per forward/backward chunk (torch path and evaluation)
    update: Update = PLAIN_SGD  # the optimizer and weight decay (optimizers.py)


@dataclass(frozen=True)
class Replicas:
    """The replicas still training, compacted: weights, rates, trial rows, optimizer state."""

    w1: Tensor  # [Ra, d, h]
    b1: Tensor  # [Ra, h]
    w2: Tensor  # [Ra, h, k]
    b2: Tensor  # [Ra, k]
    lr: np.ndarray  # [Ra] float64
    trial_index: np.ndarray  # [Ra] int64, row in the TrialData arrays
    ids: np.ndarray  # [Ra] int64, replica number in the run
    optimizer_state: OptimizerState | None = None  # None: plain SGD

    @property
    def params(self) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """``(w1, b1, w2, b2)``."""
        return self.w1, self.b1, self.w2, self.b2

    def keep(self, mask: np.ndarray) -> Replicas:
        """The replicas where ``mask`` is true (copies the weights)."""
        index = torch.from_numpy(np.flatnonzero(mask)).to(self.w1.device)
        w1, b1, w2, b2 = (p.index_select(0, index) for p in self.params)
        state = None if self.optimizer_state is None else self.optimizer_state.keep(index)
        return Replicas(
            w1, b1, w2, b2, self.lr[mask], self.trial_index[mask], self.ids[mask], state
        )


class Trainer(Protocol):
    """What every path provides: one epoch of the active replicas, weights in place."""

    def train_epoch(self, replicas: Replicas, orders: np.ndarray) -> None: ...


def step_scales(
    lr: np.ndarray, batch_rows: int, n_rows: int, reduction: str
) -> tuple[np.ndarray, np.ndarray]:
    """Per-replica delta scales ``(full batch, last batch)`` of an epoch: -η or -η/|B|."""
    last_rows = n_rows - (steps_per_epoch(batch_rows, n_rows) - 1) * batch_rows
    if reduction == "mean":
        return -lr / batch_rows, -lr / last_rows
    return -lr, -lr


def delta_scales(
    update: Update, lr: np.ndarray, batch_rows: int, n_rows: int, reduction: str
) -> tuple[np.ndarray, np.ndarray]:
    """The output deltas' scales ``(full batch, last batch)``: :func:`step_scales` for plain
    SGD; for any other rule, those of the gradient itself (1 or 1/|B|), which it then steps."""
    if update.plain:
        return step_scales(lr, batch_rows, n_rows, reduction)
    full, last = step_scales(np.ones_like(lr), batch_rows, n_rows, reduction)
    return -full, -last


def hidden(x: Tensor, w1: Tensor, b1: Tensor, act: Activation) -> Tensor:
    """Hidden activations ``[R, c, h]`` of the rows ``x [R, c, d]``."""
    return act.forward_(torch.baddbmm(b1[:, None], x, w1))
