"""numpy's seeded permutation, compiled: SeedSequence, PCG64 and Generator.permutation in numba.

Every training epoch draws one presentation order per trial,
``np.random.default_rng(SeedSequence(seed, spawn_key)).permutation(n)``
(seeds.epoch_permutation). numpy spends about 8 µs building the seed sequence
and the bit generator before it draws, a fifth of a small task's epoch. Here the
same three steps run compiled, for all trials of an epoch in one call, and give
the same orders: numpy's SeedSequence (pool of 4 words, its hash and mix
constants), PCG64 (128-bit LCG, XSL-RR output, seeded from 4 state words) and
Generator.permutation (Fisher-Yates from the last position, each index drawn by
masked rejection from 32-bit halves of the 64-bit outputs, low half first; numpy
draws whole 64-bit outputs past 2^32 rows, so more rows are refused).
tests/test_permutation.py holds them equal to numpy's for many seeds, trials,
epochs and sizes.
"""

from __future__ import annotations

import numpy as np
from numba import njit

_U32 = np.uint64(0xFFFFFFFF)
# SeedSequence's hash and mix constants (numpy/random/bit_generator.pyx)
_INIT_A, _MULT_A = np.uint64(0x43B0D7E5), np.uint64(0x931E8875)
_INIT_B, _MULT_B = np.uint64(0x8B51F9DD), np.uint64(0x58F38DED)
_MIX_L, _MIX_R = np.uint64(0xCA01F9DD), np.uint64(0x4973F715)
_XSHIFT = np.uint64(16)
_POOL = 4
# PCG64's multiplier, high and low 64 bits
_MUL_HI, _MUL_LO = np.uint64(0x2360ED051FC65DA4), np.uint64(0x4385DF649FCCF645)


def words(value: int) -> list[int]:
    """The 32-bit words of a non-negative int, least significant first ([0] for 0), as numpy's
    SeedSequence splits its entropy and spawn keys."""
    out = [value & 0xFFFFFFFF]
    value >>= 32
    while value:
        out.append(value & 0xFFFFFFFF)
        value >>= 32
    return out


def assembled_entropy(base_seed: int, *keys: int) -> np.ndarray:
    """SeedSequence(base_seed, spawn_key=keys)'s assembled entropy (uint64 holding 32-bit
    words): the seed's words padded with zeros to the pool size, then each key's words."""
    seed = words(base_seed)
    padded = seed + [0] * max(0, _POOL - len(seed))
    return np.array(padded + [w for key in keys for w in words(key)], dtype=np.uint64)


# SeedSequence's arithmetic is on uint32; here on uint64 (numba widens integers), each
# result cut back to its low 32 bits.
@njit(cache=True, inline="always")
def _hashmix(value, hash_const):
    value ^= hash_const[0]
    hash_const[0] = (hash_const[0] * _MULT_A) & _U32
    value = (value * hash_const[0]) & _U32
    return value ^ (value >> _XSHIFT)


@njit(cache=True, inline="always")
def _mix(x, y):
    result = (_MIX_L * x - _MIX_R * y) & _U32
    return result ^ (result >> _XSHIFT)


@njit(cache=True)
def _pool(entropy):
    """SeedSequence's mixed pool of 4 words from the assembled ``entropy``."""
    hash_const = np.array([_INIT_A], dtype=np.uint64)
    pool = np.zeros(_POOL, dtype=np.uint64)
    for i in range(_POOL):
        pool[i] = _hashmix(entropy[i] if i < entropy.shape[0] else np.uint64(0), hash_const)
    for src in range(_POOL):
        for dst in range(_POOL):
            if src != dst:
                pool[dst] = _mix(pool[dst], _hashmix(pool[src], hash_const))
    for src in range(_POOL, entropy.shape[0]):
        for dst in range(_POOL):
            pool[dst] = _mix(pool[dst], _hashmix(entropy[src], hash_const))
    return pool


@njit(cache=True)
def _state_words(pool):
    """SeedSequence.generate_state(4, np.uint64): 8 words of 32 bits paired little-endian."""
    hash_const = _INIT_B
    out = np.zeros(4, dtype=np.uint64)
    for i in range(8):
        value = pool[i % _POOL] ^ hash_const
        hash_const = (hash_const * _MULT_B) & _U32
        value = (value * hash_const) & _U32
        value ^= value >> _XSHIFT
        out[i // 2] |= value << np.uint64(32 * (i % 2))
    return out


@njit(cache=True, inline="always")
def _mul64(a, b):
    """The 128-bit product of two uint64, as (high, low)."""
    a_lo, a_hi, b_lo, b_hi = a & _U32, a >> np.uint64(32), b & _U32, b >> np.uint64(32)
    low_low, low_high, high_low = a_lo * b_lo, a_lo * b_hi, a_hi * b_lo
    mid = (low_low >> np.uint64(32)) + (low_high & _U32) + (high_low & _U32)
    low = (low_low & _U32) | (mid << np.uint64(32))
    high = a_hi * b_hi + (low_high >> np.uint64(32)) + (high_low >> np.uint64(32))
    return high + (mid >> np.uint64(32)), low


@njit(cache=True, inline="always")
def _step(high, low, inc_high, inc_low):
    """PCG64's LCG step, state x multiplier + increment (mod 2^128): the new (high, low)."""
    top, bottom = _mul64(low, _MUL_LO)
    top += high * _MUL_LO + low * _MUL_HI
    bottom += inc_low
    return top + inc_high + (np.uint64(1) if bottom < inc_low else np.uint64(0)), bottom


@njit(cache=True, inline="always")
def _add(high, low, add_high, add_low):
    """(high, low) + (add_high, add_low) mod 2^128."""
    low += add_low
    return high + add_high + (np.uint64(1) if low < add_low else np.uint64(0)), low


@njit(cache=True, inline="always")
def _output(high, low):
    """PCG64's XSL-RR output of a state: its halves xor-ed, rotated right by its top 6 bits."""
    mixed = high ^ low
    rot = high >> np.uint64(58)
    return (mixed >> rot) | (mixed << ((np.uint64(64) - rot) & np.uint64(63)))


@njit(cache=True)
def _permute(seed, out):
    """Generator(PCG64(seed)).permutation(n) into ``out [n]``, ``seed`` the 4 state words
    of SeedSequence.generate_state(4, np.uint64): Fisher-Yates from the end, each index
    drawn by masked rejection from 32-bit halves of PCG64's outputs, low half first."""
    inc_high = (seed[2] << np.uint64(1)) | (seed[3] >> np.uint64(63))
    inc_low = (seed[3] << np.uint64(1)) | np.uint64(1)
    high, low = _step(np.uint64(0), np.uint64(0), inc_high, inc_low)
    high, low = _add(high, low, seed[0], seed[1])
    high, low = _step(high, low, inc_high, inc_low)
    n = out.shape[0]
    for i in range(n):
        out[i] = i
    spare, has_spare = np.uint64(0), False
    for i in range(n - 1, 0, -1):
        top = np.uint64(i)
        mask = top
        for shift in (1, 2, 4, 8, 16, 32):
            mask |= mask >> np.uint64(shift)
        while True:  # uniform on [0, mask], kept when <= top
            if has_spare:
                draw, has_spare = spare, False
            else:
                high, low = _step(high, low, inc_high, inc_low)
                full = _output(high, low)
                draw, spare, has_spare = full & _U32, full >> np.uint64(32), True
            draw &= mask
            if draw <= top:
                break
        j = np.int64(draw)
        out[i], out[j] = out[j], out[i]


@njit(cache=True)
def fill_permutations(entropies, lengths, rows, out):
    """``out[t] =`` the permutation of the stream whose assembled entropy is
    ``entropies[t, :lengths[t]]`` (:func:`assembled_entropy`), for each ``t`` in ``rows``."""
    for t in rows:
        _permute(_state_words(_pool(entropies[t, : lengths[t]])), out[t])


def check_rows(n: int) -> None:
    """Refuse what the 32-bit draws cannot permute as numpy does: more than 2^32 rows."""
    if n > 2**32:
        raise ValueError(f"at most 2^32 rows can be permuted, got {n}")
