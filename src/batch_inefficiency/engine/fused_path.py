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

Any other update rule (optimizers.py: momentum, Nesterov, Adam, weight decay)
runs in kernels of its own (:func:`_optimizer_kernel`), so the plain SGD kernels
above stay as they were. Each thread trains its group's members one after the
other, an epoch a member, so one member's weights, gradient and state stay in
L1. In batches, :func:`_sample` accumulates the member's batch gradient (deltas
scaled by 1 or 1/|B|) and :func:`_step_sums` steps its weights and state element
by element, in torch.optim's order of operations. On-line, plain steps with
weight decay and momentum step each element where its gradient ``u ⊗ v`` is
computed (:func:`_step_outer`: no gradient array written and read back, momentum
1.2x faster), while Adam takes the batch route, whose flat loops run its square
roots and divisions in full vectors (letter's rows of 26 outputs left scalar
tails: 1.3x slower). The rule is a run-time code (:data:`RULE_CODES`) tested once
per parameter and step, outside the element loops, and the decay term ``λ w`` is
added with λ = 0 too (for finite weights it adds nothing): tested inside the
loops, λ and Nesterov's flag cost momentum a fifth of its speed.

The building blocks (glibc's expf, activations, vector products, one sample's deltas and
gradient) are in fused_math.py, the kernels of the other update rules in
fused_optimizers.py; this module holds plain SGD's epoch kernels and the trainer.
"""

from __future__ import annotations

from collections.abc import Sequence

import numba
import numpy as np
import torch
from numba import njit, prange

from .contract import ACTIVATION_CODES, LOSS_CODES, Problem, Replicas, delta_scales
from .fused_math import _FASTMATH, _apply, _present, _sample
from .fused_optimizers import _OPTIMIZER_EPOCH, RULE_CODES, optimizer_constants

# Skip zero inputs when at least this share of a task's training inputs are zero.
SPARSE_MIN_SHARE = 0.5
# Output-major w2 for fewer outputs than this (the reduction's vector width, module docstring).
OUTPUT_MAJOR_BELOW = {np.dtype(np.float32): 8, np.dtype(np.float64): 4}


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
        self._update = update = problem.update
        self._epoch = (_EPOCH if update.plain else _OPTIMIZER_EPOCH)[self._output_major]
        self._rule = (
            ()
            if update.plain
            else (  # the optimizer kernel's last arguments but lr
                RULE_CODES[update.rule],
                optimizer_constants(update, np_dtype),
                np.array(update.betas, dtype=np.float64),
            )
        )
        self._groups: tuple[np.ndarray, tuple[np.ndarray, np.ndarray]] | None = None
        self._compile()

    def _compile(self) -> None:
        """Compile (or load from cache) the kernel for this dtype before the clock starts."""
        dtype, d = self._x.dtype, self._x.shape[2]
        shapes = ((0, d, 1), (0, 1), (0, 1, 1), (0, 1))
        no_replicas = [np.empty(shape, dtype=dtype) for shape in shapes]  # w1, b1, w2, b2
        n_slots = len(self._update.state_names)
        no_state = [np.empty((n_slots, *shape), dtype=dtype) for shape in shapes]
        state = () if self._update.plain else (*no_state, np.empty(0, dtype=np.int64))
        none, no_rows = np.empty(0, dtype=dtype), np.empty(0, dtype=np.int64)
        self._run(
            no_replicas, state, np.empty((0, 0), dtype=np.int64), no_rows,
            (no_rows, np.zeros(1, dtype=np.int64)), none, none, np.empty(0),
        )  # fmt: skip

    def train_epoch(self, replicas: Replicas, orders: np.ndarray) -> None:
        """One epoch of every replica in ``replicas``; ``orders [T, n]`` per trial row."""
        dtype = self._x.dtype
        full, last = delta_scales(
            self._update, replicas.lr, self._batch, self._x.shape[1], self._reduction
        )
        w1, b1, w2, b2 = (p.numpy() for p in replicas.params)
        w2_kernel = self._kernel_layout(w2)
        state: tuple[np.ndarray, ...] = ()
        if replicas.optimizer_state is not None:
            s1, sb1, s2, sb2 = (s.numpy() for s in replicas.optimizer_state.slots)
            s2_kernel = self._kernel_layout(s2)
            state = (s1, sb1, s2_kernel, sb2, replicas.optimizer_state.steps.numpy())
        self._run(
            (w1, b1, w2_kernel, b2),
            state,
            np.ascontiguousarray(orders, dtype=np.int64),
            replicas.trial_index,
            self._trial_groups(replicas.trial_index),
            full.astype(dtype),
            last.astype(dtype),
            replicas.lr,
        )
        if self._output_major:
            w2[...] = np.swapaxes(w2_kernel, -1, -2)
            if state:
                s2[...] = np.swapaxes(s2_kernel, -1, -2)

    def _run(
        self,
        weights: Sequence[np.ndarray],
        state: tuple[np.ndarray, ...],
        orders: np.ndarray,
        trial_index: np.ndarray,
        groups: tuple[np.ndarray, np.ndarray],
        full: np.ndarray,
        last: np.ndarray,
        lr: np.ndarray,
    ) -> None:
        """The epoch kernel; ``state`` (optimizer state and steps) and ``lr`` are the optimizer
        kernel's alone (unused for plain SGD)."""
        rule = (lr, *self._rule) if self._rule else ()
        self._epoch(
            *weights, *state, self._x, self._cols, self._counts, self._y, orders, trial_index,
            *groups, full, last, self._batch, self._act, self._loss, self._one, *rule,
        )  # fmt: skip

    def _kernel_layout(self, w2: np.ndarray) -> np.ndarray:
        """``w2 [..., h, k]`` as the kernel holds it: ``[..., k, h]``, output-major."""
        return np.ascontiguousarray(np.swapaxes(w2, -1, -2)) if self._output_major else w2

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
