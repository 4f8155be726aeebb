"""Metrics on synthetic curves whose answers are known by construction."""

import numpy as np
import pandas as pd
import pytest

from batch_inefficiency.batch_sizes import method_name
from batch_inefficiency.metrics import best_rates, summarise_task


def make_run(hold: dict, test_offset: float = -0.05, status: dict | None = None):
    """Curves and replicas from ``{(batch_size, lr, trial): [hold acc per epoch]}``."""
    curves, replicas = [], []
    for (batch_size, lr, trial), values in hold.items():
        for epoch, acc in enumerate(values):
            curves.append(
                {
                    "batch_size": batch_size,
                    "lr": lr,
                    "trial": trial,
                    "epoch": epoch,
                    "hold_acc": acc,
                    "test_acc": acc + test_offset + 0.01 * trial,
                    "updates": epoch * (100 if batch_size == "1" else 1),
                    "seconds": epoch * 0.5,
                }
            )
        replicas.append(
            {
                "batch_size": batch_size,
                "lr": lr,
                "trial": trial,
                "budget": 6,
                "epochs_run": len(values) - 1,
                "status": (status or {}).get((batch_size, lr, trial), "complete"),
            }
        )
    return pd.DataFrame(curves), pd.DataFrame(replicas)


HOLD = {
    ("1", 0.1, 0): [0.2, 0.8, 0.9, 0.9, 0.88, 0.9, 0.9],
    ("1", 0.1, 1): [0.2, 0.7, 0.9, 0.92, 0.9, 0.9, 0.9],
    ("1", 0.01, 0): [0.2, 0.3, 0.5, 0.6, 0.7, 0.8, 0.85],
    ("1", 0.01, 1): [0.2, 0.3, 0.5, 0.6, 0.7, 0.8, 0.85],
    ("full", 0.1, 0): [0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.89],
    ("full", 0.1, 1): [0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.9],
    ("full", 0.01, 0): [0.2, 0.2, 0.2, 0.3, 0.3, 0.3, 0.4],
    ("full", 0.01, 1): [0.2, 0.2, 0.2, 0.3, 0.3, 0.3],  # stopped one epoch early
}


@pytest.fixture
def summary():
    curves, replicas = make_run(HOLD, status={("full", 0.01, 1): "diverged"})
    return summarise_task(curves, replicas, tolerance=0.01)


def row(rates, batch_size, lr):
    return rates[(rates["batch_size"] == batch_size) & (rates["lr"] == lr)].iloc[0]


def test_epochs_needed_is_the_peak_of_the_trial_mean(summary):
    rates, _ = summary
    online = row(rates, "1", 0.1)
    assert online["epochs_needed"] == 3  # means: .2 .75 .9 .91 .89 .9 .9
    assert online["max_hold_acc"] == pytest.approx(0.91)
    assert online["test_acc"] == pytest.approx(np.mean([0.9 - 0.05, 0.92 - 0.05 + 0.01]))
    assert online["test_acc_sd"] == pytest.approx(np.std([0.85, 0.88], ddof=1))
    assert online["updates_needed"] == 300
    assert row(rates, "full", 0.1)["epochs_needed"] == 6


def test_stopped_replica_keeps_its_last_accuracy_and_divergence_is_counted(summary):
    rates, _ = summary
    full_small = row(rates, "full", 0.01)
    assert full_small["max_hold_acc"] == pytest.approx(0.35)  # (0.4 + 0.3 forward-filled) / 2
    assert full_small["diverged_share"] == 0.5
    assert row(rates, "1", 0.1)["diverged_share"] == 0.0


def test_best_rate_and_speedup(summary):
    rates, _ = summary
    best = rates[rates["best"]]
    assert sorted(zip(best["batch_size"], best["lr"], strict=True)) == [("1", 0.1), ("full", 0.1)]
    assert row(rates, "full", 0.1)["speedup_vs_online"] == pytest.approx(6 / 3)
    assert row(rates, "1", 0.1)["speedup_vs_online"] == pytest.approx(1.0)
    assert np.isnan(row(rates, "1", 0.01)["speedup_vs_online"])


def test_target_and_censoring(summary):
    rates, per_trial = summary
    assert rates["target_hold_acc"].iloc[0] == pytest.approx(0.90)  # 0.91 - 0.01
    trials = per_trial.set_index(["batch_size", "lr", "trial"])
    assert trials.loc[("1", 0.1, 0), "epochs_to_target"] == 2
    assert trials.loc[("1", 0.1, 1), "epochs_to_target"] == 2
    assert not trials.loc[("1", 0.1, 0), "censored"]
    assert trials.loc[("full", 0.1, 1), "epochs_to_target"] == 6
    assert trials.loc[("full", 0.1, 0), "censored"]  # 0.89 < 0.90: censored at its last epoch
    assert trials.loc[("full", 0.1, 0), "epochs_to_target"] == 6
    assert trials.loc[("full", 0.01, 1), "epochs_to_target"] == 5  # ran 5 epochs only
    assert trials.loc[("full", 0.01, 1), "status"] == "diverged"
    assert row(rates, "1", 0.01)["censored_trials"] == 2
    assert len(per_trial) == len(HOLD)  # no trial dropped


def test_best_rate_is_chosen_on_hold_out_not_test():
    hold = {("1", 0.1, 0): [0.5, 0.8], ("1", 0.01, 0): [0.5, 0.7]}
    curves, replicas = make_run(hold)
    curves.loc[curves["lr"] == 0.01, "test_acc"] = 0.99  # better on test, worse on hold-out
    rates, _ = summarise_task(curves, replicas, tolerance=0.0)
    assert best_rates(rates)["lr"].tolist() == [0.1]


def test_method_names():
    assert [method_name(b) for b in ("1", "10", "full")] == ["online", "batch_10", "batch"]
