"""Fused CPU path for small batch sizes: one numba kernel trains every replica for an epoch.

docs/design.md §5 and §8: on-line training is the cost centre (millions of
sequential tiny updates), where eager torch is dominated by per-call overhead.
Here each replica's weights stay hot in L1 while one thread streams its samples
through a hand-written forward/backward; ``prange`` spreads the replicas over
the threads. The tricks of §8 that keep numba fast are deliberate:

* loop bounds are read from array shapes at run time (constant bounds made LLVM
  unroll and lose SIMD);
* vector-matrix products take four rows per pass (``_add_vec_mat``), so the
  accumulator is not stored and reloaded after every row;
* every scalar is in the weights' dtype (``one`` is passed in): an int or a
  Python float literal would silently promote float32 math to float64;
* ``fastmath`` only with the flags that keep inf/NaN semantics (reassociation,
  contraction, reciprocal, signed zeros), so reductions vectorise and the
  float64 oracle test still holds to 1e-9.

The update is the same as the torch path's (torch_path.py): deltas are
scaled by -η (or -η/|B| with ``reduction: mean``) and added into the weights
for batch size 1, or accumulated over the batch and added at its end. The
activation and loss are chosen by contract.ACTIVATION_CODES / LOSS_CODES, which mirror
``models.ACTIVATIONS`` / ``models.LOSSES``.
"""

from __future__ import annotations

import numba
import numpy as np
import torch
from numba import njit, prange

from .contract import ACTIVATION_CODES, LOSS_CODES, Problem, Replicas, step_scales

_FASTMATH = {"reassoc", "contract", "arcp", "nsz"}


@njit(cache=True, fastmath=_FASTMATH, inline="always")
def _activate(z, code, one, zero):
    """The hidden activation of ``z`` (code as in ACTIVATION_CODES)."""
    if code == 0:
        return one / (one + np.exp(-z))
    if code == 1:
        return np.tanh(z)
    return z if z > zero else zero


@njit(cache=True, fastmath=_FASTMATH, inline="always")
def _activation_slope(a, code, one, zero):
    """f'(z) written in terms of the output a = f(z)."""
    if code == 0:
        return a * (one - a)
    if code == 1:
        return one - a * a
    return one if a > zero else zero


@njit(cache=True, fastmath=_FASTMATH, inline="always")
def _add_vec_mat(out, v, m):
    """``out += v @ m`` for ``v [p]``, ``m [p, q]``, four rows of ``m`` per pass.

    Four rows at a time keep ``out`` in registers across them instead of
    storing and reloading it after every row (a store-to-load chain).
    """
    q = m.shape[1]
    full = v.shape[0] - v.shape[0] % 4
    for i in range(0, full, 4):
        v0, v1, v2, v3 = v[i], v[i + 1], v[i + 2], v[i + 3]
        for c in range(q):
            out[c] += v0 * m[i, c] + v1 * m[i + 1, c] + v2 * m[i + 2, c] + v3 * m[i + 3, c]
    for i in range(full, v.shape[0]):
        vi = v[i]
        for c in range(q):
            out[c] += vi * m[i, c]


@njit(cache=True, fastmath=_FASTMATH, inline="always")
def _add_outer(g, u, v):
    """``g += u ⊗ v`` for ``g [p, q]``, ``u [p]``, ``v [q]``."""
    for i in range(u.shape[0]):
        ui = u[i]
        for c in range(v.shape[0]):
            g[i, c] += ui * v[c]


@njit(cache=True, fastmath=_FASTMATH, inline="always")
def _sample(w1, b1, w2, b2, g1, gb1, g2, gb2, x, label, scale, act, loss, one, a1, d1, z2):
    """Forward, backward and scaled gradient of one instance, added into the ``g*`` arrays.

    The ``g*`` are the weights themselves on-line, a batch accumulator
    otherwise: every weight is read before any is written.
    """
    h = w1.shape[1]
    k = w2.shape[1]
    zero = one - one
    a1[:] = b1  # hidden layer
    _add_vec_mat(a1, x, w1)
    for j in range(h):
        a1[j] = _activate(a1[j], act, one, zero)
    z2[:] = b2  # output layer
    _add_vec_mat(z2, a1, w2)
    if loss == 0:  # sigmoid + squared error: (o - t)·o·(1 - o)
        for c in range(k):
            o = one / (one + np.exp(-z2[c]))
            z2[c] = (o - (one if c == label else zero)) * o * (one - o) * scale
    else:  # softmax + cross-entropy: p - t
        top = z2[0]
        for c in range(k):
            top = max(top, z2[c])
        total = zero
        for c in range(k):
            z2[c] = np.exp(z2[c] - top)
            total += z2[c]
        for c in range(k):
            z2[c] = (z2[c] / total - (one if c == label else zero)) * scale
    for j in range(h):  # hidden delta, from w2 before its update
        s = zero
        for c in range(k):
            s += w2[j, c] * z2[c]
        d1[j] = s * _activation_slope(a1[j], act, one, zero)
    _add_outer(g2, a1, z2)
    gb2 += z2
    _add_outer(g1, x, d1)
    gb1 += d1


@njit(cache=True, fastmath=_FASTMATH, inline="always")
def _apply(weights, grads):
    """``weights += grads`` and reset ``grads`` to zero (any shape, same layout)."""
    w = weights.ravel()
    g = grads.ravel()
    for i in range(w.size):
        w[i] += g[i]
        g[i] = 0


@njit(parallel=True, cache=True, fastmath=_FASTMATH)
def _epoch(w1, b1, w2, b2, x, y, order, trial_index, scale_full, scale_last, batch, act, loss, one):
    """One epoch for every replica, weights ``w1 [R, d, h]`` … ``b2 [R, k]`` updated in place.

    ``x [T, n, d]``, ``y [T, n]``; ``order [T, n]`` is each trial's presentation
    order; replica r uses trial row ``trial_index[r]`` and step scale
    ``scale_full[r]`` (``scale_last[r]`` for a short last batch).
    """
    n = order.shape[1]
    h = w1.shape[2]
    k = w2.shape[2]
    for r in prange(w1.shape[0]):
        t = trial_index[r]
        a1 = np.empty(h, dtype=w1.dtype)
        d1 = np.empty(h, dtype=w1.dtype)
        z2 = np.empty(k, dtype=w1.dtype)
        online = batch == 1
        g1 = w1[r] if online else np.zeros_like(w1[r])
        gb1 = b1[r] if online else np.zeros_like(b1[r])
        g2 = w2[r] if online else np.zeros_like(w2[r])
        gb2 = b2[r] if online else np.zeros_like(b2[r])
        for start in range(0, n, batch):
            stop = min(start + batch, n)
            scale = scale_full[r] if stop - start == batch else scale_last[r]
            for s in range(start, stop):
                i = order[t, s]
                _sample(
                    w1[r], b1[r], w2[r], b2[r], g1, gb1, g2, gb2,
                    x[t, i], y[t, i], scale, act, loss, one, a1, d1, z2,
                )  # fmt: skip
            if not online:
                _apply(w1[r], g1)
                _apply(b1[r], gb1)
                _apply(w2[r], g2)
                _apply(b2[r], gb2)


class FusedTrainer:
    """Trains the active replicas one epoch at a time with the numba kernel (CPU only)."""

    def __init__(self, problem: Problem) -> None:
        np_dtype = torch.empty((), dtype=problem.dtype).numpy().dtype
        self._x = np.ascontiguousarray(problem.x_train, dtype=np_dtype)  # [T, n, d]
        self._y = np.ascontiguousarray(problem.y_train, dtype=np.int64)  # [T, n]
        self._batch = problem.batch_rows
        self._reduction = problem.reduction
        self._act = ACTIVATION_CODES[problem.spec.activation]
        self._loss = LOSS_CODES[problem.spec.loss]
        self._one = np_dtype.type(1)
        self._compile()

    def _compile(self) -> None:
        """Compile (or load from cache) the kernel for this dtype before the clock starts."""
        dtype, d = self._x.dtype, self._x.shape[2]
        shapes = ((0, d, 1), (0, 1), (0, 1, 1), (0, 1))
        no_replicas = [np.empty(shape, dtype=dtype) for shape in shapes]  # w1, b1, w2, b2
        none = np.empty(0, dtype=dtype)
        _epoch(
            *no_replicas, self._x, self._y, np.empty((0, 0), dtype=np.int64),
            np.empty(0, dtype=np.int64), none, none, self._batch, self._act, self._loss, self._one,
        )  # fmt: skip

    def train_epoch(self, replicas: Replicas, orders: np.ndarray) -> None:
        """One epoch of every replica in ``replicas``; ``orders [T, n]`` per trial row."""
        dtype = self._x.dtype
        full, last = step_scales(replicas.lr, self._batch, self._x.shape[1], self._reduction)
        _epoch(
            *(p.numpy() for p in replicas.params),
            self._x,
            self._y,
            np.ascontiguousarray(orders, dtype=np.int64),
            replicas.trial_index,
            full.astype(dtype),
            last.astype(dtype),
            self._batch,
            self._act,
            self._loss,
            self._one,
        )


def set_threads(threads: int) -> int:
    """Set numba's thread count (at most its pool size) and return the value used."""
    used = min(threads, numba.config.NUMBA_NUM_THREADS)
    numba.set_num_threads(used)
    return used
