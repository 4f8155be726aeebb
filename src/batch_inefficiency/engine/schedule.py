"""When the training and test splits are scored (the hold-out split is scored every epoch).

docs/design.md §8 and docs/run_format.md. The paper's measures read the
hold-out accuracy of every epoch, and the test accuracy only at each rate's
*epochs needed* (the first epoch where the rate's trial-mean hold-out accuracy
peaks; metrics.rate_summary) and, for a replica that stopped before that, at
its last epoch (metrics forward-fill). Scoring more than that is what made a
batch job mostly evaluation.

* Training loss and accuracy (:func:`train_curve_epochs`): at epoch 0, at the
  epochs of the R5 series 1, 2, 3, 4, 6, 10, 16, 25, 40, 63, 100, 158, ...
  (five a decade, 10^(i/5) rounded), at each replica's last epoch, at every
  epoch that may be the midpoint ``last // 2`` of a replica's run
  (:func:`midpoint_wanted`: metrics.stalled reads the loss there), and wherever
  the divergence rule needs the loss (stopping.py).
* Test accuracy (:class:`HoldPeaks`): the rate's trial-mean hold-out
  accuracy is known while it trains, so the weights at each epoch that may turn
  out to be its epochs needed are kept and scored when the rate has stopped.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .contract import Replicas

# R5 preferred numbers: five training-curve points a decade.
POINTS_PER_DECADE = 5
# Kept snapshots per rate before the oldest is scored at once (bounds memory).
MAX_SNAPSHOTS = 16


def train_curve_epochs(max_epochs: int) -> np.ndarray:
    """``[max_epochs + 1]`` bool: the epochs whose training loss and accuracy are always scored."""
    on = np.zeros(max_epochs + 1, dtype=bool)
    on[0] = True
    steps = int(np.ceil(POINTS_PER_DECADE * np.log10(max(max_epochs, 1)))) + 1
    epochs = np.rint(10 ** (np.arange(steps) / POINTS_PER_DECADE)).astype(np.int64)
    on[epochs[epochs <= max_epochs]] = True
    return on


def midpoint_wanted(epoch: int, may_end: Callable[[int], np.ndarray]) -> np.ndarray:
    """``[Ra]`` bool: the replicas for which ``epoch`` may be their run's midpoint.

    The stalled rule (metrics.stalled) reads the training loss at ``last // 2``
    of a run that ended at ``last``; ``epoch`` is that for a run ending at
    ``2 epoch`` or ``2 epoch + 1``. ``may_end(e)`` says which replicas still
    training could end at ``e`` as complete or stopped early
    (stopping.Stopper.may_end): a run's midpoint so always has its loss, except
    for runs that stopped at a target, which that rule's fallback covers.
    """
    return may_end(2 * epoch) | may_end(2 * epoch + 1)


class _Snapshot:
    """The active replicas' weights at one epoch; their test accuracy scored at most once.

    All active replicas are scored together, as an every-epoch run scores them
    (evaluation.EpochScores.score_train says why), whichever of them is wanted.
    """

    def __init__(self, epoch: int, replicas: Replicas, score: Callable[[Replicas], np.ndarray]):
        self.epoch = epoch
        self.ids = replicas.ids  # [Ra]
        self._replicas = replicas
        self._score = score
        self._acc: np.ndarray | None = None

    def test_acc(self) -> np.ndarray:
        """``[Ra]`` test accuracy of the replicas."""
        if self._acc is None:
            self._acc = self._score(self._replicas)
        return self._acc


class HoldPeaks:
    """Scores test accuracy at each rate's candidate epochs needed and each replica's last epoch.

    The metrics take a rate's epochs needed as the first epoch where its
    trial-mean hold-out accuracy is largest, the mean taken over all its trials
    with a stopped replica's last accuracy carried forward. Here the same mean
    is followed as the sum of correct counts, exactly: an epoch is a candidate
    when the sum exceeds every earlier one (a new peak), or equals the peak
    with a per-trial pattern of counts not seen at it (an equal sum of other
    values may round to a larger mean in floating point; an equal pattern
    cannot). The active replicas' weights at a candidate are kept (one copy an
    epoch, shared by the rates that want it); a new peak drops the older ones.
    When the rate has no replica left training, its kept weights are scored and
    the test accuracies of its replicas written at their epochs. The test curve
    so holds values at each replica's last epoch, at the epochs needed, and at
    later epochs that tie its peak with another pattern; if more than
    :data:`MAX_SNAPSHOTS` pile up, the oldest are scored at once.
    """

    def __init__(
        self,
        rate_index: np.ndarray,
        n_hold: int,
        score: Callable[[Replicas], np.ndarray],
        curve: np.ndarray,
    ) -> None:
        self._rate_of = rate_index  # [R]
        self._n_hold = n_hold
        self._score = score  # test accuracy [Ra] of some replicas
        self._curve = curve  # [R, E+1] test accuracy, written in place
        self._counts = np.zeros(len(rate_index), dtype=np.int64)  # [R] last hold-out count
        n_rates = int(rate_index.max()) + 1
        self._peak = np.full(n_rates, -1, dtype=np.int64)  # best sum of counts so far
        self._patterns: list[set[bytes]] = [set() for _ in range(n_rates)]  # seen at the peak
        self._kept: list[list[_Snapshot]] = [[] for _ in range(n_rates)]

    def update(self, epoch: int, active: Replicas, hold_acc: np.ndarray, done: np.ndarray) -> None:
        """After ``epoch``'s scores and stopping decisions (``hold_acc, done [Ra]``)."""
        ids = active.ids
        self._counts[ids] = np.rint(hold_acc * self._n_hold)
        rate_of = self._rate_of[ids]  # [Ra]
        kept: _Snapshot | None = None  # this epoch's copy of the weights, made once
        for rate in np.unique(rate_of):
            if self._candidate(rate):
                kept = kept or _Snapshot(epoch, active.keep(np.ones(len(ids), bool)), self._score)
                self._kept[rate].append(kept)
                if len(self._kept[rate]) > MAX_SNAPSHOTS:
                    self._write(self._kept[rate].pop(0), rate)
        if done.any():  # the weights now, scored now: no copy needed
            now = kept or _Snapshot(epoch, active, self._score)
            self._write(now, None, ids[done])
        training = set(rate_of[~done].tolist())
        for rate, snapshots in enumerate(self._kept):
            if rate not in training:
                for snapshot in snapshots:
                    self._write(snapshot, rate)
                snapshots.clear()

    def _candidate(self, rate: int) -> bool:
        """Whether this epoch may be ``rate``'s epochs needed (class docstring)."""
        pattern = self._counts[self._rate_of == rate]  # [trials], in replica order
        total, key = int(pattern.sum()), pattern.tobytes()
        if total > self._peak[rate]:
            self._peak[rate] = total
            self._patterns[rate] = {key}
            self._kept[rate].clear()
            return True
        if total == self._peak[rate] and key not in self._patterns[rate]:
            self._patterns[rate].add(key)
            return True
        return False

    def _write(self, snapshot: _Snapshot, rate: int | None, ids: np.ndarray | None = None) -> None:
        """Write the test accuracy of ``rate``'s replicas (or of ``ids``) in ``snapshot``.

        Only where the curve has no value yet; the snapshot is scored only then.
        """
        wanted = self._rate_of[snapshot.ids] == rate if ids is None else np.isin(snapshot.ids, ids)
        wanted &= np.isnan(self._curve[snapshot.ids, snapshot.epoch])  # [Ra]
        if wanted.any():
            self._curve[snapshot.ids[wanted], snapshot.epoch] = snapshot.test_acc()[wanted]
