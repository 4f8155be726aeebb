"""What is scored when (engine/schedule.py, stopping.LossBound): sparse curves, same measures.

The training split is scored on a log-spaced schedule and the test split where
the metrics read it; the hold-out split every epoch. These tests hold the
sparse run to a dense one (every split scored every epoch): the same hold-out
curve, the same values wherever the sparse run has one, and the same metrics.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import TRITON_DEVICE, needs_triton

from batch_inefficiency.engine import EngineSettings, train
from batch_inefficiency.engine import loop as engine_loop
from batch_inefficiency.engine.contract import Replicas
from batch_inefficiency.engine.schedule import HoldPeaks, train_curve_epochs
from batch_inefficiency.engine.stopping import LossBound
from batch_inefficiency.models import ModelSpec
from batch_inefficiency.studies.replication.metrics import majority_share, stalled, summarise_task
from batch_inefficiency.studies.replication.runs import tidy_tables


class EveryEpoch(HoldPeaks):
    """The dense reference: test accuracy of every active replica at every epoch."""

    def update(self, epoch, active, hold_acc, done):
        self._curve[active.ids, epoch] = self._score(active)


@pytest.fixture
def dense(monkeypatch):
    """Train with every split scored every epoch."""

    def run(data, settings):
        with monkeypatch.context() as patch:
            patch.setattr(engine_loop, "HoldPeaks", EveryEpoch)
            patch.setattr(engine_loop, "train_curve_epochs", lambda n: np.ones(n + 1, dtype=bool))
            return train(data, settings)

    return run


def test_train_curve_epochs_are_the_r5_series():
    on = train_curve_epochs(10_000)
    assert list(np.flatnonzero(on)[:14]) == [0, 1, 2, 3, 4, 6, 10, 16, 25, 40, 63, 100, 158, 251]
    assert on.sum() == 22 and on[10_000]  # 0, and 1 to 10,000 at five a decade
    assert list(np.flatnonzero(train_curve_epochs(5))) == [0, 1, 2, 3, 4]


CASES = {
    "online-sigmoid": dict(batch_size=1, learning_rates=(2.0, 0.3, 0.02), patience=6),
    "batch-relu-ce": dict(
        batch_size="full",
        learning_rates=(300.0, 3.0, 0.3),
        model=ModelSpec(activation="relu", loss="cross_entropy"),
    ),
    "batch3-tanh": dict(batch_size=3, learning_rates=(1.0, 0.1, 0.01), model=ModelSpec("tanh")),
    "batch2-target": dict(batch_size=2, learning_rates=(3.0, 0.3, 0.03), target=0.5, patience=4),
    "triton-online": dict(
        path="triton",
        device=TRITON_DEVICE,
        batch_size=1,
        learning_rates=(2.0, 0.3, 0.02),
        patience=3,
        epochs=(8, 11, 15),
    ),
}
# every case, the Triton path's where triton is installed (interpreted on the CPU)
CASE_IDS = [pytest.param(c, marks=needs_triton) if "triton" in c else c for c in CASES]
# (learned_margin, loss_drop) of the metrics: the defaults, and a strict pair under
# which many replicas stall, so the stalled rule's reading of the loss is exercised
METRICS = ((0.01, 0.01), (0.3, 0.3))


@pytest.mark.parametrize("case", CASE_IDS)
def test_sparse_curves_give_the_measures_of_dense_ones(case, dense, make_data):
    data = make_data(trials=(0, 1, 2), n_train=30, n_hold=11, n_test=9)
    base = {"epochs": (20, 30, 45), "device": "cpu", "threads": 1}
    settings = EngineSettings(**(base | CASES[case]))
    sparse, full = train(data, settings), dense(data, settings)
    a, b = sparse.records, full.records
    np.testing.assert_array_equal(a.hold_acc, b.hold_acc)
    np.testing.assert_array_equal(a.status, b.status)
    np.testing.assert_array_equal(a.target_epoch, b.target_epoch)
    for name in ("train_loss", "train_acc", "test_acc"):
        have = ~np.isnan(getattr(a, name))
        np.testing.assert_array_equal(getattr(a, name)[have], getattr(b, name)[have])
    epoch = np.arange(a.hold_acc.shape[1])
    last = epoch == a.epochs_run[:, None]  # [R, E+1]
    assert not np.isnan(a.test_acc[last]).any() and not np.isnan(a.train_loss[last]).any()
    ended = np.isin(a.status, ["complete", "stopped_early"])  # the stalled rule's midpoint
    assert not np.isnan(a.train_loss[ended, a.epochs_run[ended] // 2]).any()
    scheduled = train_curve_epochs(a.hold_acc.shape[1] - 1) & (epoch <= a.epochs_run[:, None])
    assert not np.isnan(a.train_loss[scheduled]).any()
    assert np.isnan(a.test_acc).sum() > a.test_acc.size / 2  # sparse indeed
    baseline = majority_share(data.y_train, data.y_hold)
    for margin, drop in METRICS:
        tables = [
            summarise_task(*tidy_tables(run, "1"), 0.01, baseline, margin, drop)
            for run in (sparse, full)
        ]
        for table_a, table_b in zip(*tables, strict=True):
            wall = [c for c in table_a.columns if c.startswith("seconds")]
            pd.testing.assert_frame_equal(table_a.drop(columns=wall), table_b.drop(columns=wall))


def test_early_stops_at_either_parity_have_their_midpoint_scored(make_data):
    """Runs stopped early at odd and even epochs: the loss at last // 2 is there."""
    data = make_data(trials=(0, 1, 2), n_train=30, n_hold=11, n_test=9)
    lasts = set()
    for patience in (2, 3, 5):
        settings = EngineSettings(batch_size=1, learning_rates=(3.0, 0.001), epochs=60,
                                  patience=patience, device="cpu", threads=1)  # fmt: skip
        rec = train(data, settings).records
        early = rec.status == "stopped_early"
        assert not np.isnan(rec.train_loss[early, rec.epochs_run[early] // 2]).any()
        lasts |= set(rec.epochs_run[early] % 2)
    assert lasts == {0, 1}


def test_the_stalled_rule_reads_the_latest_loss_before_a_missing_midpoint():
    """A run that stopped at a target may lack its midpoint row: the epoch before it counts."""
    loss = [4.0, 3.0, np.nan, 3.0, np.nan, np.nan, 3.0]  # last 6, midpoint 3 scored
    run = pd.DataFrame({"train_loss": loss, "hold_acc": [0.1] * 7})
    assert stalled(run, baseline=0.1, learned_margin=0.01, loss_drop=0.01)
    gap = run.assign(train_loss=[4.0, 3.5, np.nan, np.nan, np.nan, np.nan, 3.0])  # reads 1
    assert not stalled(gap, baseline=0.1, learned_margin=0.01, loss_drop=0.01)


def replicas_at(epoch: int, ids: list[int]) -> Replicas:
    """Replicas whose weights say which epoch they are from."""
    n = len(ids)
    w = torch.full((n, 1, 1), float(epoch))
    return Replicas(w, w[:, 0], w, w[:, 0], np.zeros(n), np.arange(n), np.asarray(ids))


def test_kept_epochs_are_new_peaks_and_ties_with_new_patterns():
    curve = np.full((2, 6), np.nan)
    tests = HoldPeaks(np.zeros(2, dtype=np.int64), 10, lambda r: r.w1[:, 0, 0].numpy(), curve)
    counts = [(3, 3), (4, 3), (3, 4), (4, 3), (2, 4), (4, 3)]  # per-trial hold-out counts
    for epoch, pair in enumerate(counts):
        done = np.full(2, epoch == 5)
        tests.update(epoch, replicas_at(epoch, [0, 1]), np.asarray(pair) / 10, done)
        if epoch < 5:
            assert np.isnan(curve).all()  # kept, scored when the rate stops
    # epoch 0 is superseded by the peak at 1; 2 ties it with a new pattern; 3 repeats 1's
    # pattern, 4 is lower; 5 is the last epoch
    assert list(np.flatnonzero(~np.isnan(curve[0]))) == [1, 2, 5]
    assert list(curve[0, [1, 2, 5]]) == [1, 2, 5]


def test_loss_bound_spares_the_loss_only_where_it_cannot_diverge():
    bound = LossBound(13.0, n_inputs=4, hidden=8, max_input=1.0, bounded_hidden=True,
                      finite_below=1e32)  # fmt: skip
    limit = np.full(4, 1e3)
    magnitude = np.array([0.5, 2e31, np.inf, 2.0])  # 2e31 x (8 + 1) > 1e32
    assert list(bound.safe(magnitude, limit)) == [True, False, False, True]
    assert not bound.safe(magnitude[:1], np.array([20.0])).any()  # limit below 2 x k/2
    assert not replace(bound, max_loss=None).safe(magnitude[:1], limit[:1]).any()
    relu = replace(bound, bounded_hidden=False)
    assert list(relu.safe(np.array([1e10, 1e16]), limit[:2])) == [True, False]


def test_a_low_divergence_factor_scores_the_loss_every_epoch(make_data):
    settings = EngineSettings(
        batch_size=2, learning_rates=(0.3,), epochs=12, device="cpu", divergence_factor=1.5
    )
    rec = train(make_data(), settings).records
    assert not np.isnan(rec.train_loss).any()  # limit 1.5 x ~k/8 < k: the rule reads the loss
    default = train(make_data(), replace(settings, divergence_factor=1e3)).records
    assert np.isnan(default.train_loss[:, [5, 7, 8, 9, 11]]).all()
    np.testing.assert_array_equal(default.hold_acc, rec.hold_acc)


def test_timing_separates_the_kernel_from_scoring(make_data):
    run = train(make_data(), EngineSettings(batch_size=1, learning_rates=(0.3,), epochs=5))
    timing = run.info["timing"]
    assert 0 < timing["kernel_seconds"] <= timing["train_seconds"]
    assert timing["train_seconds"] == run.records.seconds[0, -1]
