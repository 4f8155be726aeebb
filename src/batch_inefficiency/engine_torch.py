"""Vectorised torch path: R replicas stepped together, any batch size, CPU or CUDA.

DESIGN.md §5: one Python step serves R independent models (learning rates x
trials) whose weights are stacked on a leading replica axis; each replica has
its own rate, initial weights and presentation order. The forward and backward
are written by hand (no autograd in the hot loop) as ``baddbmm``/``bmm`` over
replicas.

DESIGN.md §8: a large batch is processed in chunks of ``chunk_rows`` rows whose
gradients are accumulated before the one update (a full batch as one step falls
out of cache; chunks of 500-1000 rows were 2.8x faster). The same chunked
forward serves the per-epoch evaluation of all replicas on every split.

The update, for batch B of a replica with rate η: deltas at the output are
scaled by ``-η`` (``-η/|B|`` with ``reduction: mean``), back-propagated, and
added into the weights (one chunk) or into an accumulator added at the end of
the batch (several chunks). The fused numba path (engine_fused.py) does the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np
import torch

from .models import ACTIVATIONS, LOSSES, Activation, Loss, ModelSpec

Tensor = torch.Tensor


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


@dataclass(frozen=True)
class Replicas:
    """The replicas still training, compacted: weights, rates and trial rows."""

    w1: Tensor  # [Ra, d, h]
    b1: Tensor  # [Ra, h]
    w2: Tensor  # [Ra, h, k]
    b2: Tensor  # [Ra, k]
    lr: np.ndarray  # [Ra] float64
    trial_index: np.ndarray  # [Ra] int64, row in the TrialData arrays
    ids: np.ndarray  # [Ra] int64, replica number in the run

    @property
    def params(self) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """``(w1, b1, w2, b2)``."""
        return self.w1, self.b1, self.w2, self.b2

    def keep(self, mask: np.ndarray) -> Replicas:
        """The replicas where ``mask`` is true (copies the weights)."""
        index = torch.from_numpy(np.flatnonzero(mask)).to(self.w1.device)
        w1, b1, w2, b2 = (p.index_select(0, index) for p in self.params)
        return Replicas(w1, b1, w2, b2, self.lr[mask], self.trial_index[mask], self.ids[mask])


def step_scales(
    lr: np.ndarray, batch_rows: int, n_rows: int, reduction: str
) -> tuple[np.ndarray, np.ndarray]:
    """Per-replica delta scales ``(full batch, last batch)`` of an epoch: -η or -η/|B|."""
    last_rows = n_rows - (-(-n_rows // batch_rows) - 1) * batch_rows
    if reduction == "mean":
        return -lr / batch_rows, -lr / last_rows
    return -lr, -lr


def hidden(x: Tensor, w1: Tensor, b1: Tensor, act: Activation) -> Tensor:
    """Hidden activations ``[R, c, h]`` of the rows ``x [R, c, d]``."""
    return act.forward_(torch.baddbmm(b1[:, None], x, w1))


def accumulate_gradients(
    x: Tensor,
    t: Tensor,
    params: tuple[Tensor, Tensor, Tensor, Tensor],
    scale: Tensor,
    grads: tuple[Tensor, Tensor, Tensor, Tensor],
    act: Activation,
    loss: Loss,
) -> None:
    """Hand-written backward: ``grads += scale · ∇ Σ_i l_i`` for the rows ``x [R, c, d]``.

    ``t [R, c, k]`` one-hot targets, ``scale [R, 1, 1]``; ``params`` and
    ``grads`` are ``(w1, b1, w2, b2)``. ``grads`` may be ``params`` themselves
    (an on-line or one-chunk update): the weights are read before they are written.
    """
    w1, b1, w2, b2 = params
    g1, gb1, g2, gb2 = grads
    a1 = hidden(x, w1, b1, act)  # [R, c, h]
    z2 = torch.baddbmm(b2[:, None], a1, w2)  # [R, c, k]
    d2 = loss.delta_(z2, t).mul_(scale)  # [R, c, k]
    d1 = act.backward(torch.bmm(d2, w2.transpose(1, 2)), a1)  # [R, c, h]
    g2.baddbmm_(a1.transpose(1, 2), d2)  # [R, h, k]
    gb2 += d2.sum(1)  # [R, k]
    g1.baddbmm_(x.transpose(1, 2), d1)  # [R, d, h]
    gb1 += d1.sum(1)  # [R, h]


class TorchTrainer:
    """Trains the active replicas one epoch at a time with batched matrix products."""

    def __init__(self, problem: Problem) -> None:
        self._p = problem
        n_trials, self._n, self._d = problem.x_train.shape
        as_tensor = partial(torch.as_tensor, dtype=problem.dtype, device=problem.device)
        self._x = as_tensor(problem.x_train.reshape(n_trials * self._n, -1))  # [T * n, d]
        onehot = np.eye(problem.n_classes)[problem.y_train.reshape(-1)]
        self._t = as_tensor(onehot)  # [T * n, k]
        self._act = ACTIVATIONS[problem.spec.activation]
        self._loss = LOSSES[problem.spec.loss]

    def train_epoch(self, replicas: Replicas, orders: np.ndarray) -> None:
        """One epoch of every replica in ``replicas``; ``orders [T, n]`` per trial row."""
        p = self._p
        flat = orders[replicas.trial_index] + self._n * replicas.trial_index[:, None]
        rows = torch.from_numpy(flat).to(p.device)  # [Ra, n] rows of the flat tables
        full, last = (
            torch.as_tensor(s, dtype=p.dtype, device=p.device)[:, None, None]  # [Ra, 1, 1]
            for s in step_scales(replicas.lr, p.batch_rows, self._n, p.reduction)
        )
        for start in range(0, self._n, p.batch_rows):
            batch = rows[:, start : start + p.batch_rows]  # [Ra, b]
            self._step(replicas, batch, full if batch.shape[1] == p.batch_rows else last)

    def _step(self, replicas: Replicas, rows: Tensor, scale: Tensor) -> None:
        """One update of every replica from its batch ``rows [Ra, b]``, chunk by chunk."""
        params, chunk_rows = replicas.params, self._p.chunk_rows
        one_chunk = rows.shape[1] <= chunk_rows
        grads = params if one_chunk else tuple(torch.zeros_like(p) for p in params)
        for start in range(0, rows.shape[1], chunk_rows):
            chunk = rows[:, start : start + chunk_rows]  # [Ra, c]
            index = chunk.reshape(-1)
            x = self._x.index_select(0, index).view(*chunk.shape, -1)  # [Ra, c, d]
            t = self._t.index_select(0, index).view(*chunk.shape, -1)  # [Ra, c, k]
            accumulate_gradients(x, t, params, scale, grads, self._act, self._loss)
        if not one_chunk:
            for p, g in zip(params, grads, strict=True):
                p += g


@dataclass(frozen=True)
class Scores:
    """Per-replica evaluation of the current weights."""

    train_loss: np.ndarray  # [Ra] mean per-instance loss on the training split
    train_acc: np.ndarray  # [Ra]
    hold_acc: np.ndarray  # [Ra]
    test_acc: np.ndarray  # [Ra]


class Evaluator:
    """Loss and accuracy of all active replicas on the three splits, chunked batched products.

    An instance counts as correct when its class has the largest output
    pre-activation (the largest output; ties, which do not occur in practice,
    count as correct). The output layer is computed class-major, ``[R, k, c]``,
    so the maximum over classes is taken across rows, several times faster on
    CPU than an arg-max over a short last axis.
    """

    def __init__(
        self,
        splits: tuple[tuple[np.ndarray, np.ndarray], ...],
        n_classes: int,
        spec: ModelSpec,
        dtype: torch.dtype,
        device: torch.device,
        chunk_rows: int,
    ) -> None:
        self._x = [torch.as_tensor(x, dtype=dtype, device=device) for x, _ in splits]  # [T, n, d]
        self._y = [torch.as_tensor(y, device=device) for _, y in splits]  # [T, n]
        onehot = np.eye(n_classes)[splits[0][1]].transpose(0, 2, 1)  # [T, k, n]
        self._t_train = torch.as_tensor(onehot, dtype=dtype, device=device).contiguous()
        self._chunk = chunk_rows
        self._act = ACTIVATIONS[spec.activation]
        self._loss = LOSSES[spec.loss]

    def __call__(self, replicas: Replicas) -> Scores:
        """Scores of ``replicas`` on (train, hold-out, test)."""
        index = torch.from_numpy(replicas.trial_index).to(replicas.w1.device)
        (loss, train_acc), (_, hold_acc), (_, test_acc) = (
            self._split(replicas, index, split) for split in range(3)
        )
        return Scores(loss, train_acc, hold_acc, test_acc)

    def _split(
        self, replicas: Replicas, index: Tensor, split: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """(mean loss, accuracy) per replica on one split; the loss on the training split only."""
        w1, b1, w2, b2 = replicas.params
        xs, ys = self._x[split], self._y[split]
        n = xs.shape[1]
        loss = torch.zeros(len(index), dtype=torch.float64, device=index.device)
        correct = torch.zeros(len(index), dtype=torch.int64, device=index.device)
        for start in range(0, n, self._chunk):
            stop = start + self._chunk
            x = xs[:, start:stop].index_select(0, index)  # [Ra, c, d]
            a1 = hidden(x, w1, b1, self._act)  # [Ra, c, h]
            z2 = torch.baddbmm(b2[:, :, None], w2.transpose(1, 2), a1.transpose(1, 2))  # [Ra, k, c]
            y = ys[:, start:stop].index_select(0, index)[:, None]  # [Ra, 1, c]
            correct += (z2.gather(1, y) >= z2.amax(1, keepdim=True)).sum((1, 2))
            if split == 0:
                t = self._t_train[:, :, start:stop].index_select(0, index)  # [Ra, k, c]
                loss += self._loss.summed(z2.transpose(1, 2), t.transpose(1, 2)).double()
        return (loss / n).cpu().numpy(), (correct.double() / n).cpu().numpy()
