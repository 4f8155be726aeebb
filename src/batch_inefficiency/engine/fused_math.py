"""The fused kernels' building blocks: glibc's expf written out, activations, vector products
and one sample's forward pass, deltas and gradient (fused_path.py's docstring says why each
is written as it is). Every function is inlined into the epoch kernels that call it.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core.extending import intrinsic, overload

# fastmath flags that keep inf/NaN semantics (fused_path.py's docstring)
_FASTMATH = {"reassoc", "contract", "arcp", "nsz"}

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
def _deltas(w1, b1, w2, b2, x, nonzero, label, scale, act, loss, one, output_major, a1, d1, z2):
    """Forward and backward of one instance, reading the weights only: the hidden
    activations into ``a1``, the output deltas (times ``scale``) into ``z2`` and the hidden
    deltas into ``d1``. ``nonzero`` lists the inputs of ``x`` that are not zero: a zero
    input adds nothing to the hidden sums (module docstring). ``w2`` is ``[h, k]``, or
    ``[k, h]`` when ``output_major``.
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
    else:
        for j in range(h):  # hidden delta, from w2 before its update
            s = zero
            for c in range(k):
                s += w2[j, c] * z2[c]
            d1[j] = _times_slope(s, a1[j], act, one, zero)


@njit(cache=True, fastmath=_FASTMATH, inline="always")
def _sample(w1, b1, w2, b2, g1, gb1, g2, gb2, x, nonzero, label, scale, act, loss, one,
            output_major, a1, d1, z2):  # fmt: skip
    """Forward, backward and scaled gradient of one instance, added into the ``g*`` arrays.

    The ``g*`` are the weights themselves on-line, a batch accumulator
    otherwise: every weight is read (:func:`_deltas`) before any is written. A zero
    input adds nothing to its row of ``g1`` (module docstring). ``g2`` is laid out as
    ``w2``.
    """
    _deltas(w1, b1, w2, b2, x, nonzero, label, scale, act, loss, one, output_major, a1, d1, z2)
    if output_major:
        _add_outer(g2, z2, a1)
    else:
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
