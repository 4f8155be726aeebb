"""Fused CUDA path for small batch sizes: one Triton program per replica streams an epoch.

docs/design.md §5 and §8: on a GPU, on-line training through eager torch is bound by
kernel launches (about ten per update, each a few microseconds, for a few
hundred FLOPs of work). Here one kernel launch trains every replica for a whole
epoch: program ``r`` keeps replica ``r``'s weights in registers and loops over
its samples in order, so an update costs no launch and no trip to global
memory. It is the GPU twin of fused_path.py (same update, same order of
reads and writes): deltas are scaled by -η (or -η/|B| with ``reduction: mean``)
and added into the weights on-line, or accumulated and added at the end of each
batch.

Dimensions are padded to powers of two (Triton's blocks); padded inputs,
hidden units and classes carry zero weights and are masked out of every sum,
so they never change. The padded weights of one replica must fit a program's
registers: :func:`fits` bounds them by :data:`MAX_TILE` elements.

Without a GPU the kernel runs on CPU tensors under Triton's interpreter
(``TRITON_INTERPRET=1`` set before this module is imported); the tests use
that to hold it to the same float64 oracle as the other paths.
"""

from __future__ import annotations

import numpy as np
import torch
import triton
import triton.language as tl

from .contract import ACTIVATION_CODES, LOSS_CODES, Problem, Replicas, step_scales

# Padded weights per replica (d x h + h x k) kept in one program's registers.
MAX_TILE = 16_384
# Weight (and batch-sum) bytes per thread that :func:`num_warps` allows. Measured
# offline (benchmarks/triton_resources.py: the kernel compiled for sm_90, an
# H100, by Triton 3.7.1 and 3.9.0, registers and spills read from the cubin), at
# 5 shapes x float32/64 x on-line/batch x 1-8 warps: at <= 64 bytes per thread no
# variant spilled; at 96-128 some spilled 8-16 bytes, at 256 and more most
# spilled hundreds. Models up to MAX_TILE take 16 warps (128 registers per
# thread): float32 on-line spills nothing there, float32 batches 16-32 bytes,
# float64 168-376 bytes (float64 is for the oracle tests).
STATE_BYTES_PER_THREAD = 64


def _block(n: int) -> int:
    """The padded block length of a dimension of size ``n``."""
    return max(16, triton.next_power_of_2(n))


def _padded_weights(n_inputs: int, hidden: int, n_classes: int) -> int:
    h = _block(hidden)
    return _block(n_inputs) * h + h * _block(n_classes)


def fits(n_inputs: int, hidden: int, n_classes: int) -> bool:
    """Whether one replica's padded weights fit a program (:data:`MAX_TILE`)."""
    return _padded_weights(n_inputs, hidden, n_classes) <= MAX_TILE


def num_warps(shape: tuple[int, int, int], itemsize: int, online: bool) -> int:
    """Warps per program: the fewest (1-16) that hold the weights (and batch sums) in registers.

    Each thread then holds at most :data:`STATE_BYTES_PER_THREAD` bytes of them;
    fewer warps mean cheaper reductions, too few mean spills to local memory.
    """
    state = _padded_weights(*shape) * itemsize * (1 if online else 2)
    warps = 1
    while warps < 16 and state > STATE_BYTES_PER_THREAD * 32 * warps:
        warps *= 2
    return warps


@triton.jit
def _activate(z, ACT: tl.constexpr):
    """The hidden activation of ``z`` (ACT as in ACTIVATION_CODES)."""
    if ACT == 0:
        a = 1.0 / (1.0 + tl.exp(-z))
    elif ACT == 1:
        a = 1.0 - 2.0 / (tl.exp(2.0 * z) + 1.0)  # tanh
    else:
        a = tl.maximum(z, 0.0)
    return a


@triton.jit
def _activation_slope(a, ACT: tl.constexpr):
    """f'(z) written in terms of the output a = f(z)."""
    if ACT == 0:
        s = a * (1.0 - a)
    elif ACT == 1:
        s = 1.0 - a * a
    else:
        s = tl.where(a > 0.0, 1.0, 0.0).to(a.dtype)
    return s


@triton.jit
def _epoch_kernel(
    w1_ptr, b1_ptr, w2_ptr, b2_ptr,  # [R, d, h], [R, h], [R, h, k], [R, k], updated in place
    x_ptr, y_ptr, order_ptr,  # [T, n, d], [T, n], [T, n] (this epoch's order per trial row)
    trial_ptr, full_ptr, last_ptr,  # [R]: trial row, delta scale of a full / the last batch
    n, d, h, k, batch,
    D: tl.constexpr, H: tl.constexpr, K: tl.constexpr,
    ACT: tl.constexpr, LOSS: tl.constexpr, ONLINE: tl.constexpr,
):  # fmt: skip
    """One epoch of replica ``program_id`` (module docstring)."""
    r = tl.program_id(0).to(tl.int64)
    t = tl.load(trial_ptr + r)
    offs_d, offs_h, offs_k = tl.arange(0, D), tl.arange(0, H), tl.arange(0, K)
    in_d, in_h, in_k = offs_d < d, offs_h < h, offs_k < k
    at_w1 = r * d * h + offs_d[:, None] * h + offs_h[None, :]
    at_w2 = r * h * k + offs_h[:, None] * k + offs_k[None, :]
    mask_w1, mask_w2 = in_d[:, None] & in_h[None, :], in_h[:, None] & in_k[None, :]
    w1 = tl.load(w1_ptr + at_w1, mask=mask_w1, other=0.0)
    b1 = tl.load(b1_ptr + r * h + offs_h, mask=in_h, other=0.0)
    w2 = tl.load(w2_ptr + at_w2, mask=mask_w2, other=0.0)
    b2 = tl.load(b2_ptr + r * k + offs_k, mask=in_k, other=0.0)
    full, last = tl.load(full_ptr + r), tl.load(last_ptr + r)
    g1, gb1, g2, gb2 = w1 * 0.0, b1 * 0.0, w2 * 0.0, b2 * 0.0  # batch accumulators
    for s in range(n):
        i = tl.load(order_ptr + t * n + s)
        x = tl.load(x_ptr + (t * n + i) * d + offs_d, mask=in_d, other=0.0)  # [D]
        label = tl.load(y_ptr + t * n + i)
        scale = tl.where((s // batch) * batch + batch <= n, full, last)
        a1 = _activate(tl.sum(x[:, None] * w1, axis=0) + b1, ACT)  # [H]
        a1 = tl.where(in_h, a1, 0.0)
        z2 = tl.sum(a1[:, None] * w2, axis=0) + b2  # [K]
        target = tl.where(offs_k == label, 1.0, 0.0).to(z2.dtype)
        if LOSS == 0:  # sigmoid + squared error: (o - t)·o·(1 - o)
            o = 1.0 / (1.0 + tl.exp(-z2))
            d2 = (o - target) * o * (1.0 - o) * scale
        else:  # softmax + cross-entropy: p - t
            z2 = tl.where(in_k, z2, -float("inf"))
            e = tl.exp(z2 - tl.max(z2, axis=0))
            d2 = (e / tl.sum(e, axis=0) - target) * scale
        d2 = tl.where(in_k, d2, 0.0)
        d1 = tl.sum(w2 * d2[None, :], axis=1) * _activation_slope(a1, ACT)  # from w2 before update
        if ONLINE:
            w2 += a1[:, None] * d2[None, :]
            b2 += d2
            w1 += x[:, None] * d1[None, :]
            b1 += d1
        else:
            g2 += a1[:, None] * d2[None, :]
            gb2 += d2
            g1 += x[:, None] * d1[None, :]
            gb1 += d1
            if ((s + 1) % batch == 0) | (s + 1 == n):  # end of a batch: apply, reset
                w1, b1, w2, b2 = w1 + g1, b1 + gb1, w2 + g2, b2 + gb2
                g1, gb1, g2, gb2 = g1 * 0.0, gb1 * 0.0, g2 * 0.0, gb2 * 0.0
    tl.store(w1_ptr + at_w1, w1, mask=mask_w1)
    tl.store(b1_ptr + r * h + offs_h, b1, mask=in_h)
    tl.store(w2_ptr + at_w2, w2, mask=mask_w2)
    tl.store(b2_ptr + r * k + offs_k, b2, mask=in_k)


class TritonTrainer:
    """Trains the active replicas one epoch (one kernel launch) at a time with Triton."""

    def __init__(self, problem: Problem) -> None:
        self._device, self._dtype = problem.device, problem.dtype
        self._x = torch.as_tensor(problem.x_train, dtype=problem.dtype, device=problem.device)
        self._y = torch.as_tensor(problem.y_train, dtype=torch.int64, device=problem.device)
        self._batch = problem.batch_rows
        self._reduction = problem.reduction
        self._act = ACTIVATION_CODES[problem.spec.activation]
        self._loss = LOSS_CODES[problem.spec.loss]

    def train_epoch(self, replicas: Replicas, orders: np.ndarray) -> None:
        """One epoch of every replica in ``replicas``; ``orders [T, n]`` per trial row."""
        _, n, d = self._x.shape
        h, k = replicas.w2.shape[1:]
        if not all(p.is_contiguous() for p in replicas.params):
            raise ValueError("TritonTrainer updates the weights in place: they must be contiguous")
        full, last = step_scales(replicas.lr, self._batch, n, self._reduction)
        to_device = {"device": self._device}
        _epoch_kernel[(len(replicas.ids),)](
            *replicas.params,
            self._x,
            self._y,
            torch.as_tensor(np.ascontiguousarray(orders, dtype=np.int64), **to_device),
            torch.as_tensor(replicas.trial_index, dtype=torch.int64, **to_device),
            torch.as_tensor(full, dtype=self._dtype, **to_device),
            torch.as_tensor(last, dtype=self._dtype, **to_device),
            n, d, h, k, self._batch,
            D=_block(d), H=_block(h), K=_block(k),
            ACT=self._act, LOSS=self._loss, ONLINE=self._batch == 1,
            num_warps=num_warps((d, h, k), self._x.element_size(), self._batch == 1),
        )  # fmt: skip
