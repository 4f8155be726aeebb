"""The optimizer study: config wiring, refusals, E_min and ratios, the verdict rules."""

import copy
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from test_config import BASE, check, with_value

from batch_inefficiency.engine.optimizers import OptimizerSpec
from batch_inefficiency.errors import UserError
from batch_inefficiency.studies.optimizers import claims, config, tables
from batch_inefficiency.studies.replication.runs import engine_settings
from batch_inefficiency.studies.scaling.fit import StepsFit

REPO = Path(__file__).resolve().parents[1]


def test_default_training_is_plain_sgd_and_the_same_settings():
    training = BASE["training"]
    settings = engine_settings(training, "1", 3, 1)
    assert settings.optimizer == OptimizerSpec() and settings.weight_decay == 0.0
    bare = {k: v for k, v in training.items() if k not in ("optimizer", "weight_decay")}
    assert engine_settings(bare, "1", 3, 1).to_dict() == settings.to_dict()


def test_optimizer_reaches_the_engine():
    entry = {"name": "adam", "betas": [0.8, 0.99], "eps": 1e-6, "initial_rates": [0.01]}
    training = config.optimizer_training(BASE["training"] | {"weight_decay": 0.01}, entry)
    settings = engine_settings(training, "16", 3, 1)
    assert settings.optimizer == OptimizerSpec("adam", 0.9, (0.8, 0.99), 1e-6)
    assert settings.weight_decay == 0.01


@pytest.mark.parametrize(
    ("key", "value", "names"),
    [
        ("name", "adagrad", "training.optimizer.name"),
        ("momentum", 1.0, "training.optimizer.momentum"),
        ("momentum", -0.1, "training.optimizer.momentum"),
        ("betas", [0.9, 1.0], "training.optimizer.betas[1]"),
        ("eps", 0.0, "training.optimizer.eps"),
    ],
)
def test_bad_optimizer_refused_in_one_line(key, value, names):
    status, message = check(with_value(("training", "optimizer", key), value))
    assert status == 2 and message.count("\n") == 1
    assert message.startswith(f"error: config key {names}:")


def test_negative_weight_decay_refused():
    status, message = check(with_value(("training", "weight_decay"), -1e-4))
    assert status == 2 and message.startswith("error: config key training.weight_decay:")


def test_bad_study_optimizer_refused_by_the_schema():
    bad = with_value(("optimizers", "optimizers", "adam", "betas"), [0.9, 1.5])
    status, message = check(bad)
    assert status == 2 and "optimizers.optimizers.adam.betas[1]" in message


SECTION = yaml.safe_load((REPO / "config" / "config.yaml").read_text())["optimizers"]


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"run": ["sgd", "rmsprop"]}, "optimizers.run"),
        ({"reference": "adam", "run": ["sgd"]}, "optimizers.reference"),
        ({"batch_sizes": ["16", "full"]}, "optimizers.batch_sizes"),
        ({"trials": 99}, "optimizers.trials"),
    ],
)
def test_study_checks_name_the_key(change, key):
    section = copy.deepcopy(SECTION) | change
    with pytest.raises(UserError, match=key.replace(".", r"\.")):
        config.check_optimizers(section, BASE["scaling"], ["letter"], 10, {"letter": 12000})


def test_first_rates():
    grid = config.search_section(BASE["scaling"], SECTION, SECTION["optimizers"]["adam"])
    assert grid["initial_mean_rates"] == [0.003, 0.01, 0.03, 0.1]
    assert config.first_indices(grid, SECTION["optimizers"]["adam"], "letter") == [-5, -4, -3, -2]
    assert config.first_indices(grid, SECTION["optimizers"]["sgd"], "letter") is None


def test_e_min_and_its_ci():
    fit = StepsFit(100.0, 50.0, 200.0, 10.0, 5.0, 20.0, 4, "")
    value, low, high = tables.product_ci(fit)
    assert value == 1000.0
    assert low == pytest.approx(250.0) and high == pytest.approx(4000.0)


def test_ratio_ci_adds_log_half_widths_in_quadrature():
    ratio, low, high = tables.ratio_ci(40.0, 20.0, 80.0, 10.0, 5.0, 20.0)
    h = math.hypot(math.log(2), math.log(2))
    assert ratio == 4.0
    assert low == pytest.approx(4 * math.exp(-h)) and high == pytest.approx(4 * math.exp(h))
    assert math.isnan(tables.ratio_ci(4.0, math.nan, math.nan, 1.0, 0.5, 2.0)[1])


def fit_rows(b_crit_ci, steps_1, tasks=("a", "b", "c")):
    """Hand-made optimizers_fit rows: sgd with B_crit 10 (5-20) and, per optimizer, a B_crit
    CI and its steps at batch size 1 (sgd's: 1000)."""
    rows = []
    for task in tasks:
        rows.append({"task": task, "optimizer": "sgd", "s_min": 100.0, "s_min_low": 80.0,
                     "s_min_high": 125.0, "b_crit": 10.0, "b_crit_low": 5.0,
                     "b_crit_high": 20.0, "steps_1": 1000.0})  # fmt: skip
        for label, (b, lo, hi) in b_crit_ci.items():
            rows.append({"task": task, "optimizer": label, "s_min": 100.0, "s_min_low": 80.0,
                         "s_min_high": 125.0, "b_crit": b, "b_crit_low": lo, "b_crit_high": hi,
                         "steps_1": steps_1[label]})  # fmt: skip
    frame = pd.DataFrame(rows)
    for name in ("e_min", "e_min_low", "e_min_high"):
        frame[name] = frame[name.replace("e_min", "s_min")] * frame[name.replace("e_min", "b_crit")]
    return tables.add_ratios(frame, "sgd")


def test_c7_supported_partly_and_not():
    raised = fit_rows({"adam": (200.0, 190.0, 210.0)}, {"adam": 1100.0})
    assert claims.verdict_c7(raised, "sgd")[0] == "supported"
    mixed = fit_rows(
        {"adam": (200.0, 190.0, 210.0), "momentum": (12.0, 6.0, 24.0)},
        {"adam": 1000.0, "momentum": 1000.0},
    )
    assert claims.verdict_c7(mixed, "sgd")[0] == "partly supported"
    same = fit_rows({"adam": (12.0, 6.0, 24.0)}, {"adam": 1000.0})
    assert claims.verdict_c7(same, "sgd")[0] == "not supported"
    few = fit_rows({"adam": (200.0, 190.0, 210.0)}, {"adam": 1000.0}, tasks=("a", "b"))
    assert claims.verdict_c7(few, "sgd")[0] == "not computable"


def test_c7b_factor_of_1_25():
    assert claims.verdict_c7b(fit_rows({"adam": (1, 1, 1)}, {"adam": 1200.0}), "sgd")[0] == (
        "supported"
    )
    assert claims.verdict_c7b(fit_rows({"adam": (1, 1, 1)}, {"adam": 1500.0}), "sgd")[0] == (
        "partly supported"
    )
    assert claims.verdict_c7b(fit_rows({"adam": (1, 1, 1)}, {"adam": 3000.0}), "sgd")[0] == (
        "not supported"
    )
    censored = fit_rows({"adam": (1, 1, 1)}, {"adam": np.inf})
    assert claims.verdict_c7b(censored, "sgd")[0] == "not computable"


def c1_rows(online, largest, budget=500):
    """Hand-made search rows of three tasks: epochs (median, low, high) on-line and at full."""
    rows = []
    for _ in range(3):
        for batch, (median, low, high) in (("1", online), ("full", largest)):
            rows.append({"batch_size": batch, "epochs": median, "epochs_low": low,
                         "epochs_high": high, "budget_epochs": budget})  # fmt: skip
    frame = pd.DataFrame(rows)
    fits = [
        {"task": t, "optimizer": "adam", **tables.epochs_ratio(frame.iloc[2 * i : 2 * i + 2])}
        for i, t in enumerate("abc")
    ]
    return pd.DataFrame(fits)


def test_c1_per_optimizer():
    assert claims.verdict_c1(c1_rows((10, 8, 12), (100, 90, 110)), "adam")[0] == "supported"
    censored = c1_rows((10, 8, 12), (np.inf, np.inf, np.inf))
    assert claims.verdict_c1(censored, "adam")[0] == "supported"  # at least 500 / 12
    assert claims.verdict_c1(c1_rows((10, 8, 12), (11, 5, 20)), "adam")[0] == "partly supported"
    assert claims.verdict_c1(c1_rows((10, 8, 12), (5, 4, 6)), "adam")[0] == "not supported"
    never = c1_rows((np.inf, np.inf, np.inf), (5, 4, 6))
    assert claims.verdict_c1(never, "adam")[0] == "not computable"


def test_claim_table_ids_do_not_clash_with_the_papers():
    fits = fit_rows({"adam": (200.0, 190.0, 210.0)}, {"adam": 1100.0})
    fits["largest_batch"], fits["epochs_ratio"] = "", np.nan
    fits["epochs_ratio_low"] = fits["epochs_ratio_high"] = np.nan
    table = claims.claim_table(fits, "sgd")
    assert list(table["claim"]) == ["C7", "C7b", "C1 (sgd)", "C1 (adam)"]
    assert list(table.columns) == ["claim", "statement", "evidence", "verdict"]
