"""The fused kernels of every update rule but plain SGD: momentum, Nesterov and Adam, with
L2 weight decay, stepped by element in torch.optim's order (fused_path.py's docstring)."""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .contract import Update
from .fused_math import _FASTMATH, _deltas, _sample

# The update rules of :func:`_optimizer_kernel` (plain SGD without weight decay has its own).
RULE_CODES = {"sgd": 0, "momentum": 1, "nesterov": 2, "adam": 3}


def _optimizer_kernel(output_major: bool):
    """The compiled epoch of any update rule but plain SGD, for one layout of ``w2``."""

    @njit(parallel=True, cache=True, fastmath=_FASTMATH)
    def epoch(
        w1, b1, w2, b2, s1, sb1, s2, sb2, steps, x, cols, counts, y, order, trial_index, members,
        first, scale_full, scale_last, batch, act, loss, one, lr, rule, hyper, betas,
    ):  # fmt: skip
        """One epoch of every replica under update rule ``rule`` (:data:`RULE_CODES`).

        Arguments as fused_path's ``_epoch_kernel``, the scales giving the gradient itself, and
        ``s1 [S, R, d, h]`` … ``sb2 [S, R, k]`` each parameter's state tensors, ``steps [R]``
        the updates taken (advanced here), ``lr [R]`` the rates and ``betas`` Adam's, both in
        float64, ``hyper`` :func:`optimizer_constants`. A thread steps its group's members in
        turn, an epoch each."""
        h, k, n, zero = w1.shape[2], b2.shape[1], order.shape[1], one - one
        for g in prange(first.shape[0] - 1):
            group = members[first[g] : first[g + 1]]  # [m] replicas of trial row t
            t = trial_index[group[0]]
            a1, d1, z2 = np.empty(h, w1.dtype), np.empty(h, w1.dtype), np.empty(k, w1.dtype)
            g1 = np.zeros(w1.shape[1:], dtype=w1.dtype)  # one member's batch gradient
            gb1 = np.zeros(b1.shape[1:], dtype=w1.dtype)
            g2 = np.zeros(w2.shape[1:], dtype=w1.dtype)
            gb2 = np.zeros(b2.shape[1:], dtype=w1.dtype)
            unit = np.ones(1, dtype=w1.dtype)  # a bias's gradient is unit ⊗ delta
            rates = np.empty(2, dtype=w1.dtype)  # the step's rate and Adam's root, in the dtype
            bias = np.zeros(2)  # Adam's 1 - β^t, float64 (:func:`_step_rates`)
            for r in group:
                bias[:] = 0.0
                for start in range(0, n, batch):
                    stop = min(start + batch, n)
                    scale = scale_full[r] if stop - start == batch else scale_last[r]
                    steps[r] += 1
                    _step_rates(rule, lr[r], betas, steps[r], bias, rates)
                    if batch == 1 and rule != 3:  # on-line: step each element where computed
                        # (Adam below: its roots and divisions then run in full vectors)
                        i = order[t, start]
                        xi, nonzero, label = x[t, i], cols[t, i, : counts[t, i]], y[t, i]
                        _deltas(w1[r], b1[r], w2[r], b2[r], xi, nonzero, label, scale, act, loss,
                                one, output_major, a1, d1, z2)  # fmt: skip
                        _step_outer(w1[r], xi, d1, s1, r, rule, hyper, rates, zero)
                        _step_outer(b1[r], unit, d1, sb1, r, rule, hyper, rates, zero)
                        if output_major:
                            _step_outer(w2[r], z2, a1, s2, r, rule, hyper, rates, zero)
                        else:
                            _step_outer(w2[r], a1, z2, s2, r, rule, hyper, rates, zero)
                        _step_outer(b2[r], unit, z2, sb2, r, rule, hyper, rates, zero)
                        continue
                    for s in range(start, stop):  # the batch's gradient, then the step
                        i = order[t, s]
                        _sample(w1[r], b1[r], w2[r], b2[r], g1, gb1, g2, gb2, x[t, i],
                                cols[t, i, : counts[t, i]], y[t, i], scale, act, loss, one,
                                output_major, a1, d1, z2)  # fmt: skip
                    _step_sums(w1[r], g1, s1, r, rule, hyper, rates, zero)
                    _step_sums(b1[r], gb1, sb1, r, rule, hyper, rates, zero)
                    _step_sums(w2[r], g2, s2, r, rule, hyper, rates, zero)
                    _step_sums(b2[r], gb2, sb2, r, rule, hyper, rates, zero)

    return epoch


@njit(cache=True, fastmath=_FASTMATH, inline="always")
def _step_rates(rule, lr, betas, step, bias, out):
    """The step's rate into ``out`` (weights' dtype): ``-η``, or for Adam ``-η / (1 - β1^t)``
    and ``√(1 - β2^t)``, computed in float64 as torch.optim computes them from Python floats.

    ``bias`` holds the last ``1 - β^t`` (0 to compute it): once it is 1.0 (β^t < 2^-54)
    it stays 1.0 for every later t, and ``β^t`` is not computed again.
    """
    if rule == 3:
        for b in range(2):
            if bias[b] != 1.0:
                bias[b] = 1.0 - betas[b] ** np.float64(step)
        out[0] = -lr / bias[0]
        out[1] = np.sqrt(bias[1])
    else:
        out[0] = -lr


@njit(cache=True, fastmath=_FASTMATH, inline="always")
def _momentum_element(w, buf, j, gj, mu, rate, nesterov):
    """``b ← μ b + g``, then ``w ← w - η b`` (Nesterov: ``w ← w - η (g + μ b)``), at ``j``."""
    bj = mu * buf[j] + gj
    buf[j] = bj
    w[j] += rate * (gj + mu * bj if nesterov else bj)


@njit(cache=True, fastmath=_FASTMATH, inline="always")
def _adam_element(w, m, v, j, gj, hyper, rate, root):
    """Adam at ``j``: ``m ← m + (1 - β1)(g - m)``, ``v ← β2 v + (1 - β2) g g``,
    ``w ← w + rate · m / (√v / root + ε)`` (``rate``, ``root``: :func:`_step_rates`)."""
    mj = m[j] + hyper[2] * (gj - m[j])
    vj = hyper[3] * v[j] + hyper[4] * gj * gj
    m[j] = mj
    v[j] = vj
    w[j] += rate * mj / (np.sqrt(vj) / root + hyper[5])


@njit(cache=True, fastmath=_FASTMATH, inline="always")
def _step_sums(weights, grads, state, r, rule, hyper, rates, zero):
    """One step of parameter ``weights`` of replica ``r`` from its batch gradient ``grads``
    (reset to zero), with state ``state[:, r]``, as torch.optim.SGD (rules 0-2) or Adam (3)
    steps it; ``hyper``: :func:`optimizer_constants`, ``rates``: :func:`_step_rates`.

    The weight decay term ``λ w`` is added with λ = 0 too (for finite weights it adds
    nothing), and Nesterov's loop is its own: no test inside the loops (module docstring).
    """
    w, g = weights.ravel(), grads.ravel()
    mu, wd, rate = hyper[0], hyper[1], rates[0]
    if rule == 0:
        for j in range(w.size):
            w[j] += rate * (g[j] + wd * w[j])
            g[j] = zero
    elif rule == 1:
        buf = state[0, r].ravel()
        for j in range(w.size):
            _momentum_element(w, buf, j, g[j] + wd * w[j], mu, rate, False)
            g[j] = zero
    elif rule == 2:
        buf = state[0, r].ravel()
        for j in range(w.size):
            _momentum_element(w, buf, j, g[j] + wd * w[j], mu, rate, True)
            g[j] = zero
    else:
        m, v = state[0, r].ravel(), state[1, r].ravel()
        for j in range(w.size):
            _adam_element(w, m, v, j, g[j] + wd * w[j], hyper, rate, rates[1])
            g[j] = zero


@njit(cache=True, fastmath=_FASTMATH, inline="always")
def _step_outer(weights, u, v, state, r, rule, hyper, rates, zero):
    """:func:`_step_sums` of an on-line step of rule 0-2, the gradient ``u ⊗ v`` computed
    element by element instead of read (``weights`` ``[p, q]``, or ``[q]`` with ``u`` of
    length 1): no gradient array is written and read again."""
    w, q = weights.ravel(), v.shape[0]
    mu, wd, rate = hyper[0], hyper[1], rates[0]
    if rule == 0:
        for i in range(u.shape[0]):
            for c in range(q):
                j = i * q + c
                w[j] += rate * (u[i] * v[c] + wd * w[j])
    elif rule == 1:
        buf = state[0, r].ravel()
        for i in range(u.shape[0]):
            for c in range(q):
                j = i * q + c
                _momentum_element(w, buf, j, u[i] * v[c] + wd * w[j], mu, rate, False)
    else:
        buf = state[0, r].ravel()
        for i in range(u.shape[0]):
            for c in range(q):
                j = i * q + c
                _momentum_element(w, buf, j, u[i] * v[c] + wd * w[j], mu, rate, True)


def optimizer_constants(update: Update, dtype: np.dtype) -> np.ndarray:
    """``[μ, λ, 1 - β1, β2, 1 - β2, ε]`` in ``dtype``, each computed in float64 and rounded
    once, as torch.optim casts its Python-float hyper-parameters."""
    beta1, beta2 = update.betas
    values = (update.momentum, update.weight_decay, 1 - beta1, beta2, 1 - beta2, update.eps)
    return np.array(values, dtype=dtype)


_OPTIMIZER_EPOCH = {major: _optimizer_kernel(major) for major in (False, True)}
