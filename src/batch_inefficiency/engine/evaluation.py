"""Per-epoch evaluation of every active replica: training loss, accuracy on the three splits.

Shared by all paths: whatever trained the weights, they are scored here with the
same chunked batched products (``chunk_rows`` rows at a time), so the curves of
different paths are comparable.
"""

from __future__ import annotations

import numpy as np
import torch

from batch_inefficiency.models import ACTIVATIONS, LOSSES, ModelSpec

from .contract import Replicas, Scores, Tensor, hidden


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
        self._act = ACTIVATIONS[spec.activation]
        self._loss = LOSSES[spec.loss]

    def __call__(self, replicas: Replicas) -> Scores:
        """Scores of ``replicas`` on (train, hold-out, test)."""
        index = torch.from_numpy(replicas.trial_index).to(replicas.w1.device)
        (loss, train_acc), (_, hold_acc), (_, test_acc) = (
            self._split(replicas, index, split) for split in range(3)
        )
        return Scores(loss, train_acc, hold_acc, test_acc)

    def _split(
        self, replicas: Replicas, index: Tensor, split: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """(mean loss, accuracy) per replica on one split; the loss on the training split only."""
        w1, b1, w2, b2 = replicas.params
        xs, ys = self._x[split], self._y[split]
        n = xs.shape[1]
        loss = torch.zeros(len(index), dtype=torch.float64, device=index.device)
        correct = torch.zeros(len(index), dtype=torch.int64, device=index.device)
        for start in range(0, n, self._chunk):
            stop = start + self._chunk
            x = xs[:, start:stop].index_select(0, index)  # [Ra, c, d]
            a1 = hidden(x, w1, b1, self._act)  # [Ra, c, h]
            z2 = torch.baddbmm(b2[:, :, None], w2.transpose(1, 2), a1.transpose(1, 2))  # [Ra, k, c]
            y = ys[:, start:stop].index_select(0, index)[:, None]  # [Ra, 1, c]
            correct += (z2.gather(1, y) >= z2.amax(1, keepdim=True)).sum((1, 2))
            if split == 0:
                t = self._t_train[:, :, start:stop].index_select(0, index)  # [Ra, k, c]
                loss += self._loss.summed(z2.transpose(1, 2), t.transpose(1, 2)).double()
        return (loss / n).cpu().numpy(), (correct.double() / n).cpu().numpy()
