"""Fused CPU path for small batch sizes: one numba kernel trains every replica for an epoch.

docs/design.md §5 and §8: on-line training is the cost centre (millions of
sequential tiny updates), where eager torch is dominated by per-call overhead.
Here each replica's weights stay hot in L1 while one thread streams its samples
through a hand-written forward/backward; ``prange`` spreads the replicas over
the threads. The tricks of §8 that keep numba fast are deliberate:

* loop bounds are read from array shapes at run time (constant bounds made LLVM
  unroll and lose SIMD);
* vector-matrix products take eight rows per pass (``_add_vec_mat``), so the
  accumulator is not stored and reloaded after every row;
* where most inputs are zero (spambase: 78% of them), a zero input is skipped in
  the hidden sums and in its row of the gradient (``_add_rows_mat``,
  ``_add_rows_outer``): its products are zero, and adding a zero leaves a finite
  sum's bits as they are (spambase on-line 1.45x faster; with a quarter of the
  inputs zero, as in splice or german, skipping was 2-5% slower, so a task
  takes this path only from :data:`SPARSE_MIN_SHARE` zeros on). Only weights that
  are already inf could tell the difference, in the NaNs of a diverged replica;
* with fewer outputs than :data:`OUTPUT_MAJOR_BELOW` (the width of the vector
  loops LLVM makes of the hidden delta's sum over outputs), ``w2`` is held
  output-major, ``[k, h]``: the hidden delta and the output layer's gradient run
  along the hidden units in vector registers instead of along two to seven
  outputs (splice on-line 1.37x, satimage 1.67x faster). Below that width the
  hidden-major sum has no vector loop, so both add the outputs' terms in order
  and give the same bits (tests/test_engine.py checks it on AVX-512 machines);
* on-line, such a task presents a trial's samples to one member at a time
  (the members' updates are independent, so the order between members changes
  no bit): that member's weights stay in registers and L1 across samples
  (splice on-line 1.15x, satimage 1.16x, small tasks 1.2-1.3x faster). With
  hidden-major ``w2`` (letter) the sample-at-a-time order was 3-7% faster and
  stays;
* every scalar is in the weights' dtype (``one`` is passed in): an int or a
  Python float literal would silently promote float32 math to float64;
* ``fastmath`` only with the flags that keep inf/NaN semantics (reassociation,
  contraction, reciprocal, signed zeros), so reductions vectorise and the
  float64 oracle test still holds to 1e-9;
* sigmoids in float32 use :func:`_expf`, glibc's ``expf`` algorithm written out
  (so LLVM vectorises the loop instead of calling libm once per unit): the same
  bits as glibc's FMA build for every one of the 2^32 inputs
  (tests/test_engine_expf.py), so the results are those of ``np.exp``
  (docs/design.md §8). Softmax and tanh keep libm's calls. The output sigmoid
  stays in the loop that uses it for the delta: moved to a loop of its own (to
  vectorise), the float32 results changed in their last bits, since the
  ``arcp`` flag lets LLVM fold ``o = 1 / d`` into the expression that uses
  ``o`` only when both are in one loop body.

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
from llvmlite import ir
from numba import njit, prange, types
from numba.core.extending import intrinsic, overload

from .contract import ACTIVATION_CODES, LOSS_CODES, Problem, Replicas, step_scales

_FASTMATH = {"reassoc", "contract", "arcp", "nsz"}
# Skip zero inputs when at least this share of a task's training inputs are zero.
SPARSE_MIN_SHARE = 0.5
# Output-major w2 for fewer outputs than this (the reduction's vector width, module docstring).
OUTPUT_MAJOR_BELOW = {np.dtype(np.float32): 8, np.dtype(np.float64): 4}

# glibc's expf (sysdeps/ieee754/flt-32/e_expf.c, from Arm's optimized-routines,
# MIT licence): 2^(k/32) from a table times a cubic in the remainder, in double.
# The table holds asuint64(2^(i/32)) - (i << 47), as in exp2f_data.c.
_EXP2_TABLE = np.array(
    [
        0x3FF0000000000000, 0x3FEFD9B0D3158574, 0x3FEFB5586CF9890F, 0x3FEF9301D0125B51,
        0x3FEF72B83C7D517B, 0x3FEF54873168B9AA, 0x3FEF387A6E756238, 0x3FEF1E9DF51FDEE1,
        0x3FEF06FE0A31B715, 0x3FEEF1A7373AA9CB, 0x3FEEDEA64C123422, 0x3FEECE086061892D,
        0x3FEEBFDAD5362A27, 0x3FEEB42B569D4F82, 0x3FEEAB07DD485429, 0x3FEEA47EB03A5585,
        0x3FEEA09E667F3BCD, 0x3FEE9F75E8EC5F74, 0x3FEEA11473EB0187, 0x3FEEA589994CCE13,
        0x3FEEACE5422AA0DB, 0x3FEEB737B0CDC5E5, 0x3FEEC49182A3F090, 0x3FEED503B23E255D,
        0x3FEEE89F995AD3AD, 0x3FEEFF76F2FB5E47, 0x3FEF199BDD85529C, 0x3FEF3720DCEF9069,
        0x3FEF5818DCFBA487, 0x3FEF7C97337B9B5F, 0x3FEFA4AFA2A490DA, 0x3FEFD0765B6E4540,
    ],
    dtype=np.uint64,
)  # fmt: skip
_INV_LN2_32 = float.fromhex("0x1.71547652b82fep+5")  # 32 / ln 2
_SHIFT = float.fromhex("0x1.8p+52")  # rounds to an integer in the last bits
_C0 = float.fromhex("0x1.c6af84b912394p-20")
_C1 = float.fromhex("0x1.ebfce50fac4f3p-13")
_C2 = float.fromhex("0x1.62e42ff0c52d6p-6")
_OVERFLOW = np.float32(float.fromhex("0x1.62e42ep6"))  # above: inf
_UNDERFLOW = np.float32(-float.fromhex("0x1.9fe368p6"))  # below: 0
_MAY_UNDERFLOW = np.float32(-float.fromhex("0x1.9d1d9ep6"))  # below: the least subnormal
_LEAST_SUBNORMAL = np.float32(float.fromhex("0x1p-149"))


@intrinsic
def _fma(typingctx, a, b, c):
    """``a * b + c`` rounded once (llvm.fma.f64), as glibc's FMA build computes it."""
    sig = types.float64(types.float64, types.float64, types.float64)

    def codegen(context, builder, signature, args):
        f64 = ir.DoubleType()
        fma = builder.module.declare_intrinsic("llvm.fma", [f64], ir.FunctionType(f64, [f64] * 3))
        return builder.call(fma, args)

    return sig, codegen


@intrinsic
def _bits(typingctx, a):
    """The bits of a float64 as a uint64."""

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))

    return types.uint64(types.float64), codegen


@intrinsic
def _from_bits(typingctx, a):
    """The float64 whose bits are the uint64 ``a``."""

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return types.float64(types.uint64), codegen


@njit(cache=True)
def _expf(x):
    """e^x of a float32, bit for bit glibc's ``__expf_fma``; branch-free, so loops vectorise.

    No fastmath: the operations and their rounding are glibc's. The special
    cases (overflow, underflow, NaN) are selected after the main formula.
    """
    xd = np.float64(x)
    kd = _fma(_INV_LN2_32, xd, _SHIFT)  # k + SHIFT, k = round(x * 32 / ln 2)
    ki = _bits(kd)
    kd = kd - _SHIFT
    r = _fma(_INV_LN2_32, xd, -kd)  # x * 32 / ln 2 - k, in [-1/2, 1/2]
    scale = _from_bits(_EXP2_TABLE[ki & np.uint64(31)] + (ki << np.uint64(47)))  # 2^(k/32)
    z = _fma(_C0, r, _C1)
    y = _fma(_C2, r, 1.0)
    y = _fma(z, r * r, y)
    out = np.float32(y * scale)
    if x < _MAY_UNDERFLOW:
        out = _LEAST_SUBNORMAL
    if x < _UNDERFLOW:
        out = np.float32(0)
    if x > _OVERFLOW:
        out = np.float32(np.inf)
    if x != x:
        out = x + x
    return out


def _exp(z):
    """e^z in the kernels: :func:`_expf` for float32, ``np.exp`` otherwise (numba only)."""
    raise NotImplementedError("called from numba kernels only")


@overload(_exp)
def _exp_numba(z):
    if z == types.float32:
        return lambda z: _expf(z)
    return lambda z: np.exp(z)


@njit(cache=True, fastmath=_FASTMATH, inline="always")
def _activate(a, code, one, zero):
    """The hidden activation applied to ``a [h]`` in place (code as in ACTIVATION_CODES).

    One loop per activation, so the sigmoid's loop vectorises.
    """
    if code == 0:
        for j in range(a.shape[0]):
            a[j] = one / (one + _exp(-a[j]))
    elif code == 1:
        for j in range(a.shape[0]):
            a[j] = np.tanh(a[j])
    else:
        for j in range(a.shape[0]):
            a[j] = a[j] if a[j] > zero else zero


@njit(cache=True, fastmath=_FASTMATH, inline="always")
def _activation_slope(a, code, one, zero):
    """f'(z) written in terms of the output a = f(z)."""
    if code == 0:
        return a * (one - a)
    if code == 1:
        return one - a * a
    return one if a > zero else zero


@njit(cache=True, fastmath={"contract"})
def _times_slope(s, a, code, one, zero):
    """``f'(z) · s`` with f'(z) from the output ``a``, in exactly that order.

    Without ``reassoc`` (a function of its own, not inlined into a fastmath
    body): LLVM may not regroup it as ``(a · s) · (1 - a)``, which it chose
    for the output-major hidden delta and which changed the last bits.
    """
    return _activation_slope(a, code, one, zero) * s


@njit(cache=True, fastmath=_FASTMATH, inline="always")
def _add_vec_mat(out, v, m):
    """``out += v @ m`` for ``v [p]``, ``m [p, q]``, eight rows of ``m`` per pass, then four.

    Several rows at a time keep ``out`` in registers across them instead of
    storing and reloading it after every row (a store-to-load chain). Eight
    were 5-7% faster than four for letter's shape (on-line and at batch 10) and
    3% for spambase's, 2-7% slower for those of satimage, splice and segment
    (kept: letter's jobs are the longest); twelve and sixteen were slower. The
    results are bit for bit those of four rows a pass (float32 and float64, every
    activation and loss, batch sizes 1, 7 and 10, seven model shapes;
    docs/design.md §8).
    """
    q = m.shape[1]
    full8 = v.shape[0] - v.shape[0] % 8
    for i in range(0, full8, 8):
        v0, v1, v2, v3 = v[i], v[i + 1], v[i + 2], v[i + 3]
        v4, v5, v6, v7 = v[i + 4], v[i + 5], v[i + 6], v[i + 7]
        for c in range(q):
            out[c] += (
                v0 * m[i, c] + v1 * m[i + 1, c] + v2 * m[i + 2, c] + v3 * m[i + 3, c]
                + v4 * m[i + 4, c] + v5 * m[i + 5, c] + v6 * m[i + 6, c] + v7 * m[i + 7, c]
            )  # fmt: skip
    full = v.shape[0] - v.shape[0] % 4
    for i in range(full8, full, 4):
        v0, v1, v2, v3 = v[i], v[i + 1], v[i + 2], v[i + 3]
        for c in range(q):
            out[c] += v0 * m[i, c] + v1 * m[i + 1, c] + v2 * m[i + 2, c] + v3 * m[i + 3, c]
    for i in range(full, v.shape[0]):
        vi = v[i]
        for c in range(q):
            out[c] += vi * m[i, c]


@njit(cache=True, fastmath=_FASTMATH, inline="always")
def _add_rows_mat(out, v, m, rows):
    """``out += v @ m`` over the rows ``rows`` of ``m`` only (``v``'s nonzero entries),
    eight rows per pass, then four, then one, in order: as :func:`_add_vec_mat`, whose
    products of the other rows are zero and leave each sum as it is."""
    q = m.shape[1]
    count = rows.shape[0]
    full8 = count - count % 8
    for j in range(0, full8, 8):
        i0, i1, i2, i3 = rows[j], rows[j + 1], rows[j + 2], rows[j + 3]
        i4, i5, i6, i7 = rows[j + 4], rows[j + 5], rows[j + 6], rows[j + 7]
        v0, v1, v2, v3, v4, v5, v6, v7 = v[i0], v[i1], v[i2], v[i3], v[i4], v[i5], v[i6], v[i7]
        for c in range(q):
            out[c] += (
                v0 * m[i0, c] + v1 * m[i1, c] + v2 * m[i2, c] + v3 * m[i3, c]
                + v4 * m[i4, c] + v5 * m[i5, c] + v6 * m[i6, c] + v7 * m[i7, c]
            )  # fmt: skip
    full = count - count % 4
    for j in range(full8, full, 4):
        i0, i1, i2, i3 = rows[j], rows[j + 1], rows[j + 2], rows[j + 3]
        v0, v1, v2, v3 = v[i0], v[i1], v[i2], v[i3]
        for c in range(q):
            out[c] += v0 * m[i0, c] + v1 * m[i1, c] + v2 * m[i2, c] + v3 * m[i3, c]
    for j in range(full, count):
        i = rows[j]
        vi = v[i]
        for c in range(q):
            out[c] += vi * m[i, c]


@njit(cache=True, fastmath=_FASTMATH, inline="always")
def _add_rows_outer(g, u, v, rows):
    """``g += u ⊗ v`` on the rows ``rows`` of ``g`` only (``u``'s nonzero entries)."""
    for j in range(rows.shape[0]):
        i = rows[j]
        ui = u[i]
        for c in range(v.shape[0]):
            g[i, c] += ui * v[c]


@njit(cache=True, fastmath=_FASTMATH, inline="always")
def _add_outer(g, u, v):
    """``g += u ⊗ v`` for ``g [p, q]``, ``u [p]``, ``v [q]``."""
    for i in range(u.shape[0]):
        ui = u[i]
        for c in range(v.shape[0]):
            g[i, c] += ui * v[c]


@njit(cache=True, fastmath=_FASTMATH, inline="always")
def _sample(w1, b1, w2, b2, g1, gb1, g2, gb2, x, nonzero, label, scale, act, loss, one,
            output_major, a1, d1, z2):  # fmt: skip
    """Forward, backward and scaled gradient of one instance, added into the ``g*`` arrays.

    The ``g*`` are the weights themselves on-line, a batch accumulator
    otherwise: every weight is read before any is written. ``nonzero`` lists the
    inputs of ``x`` that are not zero: a zero input adds nothing to the hidden
    sums nor to its row of ``g1`` (module docstring). ``w2`` and ``g2`` are
    ``[h, k]``, or ``[k, h]`` when ``output_major`` (:func:`outputs_major`).
    """
    h = w1.shape[1]
    k = b2.shape[0]
    zero = one - one
    a1[:] = b1  # hidden layer
    if nonzero.shape[0] < x.shape[0]:  # sparse inputs: the nonzero rows only
        _add_rows_mat(a1, x, w1, nonzero)
    else:
        _add_vec_mat(a1, x, w1)
    _activate(a1, act, one, zero)
    z2[:] = b2  # output layer
    _add_vec_mat(z2, a1, w2.T if output_major else w2)
    if loss == 0:  # sigmoid + squared error: (o - t)·o·(1 - o)
        for c in range(k):  # one loop: split in two, the bits changed (module docstring)
            o = one / (one + _exp(-z2[c]))
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
    if output_major:  # hidden delta, from w2 before its update: all units at once,
        d1[:] = zero  # the outputs' terms added in order
        for c in range(k):
            zc = z2[c]
            for j in range(h):
                d1[j] += w2[c, j] * zc
        for j in range(h):
            d1[j] = _times_slope(d1[j], a1[j], act, one, zero)
        _add_outer(g2, z2, a1)
    else:
        for j in range(h):  # hidden delta, from w2 before its update
            s = zero
            for c in range(k):
                s += w2[j, c] * z2[c]
            d1[j] = _times_slope(s, a1[j], act, one, zero)
        _add_outer(g2, a1, z2)
    gb2 += z2
    if nonzero.shape[0] < x.shape[0]:
        _add_rows_outer(g1, x, d1, nonzero)
    else:
        _add_outer(g1, x, d1)
    gb1 += d1


@njit(cache=True, fastmath=_FASTMATH, inline="always")
def _present(w1, b1, w2, b2, x, nonzero, label, scale, act, loss, one, output_major, a1, d1, z2):
    """One on-line update: :func:`_sample` with the weights as their own gradient sums."""
    _sample(w1, b1, w2, b2, w1, b1, w2, b2, x, nonzero, label, scale, act, loss, one,
            output_major, a1, d1, z2)  # fmt: skip


@njit(cache=True, fastmath=_FASTMATH, inline="always")
def _apply(weights, grads):
    """``weights += grads`` and reset ``grads`` to zero (any shape, same layout)."""
    w = weights.ravel()
    g = grads.ravel()
    for i in range(w.size):
        w[i] += g[i]
        g[i] = 0


def _epoch_kernel(output_major: bool):
    """The compiled epoch for one layout of ``w2``, with ``output_major`` a constant.

    One kernel for each layout: tested at run time inside one kernel, the branch
    slowed letter's on-line epochs 22%. The branch on ``output_major`` stays in
    this body, where numba prunes it before it inlines the on-line loop (pruned
    only after, inside an inlined function, the unused loop still cost seconds of
    compilation). Each kernel is compiled (and cached) only when a task needs it.
    """

    @njit(parallel=True, cache=True, fastmath=_FASTMATH)
    def epoch(
        w1, b1, w2, b2, x, cols, counts, y, order, trial_index, members, first, scale_full,
        scale_last, batch, act, loss, one,
    ):  # fmt: skip
        """One epoch for every replica, weights ``w1 [R, d, h]`` … ``b2 [R, k]`` updated in place.

        ``x [T, n, d]``, ``y [T, n]``; row ``x[t, i]``'s nonzero inputs are
        ``cols[t, i, :counts[t, i]]`` (:func:`nonzero_inputs`); ``order [T, n]`` is each
        trial's presentation order; replica r uses trial row ``trial_index[r]`` and step
        scale ``scale_full[r]`` (``scale_last[r]`` for a short last batch). The replicas
        come in groups that share a trial row, ``members[first[g]:first[g + 1]]``
        (:func:`trial_groups`): one thread a group (1.14x faster than a replica a thread),
        on-line a sample to each member in turn or an epoch a member (module docstring).
        """
        h, k = w1.shape[2], b2.shape[1]
        for g in prange(first.shape[0] - 1):
            group = members[first[g] : first[g + 1]]  # [m] replicas of trial row t
            t = trial_index[group[0]]
            a1 = np.empty(h, dtype=w1.dtype)
            d1 = np.empty(h, dtype=w1.dtype)
            z2 = np.empty(k, dtype=w1.dtype)
            if batch == 1:
                if output_major:
                    _online_by_member(w1, b1, w2, b2, x, cols, counts, y, order, t, group,
                                      scale_full, act, loss, one, a1, d1, z2)  # fmt: skip
                else:
                    _online_by_sample(w1, b1, w2, b2, x, cols, counts, y, order, t, group,
                                      scale_full, act, loss, one, a1, d1, z2)  # fmt: skip
            else:
                _batches(w1, b1, w2, b2, x[t], cols[t], counts[t], y[t], order[t], group,
                         scale_full, scale_last, batch, act, loss, one, output_major, a1, d1,
                         z2)  # fmt: skip

    return epoch


@njit(cache=True, fastmath=_FASTMATH, inline="always")
def _online_by_member(w1, b1, w2, b2, x, cols, counts, y, order, t, group, scale_full, act,
                      loss, one, a1, d1, z2):  # fmt: skip
    """On-line epoch of one trial's ``group`` with output-major ``w2``: an epoch a member.

    Each member takes all of the epoch's samples before the next starts, so its
    weights stay in L1 (module docstring); the members' updates are independent.
    """
    for r in group:
        for s in range(order.shape[1]):
            i = order[t, s]
            _present(w1[r], b1[r], w2[r], b2[r], x[t, i], cols[t, i, : counts[t, i]], y[t, i],
                     scale_full[r], act, loss, one, True, a1, d1, z2)  # fmt: skip


@njit(cache=True, fastmath=_FASTMATH, inline="always")
def _online_by_sample(w1, b1, w2, b2, x, cols, counts, y, order, t, group, scale_full, act,
                      loss, one, a1, d1, z2):  # fmt: skip
    """On-line epoch of one trial's ``group`` with hidden-major ``w2``: a sample to each member."""
    for s in range(order.shape[1]):
        i = order[t, s]
        xi, nonzero, label = x[t, i], cols[t, i, : counts[t, i]], y[t, i]
        for r in group:
            _present(w1[r], b1[r], w2[r], b2[r], xi, nonzero, label, scale_full[r], act, loss,
                     one, False, a1, d1, z2)  # fmt: skip


_EPOCH = {major: _epoch_kernel(major) for major in (False, True)}


@njit(cache=True, fastmath=_FASTMATH, inline="always")
def _batches(w1, b1, w2, b2, x, cols, counts, y, order, group, scale_full, scale_last, batch, act,
             loss, one, output_major, a1, d1, z2):  # fmt: skip
    """One epoch in batches for the replicas ``group`` of one trial (rows ``x [n, d]``)."""
    n, m = order.shape[0], group.shape[0]
    g1 = np.zeros((m, w1.shape[1], w1.shape[2]), dtype=w1.dtype)  # batch sums per member
    gb1 = np.zeros((m, b1.shape[1]), dtype=w1.dtype)
    g2 = np.zeros((m, w2.shape[1], w2.shape[2]), dtype=w1.dtype)
    gb2 = np.zeros((m, b2.shape[1]), dtype=w1.dtype)
    for start in range(0, n, batch):
        stop = min(start + batch, n)
        for s in range(start, stop):
            i = order[s]
            xi, nonzero, label = x[i], cols[i, : counts[i]], y[i]
            for q in range(m):
                r = group[q]
                scale = scale_full[r] if stop - start == batch else scale_last[r]
                _sample(
                    w1[r], b1[r], w2[r], b2[r], g1[q], gb1[q], g2[q], gb2[q],
                    xi, nonzero, label, scale, act, loss, one, output_major, a1, d1, z2,
                )  # fmt: skip
        for q in range(m):
            r = group[q]
            _apply(w1[r], g1[q])
            _apply(b1[r], gb1[q])
            _apply(w2[r], g2[q])
            _apply(b2[r], gb2[q])


class FusedTrainer:
    """Trains the active replicas one epoch at a time with the numba kernel (CPU only)."""

    def __init__(self, problem: Problem) -> None:
        np_dtype = torch.empty((), dtype=problem.dtype).numpy().dtype
        self._x = np.ascontiguousarray(problem.x_train, dtype=np_dtype)  # [T, n, d]
        self._y = np.ascontiguousarray(problem.y_train, dtype=np.int64)  # [T, n]
        self._cols, self._counts = nonzero_inputs(self._x)
        self._batch = problem.batch_rows
        self._reduction = problem.reduction
        self._act = ACTIVATION_CODES[problem.spec.activation]
        self._loss = LOSS_CODES[problem.spec.loss]
        self._one = np_dtype.type(1)
        self._output_major = problem.n_classes < OUTPUT_MAJOR_BELOW[np_dtype]
        self._epoch = _EPOCH[self._output_major]
        self._groups: tuple[np.ndarray, tuple[np.ndarray, np.ndarray]] | None = None
        self._compile()

    def _compile(self) -> None:
        """Compile (or load from cache) the kernel for this dtype before the clock starts."""
        dtype, d = self._x.dtype, self._x.shape[2]
        shapes = ((0, d, 1), (0, 1), (0, 1, 1), (0, 1))
        no_replicas = [np.empty(shape, dtype=dtype) for shape in shapes]  # w1, b1, w2, b2
        none, no_rows = np.empty(0, dtype=dtype), np.empty(0, dtype=np.int64)
        self._epoch(
            *no_replicas, self._x, self._cols, self._counts, self._y,
            np.empty((0, 0), dtype=np.int64), no_rows, no_rows,
            np.zeros(1, dtype=np.int64), none, none, self._batch, self._act, self._loss, self._one,
        )  # fmt: skip

    def train_epoch(self, replicas: Replicas, orders: np.ndarray) -> None:
        """One epoch of every replica in ``replicas``; ``orders [T, n]`` per trial row."""
        dtype = self._x.dtype
        full, last = step_scales(replicas.lr, self._batch, self._x.shape[1], self._reduction)
        w1, b1, w2, b2 = (p.numpy() for p in replicas.params)
        w2_kernel = np.ascontiguousarray(w2.transpose(0, 2, 1)) if self._output_major else w2
        self._epoch(
            w1,
            b1,
            w2_kernel,
            b2,
            self._x,
            self._cols,
            self._counts,
            self._y,
            np.ascontiguousarray(orders, dtype=np.int64),
            replicas.trial_index,
            *self._trial_groups(replicas.trial_index),
            full.astype(dtype),
            last.astype(dtype),
            self._batch,
            self._act,
            self._loss,
            self._one,
        )
        if self._output_major:
            w2[...] = w2_kernel.transpose(0, 2, 1)

    def _trial_groups(self, trial_index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:func:`trial_groups` of the active replicas, kept until they change."""
        if self._groups is None or self._groups[0] is not trial_index:
            self._groups = trial_index, trial_groups(trial_index)
        return self._groups[1]


def nonzero_inputs(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(cols [T, n, d], counts [T, n])``: the inputs of each row of ``x [T, n, d]`` that are
    not zero, ``cols[t, i, :counts[t, i]]`` in increasing order (the rest unused); every
    input, as if none were zero, when fewer than :data:`SPARSE_MIN_SHARE` of them are."""
    nonzero = x != 0
    if 1 - nonzero.mean() < SPARSE_MIN_SHARE:
        nonzero[...] = True
    counts = nonzero.sum(axis=2)
    cols = np.argsort(~nonzero, axis=2, kind="stable")  # nonzero columns first, in order
    return cols.astype(np.int64), counts.astype(np.int64)


def trial_groups(trial_index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(members, first)``: replica positions grouped by trial row, group g at
    ``members[first[g]:first[g + 1]]``, in order of trial row and position."""
    members = np.argsort(trial_index, kind="stable")  # [Ra]
    starts = np.flatnonzero(np.diff(trial_index[members], prepend=-1))  # [G]
    return members.astype(np.int64), np.append(starts, len(members)).astype(np.int64)


def set_threads(threads: int) -> int:
    """Set numba's thread count (at most its pool size) and return the value used."""
    used = min(threads, numba.config.NUMBA_NUM_THREADS)
    numba.set_num_threads(used)
    return used
