"""Evaluation of the replicas: training loss and accuracy, hold-out and test accuracy.

Shared by all paths: whatever trained the weights, they are scored here with the
same chunked batched products (``chunk_rows`` rows at a time), so the curves of
different paths are comparable. Each split is scored only at the epochs that
need it (docs/design.md §8), and then for all active replicas together, as an
every-epoch run scores them (the float32 rounding of the batched products may
depend on how many replicas share a call): :class:`EpochScores` holds one
epoch's scores, the hold-out accuracy of every active replica and, where asked
for, their training scores; test accuracy is scored where schedule.py asks."""

from __future__ import annotations

import numpy as np
import torch

from batch_inefficiency.models import ACTIVATIONS, LOSSES, ModelSpec

from .contract import Replicas, Tensor, hidden


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
        self._kept: tuple[tuple[int, bytes], list[tuple[Tensor, Tensor]]] | None = None
        self._act = ACTIVATIONS[spec.activation]
        self._loss = LOSSES[spec.loss]

    def train(self, replicas: Replicas) -> tuple[np.ndarray, np.ndarray]:
        """``[Ra]`` mean loss and ``[Ra]`` accuracy of ``replicas`` on the training split."""
        return self._split(replicas, 0)

    def hold(self, replicas: Replicas) -> np.ndarray:
        """``[Ra]`` accuracy of ``replicas`` on the hold-out split."""
        return self._split(replicas, 1)[1]

    def test(self, replicas: Replicas) -> np.ndarray:
        """``[Ra]`` accuracy of ``replicas`` on the test split."""
        return self._split(replicas, 2)[1]

    @property
    def n_hold(self) -> int:
        """Instances in the hold-out split."""
        return self._x[1].shape[1]

    def _split(self, replicas: Replicas, split: int) -> tuple[np.ndarray, np.ndarray]:
        """(mean loss, accuracy) per replica on one split; the loss on the training split only."""
        w1, b1, w2, b2 = replicas.params
        n = self._x[split].shape[1]
        loss = torch.zeros(len(replicas.ids), dtype=torch.float64, device=w1.device)
        correct = torch.zeros(len(replicas.ids), dtype=torch.int64, device=w1.device)
        for chunk, (x, y) in enumerate(self._rows(replicas, split)):
            a1 = hidden(x, w1, b1, self._act)  # [Ra, c, h]
            z2 = torch.baddbmm(b2[:, :, None], w2.transpose(1, 2), a1.transpose(1, 2))  # [Ra, k, c]
            correct += (z2.gather(1, y) >= z2.amax(1, keepdim=True)).sum((1, 2))
            if split == 0:
                index = torch.from_numpy(replicas.trial_index).to(w1.device)
                start = chunk * self._chunk
                t = self._t_train[:, :, start : start + self._chunk].index_select(0, index)
                loss += self._loss.summed(z2.transpose(1, 2), t.transpose(1, 2)).double()
        return (loss / n).cpu().numpy(), (correct.double() / n).cpu().numpy()

    def _rows(self, replicas: Replicas, split: int) -> list[tuple[Tensor, Tensor]]:
        """Each chunk's inputs ``[Ra, c, d]`` and labels ``[Ra, 1, c]`` of the replicas' trials.

        The hold-out split's are kept while the active set stays the same: it is
        scored every epoch, and gathering them was a seventh of its cost.
        """
        key = (split, replicas.trial_index.tobytes())
        if self._kept is not None and self._kept[0] == key:
            return self._kept[1]
        index = torch.from_numpy(replicas.trial_index).to(replicas.w1.device)
        xs, ys = self._x[split], self._y[split]
        rows = [
            (
                xs[:, start : start + self._chunk].index_select(0, index),  # [Ra, c, d]
                ys[:, start : start + self._chunk].index_select(0, index)[:, None],  # [Ra, 1, c]
            )
            for start in range(0, xs.shape[1], self._chunk)
        ]
        if split == 1:
            self._kept = key, rows
        return rows


class EpochScores:
    """One epoch's scores of the active replicas, each computed at most once.

    The hold-out accuracy of every replica is computed on creation; the training
    loss and accuracy when :meth:`score_train` is first asked for any replica
    (NaN before, and ``scored`` false).
    """

    def __init__(self, evaluator: Evaluator, active: Replicas) -> None:
        self._evaluator = evaluator
        self._active = active
        self.hold_acc = evaluator.hold(active)  # [Ra]
        self.train_loss = np.full(len(active.ids), np.nan)  # [Ra]
        self.train_acc = np.full(len(active.ids), np.nan)  # [Ra]
        self.scored = np.zeros(len(active.ids), dtype=bool)  # [Ra] training scores computed

    def score_train(self, wanted: np.ndarray) -> None:
        """Compute the training loss and accuracy if any of the ``wanted [Ra]`` replicas lacks them.

        All active replicas are scored together, never a subset: the batched
        products' float32 rounding may depend on how many replicas share a call
        (the torch path's reductions), and scored with all of them each value is
        exactly the one an every-epoch run records.
        """
        if not (wanted & ~self.scored).any():
            return
        self.train_loss[:], self.train_acc[:] = self._evaluator.train(self._active)
        self.scored[:] = True
