"""Vectorised torch path: R replicas stepped together, any batch size, CPU or CUDA.

docs/design.md §5: one Python step serves R independent models (learning rates x
trials) whose weights are stacked on a leading replica axis; each replica has
its own rate, initial weights and presentation order. The forward and backward
are written by hand (no autograd in the hot loop) as ``baddbmm``/``bmm`` over
replicas.

docs/design.md §8: a large batch is processed in chunks of ``chunk_rows``
rows whose gradients are accumulated before the one update (a full batch as one
step falls out of cache; chunks of 500-1000 rows were 2.8x faster).

The update, for batch B of a replica with rate η: deltas at the output are
scaled by ``-η`` (``-η/|B|`` with ``reduction: mean``), back-propagated, and
added into the weights (one chunk) or into an accumulator added at the end of
the batch (several chunks). The fused numba path (fused_path.py) does the same.
Any other update rule (optimizers.py: momentum, Nesterov, Adam, weight decay)
scales the deltas by 1 (or 1/|B|) instead, so the accumulator holds the batch
gradient, and :func:`optimizer_step` steps every replica with it, in torch.optim's
order of operations.
"""

from __future__ import annotations

from functools import partial

import numpy as np
import torch

from batch_inefficiency.models import ACTIVATIONS, LOSSES, Activation, Loss

from .contract import OptimizerState, Problem, Replicas, Tensor, Update, delta_scales, hidden


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


def optimizer_step(
    update: Update,
    params: tuple[Tensor, Tensor, Tensor, Tensor],
    grads: tuple[Tensor, Tensor, Tensor, Tensor],
    state: OptimizerState,
    lr: Tensor,
) -> None:
    """One step of ``update`` (not plain SGD) for every replica, weights and ``state`` in place.

    ``grads`` are the batch gradients (overwritten), ``lr [Ra]`` the rates in
    float64. As torch.optim.SGD and Adam step one parameter, with a rate per
    replica; Adam's step size and bias correction are computed in float64, as
    torch computes them from Python floats, then cast to the weights' dtype.
    """
    state.steps.add_(1)
    dtype = params[0].dtype
    if update.rule == "adam":
        beta1, beta2 = update.betas
        t = state.steps.to(torch.float64)
        rate, root = (-lr / (1 - beta1**t)).to(dtype), (1 - beta2**t).sqrt().to(dtype)
    else:
        rate = (-lr).to(dtype)
    for p, g, slots in zip(params, grads, state.slots, strict=True):
        per_replica = (-1,) + (1,) * (p.dim() - 1)
        if update.weight_decay:
            g.add_(p, alpha=update.weight_decay)
        if update.rule == "adam":
            m, v = slots
            m.lerp_(g, 1 - beta1)
            v.mul_(beta2).addcmul_(g, g, value=1 - beta2)
            denom = (v.sqrt() / root.view(per_replica)).add_(update.eps)
            p.addcdiv_(m * rate.view(per_replica), denom)
            continue
        if update.rule in ("momentum", "nesterov"):
            (buf,) = slots
            buf.mul_(update.momentum).add_(g)
            g = g.add_(buf, alpha=update.momentum) if update.rule == "nesterov" else buf
        p.addcmul_(g, rate.view(per_replica))


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
            for s in delta_scales(p.update, replicas.lr, p.batch_rows, self._n, p.reduction)
        )
        lr = torch.as_tensor(replicas.lr, dtype=torch.float64, device=p.device)
        for start in range(0, self._n, p.batch_rows):
            batch = rows[:, start : start + p.batch_rows]  # [Ra, b]
            self._step(replicas, batch, full if batch.shape[1] == p.batch_rows else last, lr)

    def _step(self, replicas: Replicas, rows: Tensor, scale: Tensor, lr: Tensor) -> None:
        """One update of every replica from its batch ``rows [Ra, b]``, chunk by chunk."""
        params, chunk_rows, update = replicas.params, self._p.chunk_rows, self._p.update
        one_chunk = rows.shape[1] <= chunk_rows
        in_place = one_chunk and update.plain
        grads = params if in_place else tuple(torch.zeros_like(p) for p in params)
        for start in range(0, rows.shape[1], chunk_rows):
            chunk = rows[:, start : start + chunk_rows]  # [Ra, c]
            index = chunk.reshape(-1)
            x = self._x.index_select(0, index).view(*chunk.shape, -1)  # [Ra, c, d]
            t = self._t.index_select(0, index).view(*chunk.shape, -1)  # [Ra, c, k]
            accumulate_gradients(x, t, params, scale, grads, self._act, self._loss)
        if not update.plain:
            assert replicas.optimizer_state is not None
            optimizer_step(update, params, grads, replicas.optimizer_state, lr)
        elif not one_chunk:
            for p, g in zip(params, grads, strict=True):
                p += g
