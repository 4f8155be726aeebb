"""The generalization study (docs/design.md §11): finishing, budgets, controls, sharpness,
verdicts, task selection and config refusals, on hand-made inputs."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from batch_inefficiency.errors import UserError
from batch_inefficiency.models import ModelSpec, Weights
from batch_inefficiency.studies.generalization import claims, runs
from batch_inefficiency.studies.generalization.config import (
    check_generalization,
    task_batch_sizes,
)
from batch_inefficiency.studies.generalization.controls import (
    equal_updates_epoch,
    final_loss,
    loss_level,
    matched_epoch,
    point_epochs,
    scored_mean,
)
from batch_inefficiency.studies.generalization.curves import mean_curve
from batch_inefficiency.studies.generalization.finishing import (
    budgets,
    finished,
    improvement,
    next_budget,
)
from batch_inefficiency.studies.generalization.selection import select_tasks
from batch_inefficiency.studies.generalization.sharpness import full_hessian, scores, sharpness
from batch_inefficiency.studies.generalization.tables import generalization_table
from batch_inefficiency.studies.rate_search import ACCURACY, RateOutcome, best_outcome, next_index

# ---- finishing and budgets ----


def test_finished_compares_the_last_half_with_the_first():
    rising = np.linspace(0.5, 0.9, 11)
    assert improvement(rising) == pytest.approx(0.9 - 0.7)
    assert not finished(rising, 0.002)
    flat = np.array([0.5, 0.8, 0.85, 0.86, 0.86, 0.861, 0.859, 0.86, 0.86])
    assert finished(flat, 0.002)
    assert not finished(flat, 0.0005)  # 0.861 - 0.86 > 0.0005
    falling = np.array([0.5, 0.9, 0.8, 0.7, 0.7])
    assert finished(falling, 0.002)  # overfitting is finished, not unfinished


def test_a_plateau_near_chance_is_not_finished():
    plateau = np.full(100, 0.05)
    assert not finished(plateau, 0.002, chance=0.1)
    assert finished(plateau + 0.5, 0.002, chance=0.1)


def test_budgets_double_up_to_the_cap():
    assert next_budget(100, 1000, 1_000_000) == 200
    assert next_budget(800, 1000, 1_000_000) == 1000  # the cap itself, not past it
    assert next_budget(1000, 1000, 1_000_000) is None
    assert budgets(100, 1000, 1_000_000) == [100, 200, 400, 800, 1000]
    assert budgets(100, 1000, 50_000) == [50]  # the first budget within the cap


def _fake_records(budget: int, trials: int, curve) -> SimpleNamespace:
    hold = np.tile(curve(np.arange(budget + 1)), (trials, 1))
    nan = np.full_like(hold, np.nan)
    return SimpleNamespace(
        trial=np.arange(trials), lr=np.full(trials, 0.1), status=np.array(["complete"] * trials),
        epochs_run=np.full(trials, budget), hold_acc=hold, train_loss=nan, train_acc=nan,
        test_acc=nan,
    )  # fmt: skip


def _until(monkeypatch, curve, cap: int):
    """runs.until_finished with a fake engine whose hold-out accuracy follows ``curve``."""
    trained = []

    def fake_train(data, settings):
        trained.append(settings.budgets[0])
        weights = Weights(*(np.zeros((2, 1)) for _ in range(4)))
        return SimpleNamespace(records=_fake_records(settings.budgets[0], 2, curve), final=weights)

    monkeypatch.setattr(runs, "train", fake_train)
    data = SimpleNamespace(
        x_train=np.zeros((2, 10, 1)), y_train=np.zeros((2, 10), int),
        y_hold=np.zeros((2, 10), int), n_classes=2,
    )  # fmt: skip
    settings = runs.StudySettings(2, 10, 0.002, cap, 0.1)
    first = runs.Curves.of(_fake_records(10, 2, curve), slice(None))
    engine = SimpleNamespace()
    monkeypatch.setattr(
        runs, "replace", lambda engine, **kw: SimpleNamespace(budgets=(kw["epochs"],))
    )
    curves, _, attempts = runs.until_finished(data, engine, first, None, settings)
    return trained, curves, attempts


def test_until_finished_doubles_until_the_curve_flattens(monkeypatch):
    # majority share 1.0 (every label 0): chance = 1.0; shift the curve above it
    trained, curves, attempts = _until(monkeypatch, lambda e: 1.5 - 0.5 * np.exp(-e / 20), 10_000)
    assert trained == [20, 40, 80, 160, 320]
    assert attempts[-1]["finished"] and curves.epochs == 320


def test_until_finished_stops_at_the_cap_not_finished(monkeypatch):
    trained, curves, attempts = _until(monkeypatch, lambda e: 1.1 + e / 100, 500)
    assert trained == [20, 40, 50]  # 500 presentations / 10 rows = 50 epochs
    assert not attempts[-1]["finished"] and curves.epochs == 50


# ---- controls ----


def test_matched_epoch_interpolates_between_scored_epochs():
    epochs, loss = np.array([0, 10, 100]), np.array([1.0, 0.1, 0.01])
    found = matched_epoch(epochs, loss, 0.1**1.5)
    assert (found.low, found.high) == (10, 100)
    assert found.epoch == 55  # halfway in log loss
    assert matched_epoch(epochs, loss, 0.001).epoch != matched_epoch(epochs, loss, 0.001).epoch
    assert matched_epoch(epochs, loss, 2.0).epoch == 0


def test_point_epochs_and_levels():
    hold = np.array([0.5, 0.7, 0.9, 0.85, 0.8])
    points = point_epochs(hold, np.array([0, 1, 2, 4]), np.array([1, 0.5, 0.3, 0.2]),
                          level=0.3, alt_factor=2.0, fewest_epochs=3, fewest_updates=6,
                          steps_per_epoch=4)  # fmt: skip
    assert points["early_stopped"].epoch == 2
    assert points["matched_loss"].epoch == 2
    assert points["matched_loss_alt"].epoch == 1  # level 0.6
    assert points["equal_epochs"].epoch == 3
    assert points["equal_updates"].epoch == 2  # 6 updates / 4 per epoch, rounded
    assert points["end"].epoch == 4
    assert equal_updates_epoch(3, 12_000) == 1
    assert loss_level({"1": 0.1, "full": 0.3, "16": 0.5}, {"1": True, "full": True, "16": False})
    assert loss_level({"1": 0.1}, {"1": False}) == 0.1


def test_sparse_training_loss_is_read_where_every_trial_was_scored():
    loss = np.array([[1.0, np.nan, 0.5, 0.4], [0.8, 0.7, 0.3, np.nan]])
    epochs, mean = scored_mean(loss)
    assert epochs.tolist() == [0, 2] and mean.tolist() == [0.9, 0.4]
    assert final_loss(loss) == pytest.approx((0.4 + 0.3) / 2)
    assert mean_curve(np.array([[0.1, 0.2, np.nan], [0.3, 0.4, 0.5]])).tolist() == pytest.approx(
        [0.2, 0.3, 0.35]
    )


# ---- sharpness ----


def _tiny(seed: int = 0):
    rng = np.random.default_rng(seed)
    d, h, k, n = 3, 4, 2, 12
    w = Weights(
        rng.normal(size=(1, d, h)), rng.normal(size=(1, h)),
        rng.normal(size=(1, h, k)), rng.normal(size=(1, k)),
    )  # fmt: skip
    return rng.uniform(size=(n, d)), rng.integers(0, k, n), k, w


@pytest.mark.parametrize("loss", ["squared_error", "cross_entropy"])
def test_sharpness_is_the_top_eigenvalue_of_the_full_hessian(loss):
    x, y, k, w = _tiny()
    spec = ModelSpec(loss=loss)
    exact = np.linalg.eigvalsh(full_hessian(x, y, k, spec, w, 0)).max()
    assert sharpness(x, y, k, spec, w, 0) == pytest.approx(exact, rel=1e-7)


def test_scores_match_a_direct_computation():
    x, y, k, w = _tiny(1)
    loss, acc = scores(x[None], y[None], k, ModelSpec(), w)
    z = 1 / (1 + np.exp(-(x @ w.w1[0] + w.b1[0]))) @ w.w2[0] + w.b2[0]
    expected = 0.5 * ((1 / (1 + np.exp(-z)) - np.eye(k)[y]) ** 2).sum() / len(x)
    assert loss[0] == pytest.approx(expected) and acc[0] == np.mean(z.argmax(1) == y)


# ---- the rate search's accuracy objective ----


def test_accuracy_objective_ranks_by_the_trial_mean_peak():
    def outcome(index, peak, status="complete"):
        return RateOutcome(
            index=index, lr=10.0**index, round=0, trial=np.arange(2), steps=np.full(2, np.inf),
            epochs=np.full(2, -1), epochs_run=np.full(2, 9), status=np.array([status] * 2),
            best_hold=np.full(2, peak), mean_peak=peak,
        )  # fmt: skip

    tried = {0: outcome(0, 0.7), 1: outcome(1, 0.8), 2: outcome(2, 0.8)}
    assert best_outcome(tried, ACCURACY).index == 2  # a tie goes to the larger rate
    assert next_index(tried, ACCURACY) == 3
    tried[3] = outcome(3, 0.6)
    assert next_index(tried, ACCURACY) is None
    assert best_outcome(tried).index == 2  # steps: all censored, then accuracy


# ---- verdicts ----


def _points(differences: dict[str, list[float]], finished=True) -> pd.DataFrame:
    """Points of hand-made tasks: on-line at 0.8, full batch at 0.8 + the difference."""
    rows = []
    for point, diffs in differences.items():
        for t, d in enumerate(diffs):
            for trial in range(3):
                for batch, acc in (("1", 0.8), ("full", 0.8 + d + 0.001 * trial)):
                    rows.append({"task": f"t{t}", "point": point, "batch_size": batch,
                                 "trial": trial, "test_acc": acc, "finished": finished,
                                 "learned": True, "improvement": 0.0})  # fmt: skip
    return pd.DataFrame(rows)


ALL = ("early_stopped", "matched_loss", "matched_loss_alt", "equal_epochs", "equal_updates")


def test_c3_supported_when_equivalent_and_not_computable_with_few_tasks():
    same = _points({key: [0.001, -0.002, 0.0, 0.001, -0.001, 0.002] for key in ALL})
    rows = claims.claim_rows(same, margin=0.01, alpha=0.05).set_index("claim")
    assert rows.loc[claims.C3, "verdict"] == "supported"
    assert rows.loc[claims.C6, "verdict"] == "not supported"
    few = _points({key: [0.0, 0.01] for key in ALL})
    assert claims.claim_rows(few, 0.01, 0.05)["verdict"].tolist() == ["not computable"] * 2


def test_unfinished_tasks_do_not_count():
    points = _points(dict.fromkeys(ALL, [0.0] * 6), finished=False)
    assert claims.paired(points, "early_stopped").empty


def test_c6_supported_partly_and_budget_artefact():
    worse = [-0.03, -0.02, -0.04, -0.03, -0.025, -0.035]
    none = [0.001, -0.001, 0.002, 0.0, -0.002, 0.001]
    verdict = claims.verdict_c6
    tables = {p: claims.paired(_points({p: worse}), p) for p in ALL}
    assert verdict(tables, 0.05, "matched_loss")[0] == "supported"
    tables["matched_loss"] = claims.paired(_points({"matched_loss": none}), "matched_loss")
    assert verdict(tables, 0.05, "matched_loss")[0] == "partly supported"
    tables["early_stopped"] = claims.paired(_points({"early_stopped": none}), "early_stopped")
    found, evidence = verdict(tables, 0.05, "matched_loss")
    assert found == "not supported" and evidence.startswith("budget artefact")


def test_stability_marks_a_verdict_that_an_alternative_changes():
    worse = [-0.03, -0.02, -0.04, -0.03, -0.025, -0.035]
    points = _points(dict.fromkeys(ALL, worse))
    points.loc[points["task"] == "t0", "improvement"] = 0.003  # unfinished at tolerance 0.001
    table = claims.stability(points, 0.01, 0.05, [0.001, 0.005], ["t0", "t1"]).set_index("claim")
    assert table.loc[claims.C6, "primary"] == "supported"
    assert table.loc[claims.C6, "stability"].startswith("robust")
    assert table.loc[claims.C3, "matched-loss level x factor"] == "n/a"


def test_the_table_has_one_row_per_task_and_batch_size():
    points = _points({key: [-0.01, 0.0] for key in ALL}).assign(
        lr=0.1, weight_decay=0.0, search="interior", run_epochs=10, steps_per_epoch=1,
        best_mean_hold_acc=0.9, end_mean_hold_acc=0.85, epoch=5.0, epoch_low=4.0,
        epoch_high=6.0, loss_level=0.2, train_acc=0.95, train_loss=0.1, test_loss=0.2,
        sharpness=3.0,
    )  # fmt: skip
    table = generalization_table(points, 0.95)
    assert len(table) == 4 and table["overfitting"].iloc[0] == pytest.approx(0.05)
    assert table["a_gap_acc"].iloc[0] == pytest.approx(0.15)
    assert table["batch_size"].tolist() == ["1", "full", "1", "full"]


# ---- task selection ----


def test_selection_rule_threshold_fallback_and_limit():
    falls = pd.DataFrame({"task": list("abcdefgh"), "reproduced": True,
                          "fall": [0.05, 0.03, 0.021, 0.02, 0.019, 0.03, 0.04, 0.001]})  # fmt: skip
    assert select_tasks(falls) == ["a", "b", "c", "d", "f", "g"]
    assert select_tasks(falls, most=3) == ["a", "b", "g"]
    few = falls.assign(fall=[0.03, 0.015, 0.012, 0.011, 0.0, 0.0, 0.0, 0.0])
    assert select_tasks(few) == ["a", "b", "c", "d"]  # fewer than four at 2 points: 1 point
    assert select_tasks(falls.assign(reproduced=False)) == []


# ---- config ----

SECTION = {
    "tolerance": 0.002, "batch_sizes": ["1", "16", "full"], "weight_decays": [0.001],
    "trials": 5, "cap": 1_000_000, "curve_tasks": ["a"],
}  # fmt: skip


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"tolerance": 0}, "generalization.tolerance"),
        ({"batch_sizes": ["16", "full"]}, "generalization.batch_sizes"),
        ({"weight_decays": [-1e-3]}, "generalization.weight_decays"),
        ({"cap": 999}, "generalization.cap"),
        ({"trials": 11}, "generalization.trials"),
        ({"curve_tasks": ["z"]}, "generalization.curve_tasks"),
    ],
)
def test_config_refusals_name_the_key(change, key):
    with pytest.raises(UserError, match=key) as error:
        check_generalization(SECTION | change, ["a", "b"], 10, {"a": 1000, "b": 100})
    assert "\n" not in str(error.value)


def test_a_good_config_passes_and_a_size_past_the_split_is_left_out():
    check_generalization(SECTION | {"batch_sizes": ["1", "256", "full"]}, ["a", "b"], 10,
                         {"a": 1000, "b": 100})  # fmt: skip
    assert task_batch_sizes({"batch_sizes": ["full", "256", "1"]}, 100) == ["1", "full"]
