"""The engine's target stop (issue 12): each replica stops when its own hold-out
accuracy first reaches ``settings.target``; the records keep the epoch and the step."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from batch_inefficiency.engine import EngineConfigError, EngineSettings, load_run, train
from batch_inefficiency.engine.contract import Replicas
from batch_inefficiency.engine.stopping import LossBound, Stopper


def settings(**changes) -> EngineSettings:
    base = {
        "batch_size": 2,
        "learning_rates": (0.5, 1e-12),
        "epochs": (40, 40),
        "device": "cpu",
        "threads": 1,
    }
    return EngineSettings(**(base | changes))


@pytest.mark.parametrize("path", ["torch", "fused"])
def test_each_replica_stops_at_the_first_epoch_it_reaches_the_target(path, make_data):
    data = make_data(trials=(0, 1, 2), n_train=40, n_hold=30)
    free = train(data, settings(path=path)).records  # no target: every replica runs 40 epochs
    target = float(np.nanmax(free.hold_acc[:3, 1:]) - 0.05)
    rec = train(data, settings(path=path, target=target)).records
    for r in range(len(rec.lr)):
        hits = np.flatnonzero(free.hold_acc[r] >= target)
        if hits.size:  # stops there, with the same curve up to then
            first = int(hits[0])
            assert rec.status[r] == "reached_target" and rec.epochs_run[r] == first
            assert rec.target_epoch[r] == first and rec.target_step[r] == first * 20
            shown = slice(0, first + 1)
            np.testing.assert_array_equal(rec.hold_acc[r, shown], free.hold_acc[r, shown])
            assert np.isnan(rec.hold_acc[r, first + 1 :]).all()
        else:  # never reached: runs its budget, marked -1
            assert rec.status[r] == "complete" and rec.epochs_run[r] == 40
            assert rec.target_epoch[r] == -1 and rec.target_step[r] == -1
    assert (rec.status[:3] == "reached_target").sum() >= 1  # the fast rate gets there
    assert (rec.status[3:] == "complete").all()  # a rate of 1e-12 does not move


def test_a_target_met_before_training_stops_at_epoch_zero(make_data):
    data = make_data(trials=(0,))
    rec = train(data, settings(target=1e-9, learning_rates=(0.5,), epochs=(5,))).records
    assert rec.status[0] == "reached_target" and rec.epochs_run[0] == 0
    assert rec.target_epoch[0] == 0 and rec.target_step[0] == 0


class Scored:
    """An epoch's scores as the stopper reads them (evaluation.EpochScores): fixed values."""

    def __init__(self, train_loss: np.ndarray, hold_acc: np.ndarray) -> None:
        self.train_loss, self.hold_acc = train_loss, hold_acc
        self.scored = np.zeros(len(hold_acc), dtype=bool)

    def score_train(self, wanted: np.ndarray) -> None:
        self.scored |= wanted


def test_divergence_wins_over_the_target():
    """A replica whose loss blows up in the epoch it reaches the target is diverged."""
    unbounded = LossBound(None, 1, 1, 1.0, True, 1e30)  # the rule always reads the loss
    stopper = Stopper(settings(target=0.5), np.array([0, 1]), np.array([40, 40]), unbounded)
    w = torch.zeros(2, 1, 1)
    active = Replicas(w, w[:, 0], w, w[:, 0], np.ones(2), np.zeros(2, dtype=np.int64), np.arange(2))
    assert not stopper(0, active, Scored(np.ones(2), np.array([0.1, 0.1]))).any()
    assert stopper(1, active, Scored(np.array([1.0, np.inf]), np.array([0.9, 0.9]))).all()
    assert list(stopper.status) == ["reached_target", "diverged"]
    assert list(stopper.reached_epoch) == [1, -1]


def test_target_and_step_are_saved_and_loaded(make_data, tmp_path):
    data = make_data(trials=(0, 1))
    run = train(data, settings(target=1e-9, batch_size="full"))
    run.save(tmp_path)
    back = load_run(tmp_path)
    np.testing.assert_array_equal(back.records.target_epoch, run.records.target_epoch)
    np.testing.assert_array_equal(back.records.target_step, run.records.target_step)
    assert back.info["settings"]["target"] == 1e-9


def test_runs_saved_before_the_target_stop_load_with_never_reached(make_data, tmp_path):
    run = train(make_data(trials=(0,)), settings(epochs=(2, 2)))
    run.save(tmp_path)
    with np.load(tmp_path / "records.npz") as npz:
        old = {k: npz[k] for k in npz.files if not k.startswith("target_")}
    np.savez(tmp_path / "records.npz", **old)
    assert (load_run(tmp_path).records.target_epoch == -1).all()


@pytest.mark.parametrize("bad", [0, 1.5, -0.1, float("nan"), "0.8"])
def test_a_target_outside_0_1_is_refused(bad, make_data):
    with pytest.raises(EngineConfigError, match="target"):
        train(make_data(), settings(target=bad))
