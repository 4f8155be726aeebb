"""Metrics on synthetic curves whose answers are known by construction."""

import numpy as np
import pandas as pd
import pytest

from batch_inefficiency.batch_sizes import method_name
from batch_inefficiency.stats.common import Analysis, Study
from batch_inefficiency.stats.speed import c1_across, task_speeds
from batch_inefficiency.studies.replication.metrics import (
    best_rates,
    majority_share,
    stalled,
    summarise_task,
)
from batch_inefficiency.studies.replication.tables import tasks_table

BASELINE = pd.Series({0: 0.2, 1: 0.2})  # majority share of each trial's hold-out split


def make_run(hold: dict, test_offset: float = -0.05, status=None, budget=6, loss=None):
    """Curves and replicas from ``{(batch_size, lr, trial): [hold acc per epoch]}``.

    The training loss falls with rising accuracy unless ``loss`` gives it per replica.
    """
    curves, replicas = [], []
    for key, values in hold.items():
        batch_size, lr, trial = key
        losses = (loss or {}).get(key, [1.0 - 0.9 * a for a in values])
        for epoch, acc in enumerate(values):
            curves.append(
                {
                    "batch_size": batch_size,
                    "lr": lr,
                    "trial": trial,
                    "epoch": epoch,
                    "train_loss": losses[epoch],
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
                "budget": budget,
                "epochs_run": len(values) - 1,
                "status": (status or {}).get(key, "complete"),
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
    return summarise_task(curves, replicas, tolerance=0.01, baseline=BASELINE)


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
    assert not online["needed_censored"]
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
    assert trials.loc[("full", 0.1, 0), "censored"]  # 0.89 < 0.90
    assert trials.loc[("full", 0.01, 1), "status"] == "diverged"
    assert row(rates, "1", 0.01)["censored_trials"] == 2
    assert len(per_trial) == len(HOLD)  # no trial dropped


def test_a_censored_trial_counts_at_its_budget_not_at_its_last_epoch():
    """Regression (issue 11): a replica that diverged or stopped early was entered at the
    last epoch it ran, a small "at least" value, though the notes said "at least the budget"."""
    hold = {
        ("1", 0.1, 0): [0.2, 0.5, 0.9, 0.9],
        ("full", 0.1, 0): [0.2, 0.3, 0.3],  # diverged after 2 epochs
        ("full", 0.01, 0): [0.2, 0.4, 0.4, 0.4, 0.4],  # stopped early (patience) after 4
    }
    status = {("full", 0.1, 0): "diverged", ("full", 0.01, 0): "stopped_early"}
    curves, replicas = make_run(hold, status=status, budget=50)
    _, per_trial = summarise_task(curves, replicas, 0.01, BASELINE)
    trials = per_trial.set_index(["batch_size", "lr", "trial"])
    for key in (("full", 0.1, 0), ("full", 0.01, 0)):
        assert trials.loc[key, "censored"]
        assert trials.loc[key, "epochs_to_target"] == 50
        assert trials.loc[key, "updates_to_target"] == 50  # budget x 1 update per epoch
    assert trials.loc[("1", 0.1, 0), "epochs_to_target"] == 2
    assert not [c for c in per_trial if "seconds" in c]  # no wall clock: metrics reproduce
    assert (trials["budget"] == 50).all()


def test_a_method_that_never_learns_is_censored_not_fastest():
    """Regression (issue 11): full batch at chance "peaked" at epoch 1 and looked 50x faster
    than on-line (the 8x8 digits case). Its best accuracy is not above the majority share,
    so its epochs needed are censored at its budget, and so are its epochs to target."""
    chance = [0.1, 0.105, 0.1, 0.1, 0.1, 0.1] + [0.1] * 45  # peaks at epoch 1, by noise
    learning = list(np.minimum(0.1 + 0.032 * np.arange(51), 0.9))  # peaks at epoch 25
    hold = {("1", 0.1, t): learning for t in (0, 1)} | {("full", 0.1, t): chance for t in (0, 1)}
    curves, replicas = make_run(hold, budget=50)
    baseline = pd.Series({0: 0.1, 1: 0.1})
    rates, per_trial = summarise_task(curves, replicas, 0.01, baseline)
    full = row(rates, "full", 0.1)
    assert not full["learned"] and full["needed_censored"]
    assert full["epochs_needed"] == 50 and full["peak_epoch"] == 1
    assert full["majority_hold_acc"] == pytest.approx(0.1)
    assert row(rates, "full", 0.1)["speedup_vs_online"] >= 1  # not 1/50
    assert per_trial[per_trial["batch_size"] == "full"]["censored"].all()
    table = tasks_table({"digits": ({"train_size": 100}, rates, per_trial)})
    assert table.loc[0, "batch_needed_censored"] and table.loc[0, "speedup_bound"] == "at least"


def test_a_method_that_peaks_at_the_end_of_its_budget_has_not_finished():
    """A peak at or after 95% of the budget is censored (at least the peak): the speed-up is a
    bound in the per-task table, in the speeds every test reads and in the tests' counts."""
    late = list(np.minimum(0.1 + 0.016 * np.arange(51), 0.9))  # peaks at epoch 50 of 50
    early = list(np.minimum(0.1 + 0.08 * np.arange(51), 0.9))  # peaks at epoch 10
    hold = {("1", 0.1, t): early for t in (0, 1)} | {("full", 0.1, t): late for t in (0, 1)}
    curves, replicas = make_run(hold, budget=50)
    rates, per_trial = summarise_task(curves, replicas, 0.01, pd.Series({0: 0.1, 1: 0.1}))
    full = row(rates, "full", 0.1)
    assert full["learned"] and not full["needed_censored"] and full["epochs_needed"] == 50
    table = tasks_table({"late": ({"train_size": 100}, rates, per_trial)}, budget_hit=0.95)
    task = table.iloc[0]
    assert task["online_finished"] and not task["batch_finished"]
    assert task["batch_needed_censored"] and not task["online_needed_censored"]
    assert task["speedup"] == 5.0 and task["speedup_bound"] == "at least"
    # swapped: on-line peaks at its budget, so the ratio is at most its value
    swapped = {("1", 0.1, t): late for t in (0, 1)} | {("full", 0.1, t): early for t in (0, 1)}
    curves, replicas = make_run(swapped, budget=50)
    rates, per_trial = summarise_task(curves, replicas, 0.01, pd.Series({0: 0.1, 1: 0.1}))
    task = tasks_table({"late": ({"train_size": 100}, rates, per_trial)}).iloc[0]
    assert task["speedup_bound"] == "at most"
    # the tests read the same bound: a study of such tasks counts them as censored
    study = Study(pd.concat([table] * 6, ignore_index=True).assign(task=list("abcdef")), {})
    speeds = task_speeds(study, Analysis(), "epochs_needed")
    assert speeds["batch_censored"].all() and (speeds["speedup_bound"] == "at least").all()
    c1 = c1_across(speeds, Analysis(), "epochs_needed", seed=0)
    assert "batch 6 of 6 tasks" in c1.censored


SATURATED = [1.0, 1.05, 1.1, 1.1, 1.1, 1.1, 1.1, 1.1, 1.1]  # rises, then flat


@pytest.mark.parametrize(
    ("hold", "loss", "expected"),
    [
        ([0.1] * 9, SATURATED, True),  # at chance, saturated: stalled
        ([0.1] * 9, [1.0] * 9, True),  # at chance, flat loss (vanishing gradient): stalled
        ([0.1] * 9, [1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2], False),  # still learning
        ([0.1, 0.5, 0.8, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9], [1.0] * 9, False),  # learned
        ([0.1] * 8 + [0.109], [1.0] * 9, True),  # within the margin of chance
        ([0.1] * 8 + [0.111], [1.0] * 9, False),  # just above it
    ],
)
def test_the_stalled_rule(hold, loss, expected):
    run = pd.DataFrame({"epoch": range(9), "hold_acc": hold, "train_loss": loss})
    assert stalled(run, baseline=0.1, learned_margin=0.01, loss_drop=0.01) is expected


def test_stalled_replicas_never_count_as_fast():
    """A replica that touched the target by chance, then saturated at chance, is censored;
    a rate whose replicas mostly stalled has its epochs needed censored."""
    spike = [0.2, 0.95, 0.2, 0.2, 0.2, 0.2, 0.2]
    hold = {("1", 0.1, t): [0.2, 0.5, 0.8, 0.9, 0.9, 0.9, 0.9] for t in (0, 1)} | {
        ("full", 0.1, t): spike for t in (0, 1)
    }
    loss = {("full", 0.1, t): [1.0, 0.5, 1.2, 1.2, 1.2, 1.2, 1.2] for t in (0, 1)}
    curves, replicas = make_run(hold, loss=loss, budget=6)
    rates, per_trial = summarise_task(curves, replicas, 0.1, BASELINE)
    full = per_trial[per_trial["batch_size"] == "full"]
    assert (full["status"] == "stalled").all() and full["censored"].all()
    assert (full["epochs_to_target"] == 6).all()
    assert row(rates, "full", 0.1)["stalled_share"] == 1.0
    assert row(rates, "full", 0.1)["needed_censored"]
    assert row(rates, "full", 0.1)["epochs_needed"] == 6  # not the spike at epoch 1


def test_majority_share_uses_the_training_majority_on_the_hold_out_split():
    y_train = np.array([[0, 1, 1, 2], [0, 0, 2, 2]])  # trial 1: tie -> class 0
    y_hold = np.array([[1, 1, 0, 2], [2, 2, 2, 0]])
    assert majority_share(y_train, y_hold).tolist() == [0.5, 0.25]


def test_alternative_tolerances_get_their_own_columns():
    curves, replicas = make_run(HOLD)
    _rates, per_trial = summarise_task(
        curves, replicas, 0.01, BASELINE, alternative_tolerances=[0.005, 0.01, 0.1]
    )
    assert "epochs_to_target_tol0.1" in per_trial and "censored_tol0.005" in per_trial
    assert "epochs_to_target_tol0.01" not in per_trial  # the primary tolerance: no suffix
    trials = per_trial.set_index(["batch_size", "lr", "trial"])
    assert trials.loc[("full", 0.1, 0), "epochs_to_target_tol0.1"] == 6  # 0.89 >= 0.81
    assert not trials.loc[("full", 0.1, 0), "censored_tol0.1"]


def test_best_rate_is_chosen_on_hold_out_not_test():
    hold = {("1", 0.1, 0): [0.5, 0.8], ("1", 0.01, 0): [0.5, 0.7]}
    curves, replicas = make_run(hold)
    curves.loc[curves["lr"] == 0.01, "test_acc"] = 0.99  # better on test, worse on hold-out
    rates, _ = summarise_task(curves, replicas, tolerance=0.0, baseline=BASELINE)
    assert best_rates(rates)["lr"].tolist() == [0.1]


def test_method_names():
    assert [method_name(b) for b in ("1", "10", "full")] == ["online", "batch_10", "batch"]
