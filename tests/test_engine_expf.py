"""The fused kernel's float32 exponential equals libm's ``expf`` bit for bit.

fused_math._expf writes out glibc's expf so that LLVM can vectorise the
sigmoid loops; the kernel's float32 results stay those of ``np.exp`` only if it
returns the same bits. On Linux x86-64 with FMA (glibc picks its FMA build
there) it is compared with numba's ``np.exp`` (a call to libm's expf) on every
4,099th bit pattern and the edge cases; ``BI_EXPF_EXHAUSTIVE=1`` checks all
2^32 (about 15 minutes on 2 cores). Elsewhere only its accuracy is checked.
"""

from __future__ import annotations

import os
import platform
from pathlib import Path

import numpy as np
import pytest
from numba import njit

from batch_inefficiency.engine.fused_math import _expf

STRIDE = 1 if os.environ.get("BI_EXPF_EXHAUSTIVE") == "1" else 4099
EDGES = np.array(
    [0.0, -0.0, 1.0, -1.0, 88.0, 88.72283, 88.7229, -103.0, -103.28, -103.5, -103.97,
     -104.0, np.inf, -np.inf, np.nan, 1e-30, -1e-30, 3.4e38, -3.4e38, 1e-45],
    dtype=np.float32,
)  # fmt: skip


def glibc_fma_expf() -> bool:
    """Whether libm's expf is glibc's FMA build (x86-64 Linux, glibc >= 2.27, a CPU with FMA)."""
    libc, version = platform.libc_ver()
    cpuinfo = Path("/proc/cpuinfo")
    if libc != "glibc" or platform.machine() != "x86_64" or not cpuinfo.exists():
        return False
    has_fma = " fma " in cpuinfo.read_text()
    return has_fma and tuple(int(p) for p in version.split(".")[:2]) >= (2, 27)


@njit
def libm_expf(x):
    return np.exp(x)


@njit
def mismatches(stride: int, edges: np.ndarray) -> int:
    """Bit patterns 0, stride, 2 stride ... below 2^32, and ``edges``, where _expf != libm."""
    count = 0
    bits = np.empty(1, dtype=np.uint32)
    values = bits.view(np.float32)
    out = np.empty(2, dtype=np.float32)
    out_bits = out.view(np.uint32)
    n = (2**32 + stride - 1) // stride
    for i in range(n + edges.shape[0]):
        if i < n:
            bits[0] = np.uint32(i * stride)
        else:
            values[0] = edges[i - n]
        out[0] = _expf(values[0])
        out[1] = libm_expf(values[0])
        count += out_bits[0] != out_bits[1]
    return count


@pytest.mark.skipif(not glibc_fma_expf(), reason="libm's expf is not glibc's FMA build here")
def test_expf_has_libm_bits():
    assert mismatches(STRIDE, EDGES) == 0


@njit
def expf_of(x: np.ndarray) -> np.ndarray:
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        out[i] = _expf(x[i])
    return out


def test_expf_is_within_an_ulp_and_handles_the_edges():
    x = np.linspace(-110, 90, 200_001, dtype=np.float32)
    exact = np.exp(x.astype(np.float64))
    got = expf_of(x)
    finite = (exact > 1e-37) & (exact < 3e38)  # normal float32 results
    ulp = np.spacing(exact[finite].astype(np.float32)).astype(np.float64)
    assert (np.abs(got[finite] - exact[finite]) <= ulp).all()
    edges = expf_of(np.array([np.inf, -np.inf, np.nan, 89.0, -105.0, 0.0], dtype=np.float32))
    assert edges[0] == np.inf and edges[1] == 0 and np.isnan(edges[2])
    assert edges[3] == np.inf and edges[4] == 0 and edges[5] == 1
