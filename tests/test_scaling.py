"""The scaling study (issue 12): the rate search, the S(B) fit, the config checks, C5."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import REPO

from batch_inefficiency import batch_sizes
from batch_inefficiency.data.splits import save_trial_data
from batch_inefficiency.errors import UserError
from batch_inefficiency.stats.intervals import median_ci
from batch_inefficiency.stats.verdicts import verdict_c5
from batch_inefficiency.studies.rate_search import (
    RateOutcome,
    SearchSettings,
    best_outcome,
    initial_indices,
    next_index,
    rate_of,
    run_search,
    search_task,
    to_conventions,
)
from batch_inefficiency.studies.scaling.config import check_scaling, study_batch_sizes
from batch_inefficiency.studies.scaling.fit import (
    DIMINISHING,
    NO_GAIN,
    PERFECT,
    fit_steps,
    regime,
)

CONFIG = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
TRAINING = CONFIG["training"] | {
    "engine": {"device": "cpu", "dtype": "float32", "matmul_precision": "highest", "path": "auto"}
}


def outcome(index: int, steps: list[float], status: str = "reached_target", hold=0.8):
    """A rate's outcome with the given steps to target per trial (inf = censored)."""
    n = len(steps)
    return RateOutcome(
        index=index, lr=rate_of(index, 2), round=0, trial=np.arange(n),
        steps=np.array(steps, dtype=float), epochs=np.zeros(n, int), epochs_run=np.zeros(n, int),
        status=np.array([status] * n), best_hold=np.full(n, hold),
    )  # fmt: skip


def outcomes(*items: RateOutcome) -> dict[int, RateOutcome]:
    return {o.index: o for o in items}


INF = np.inf


def test_the_grid_widens_past_the_best_edge_until_it_is_interior():
    top = outcomes(outcome(0, [30, 30, 30]), outcome(1, [20, 20, 20]))
    assert best_outcome(top).index == 1 and next_index(top) == 2
    bottom = outcomes(outcome(0, [10, 10, 10]), outcome(1, [20, 20, 20]))
    assert next_index(bottom) == -1
    inside = outcomes(outcome(0, [30] * 3), outcome(1, [10] * 3), outcome(2, [INF] * 3, "diverged"))
    assert best_outcome(inside).index == 1 and next_index(inside) is None


def test_ranking_censoring_ties_and_nothing_reached():
    # the median decides: two of three trials reaching in 10 beats three in 15
    mixed = outcomes(outcome(0, [10, 10, INF]), outcome(1, [15, 15, 15]), outcome(2, [30] * 3))
    assert best_outcome(mixed).index == 0
    # a tie in steps goes to the larger rate, so its faster neighbour is strictly worse
    tie = outcomes(outcome(0, [10] * 3), outcome(1, [10] * 3), outcome(2, [11] * 3))
    assert best_outcome(tie).index == 1 and next_index(tie) is None
    # nothing reaches the target: more trials reaching, then fewer diverged, then accuracy
    none = outcomes(
        outcome(0, [INF] * 3, "complete", hold=0.5),
        outcome(1, [INF] * 3, "complete", hold=0.6),
        outcome(2, [INF] * 3, "diverged", hold=0.7),
    )
    assert best_outcome(none).index == 1 and next_index(none) is None


def test_first_rates_are_the_grid_points_nearest_the_mean_rates():
    settings = SearchSettings(0.7, 2, 2, (0.3, 1, 3, 10), 3, 5, None)
    assert initial_indices(settings, 1, "sum") == [-1, 0, 1, 2]
    assert initial_indices(settings, 256, "sum") == [-6, -5, -4, -3]  # 0.001 ... 0.0316
    assert initial_indices(settings, 256, "mean") == [-1, 0, 1, 2]
    assert to_conventions(0.01, 256, "sum") == (0.01, 2.56)
    assert to_conventions(2.56, 256, "mean") == pytest.approx((0.01, 2.56))


def test_search_on_data_respects_the_widening_limit_and_writes_its_files(make_data, tmp_path):
    data = make_data(trials=(0, 1), n_train=40, n_hold=30)
    # One tiny initial rate: the best is at the grid's edge, so each round widens upwards.
    settings = SearchSettings(0.99, 2, 2, (1e-4,), 2, 4, None)
    search = run_search(data, "4", TRAINING, settings, 3, 1)
    assert len(search.runs) == 3 and search.widenings == 2  # the first round, then 2 more
    assert sorted(search.outcomes) == [-9, -8, -7]  # 1e-4 / 4 ~ 10^(-9/2), then one step up
    assert next_index(search.outcomes) == -6  # still at the edge at the limit...
    assert search.result() == "censored"  # ...and nothing reached 99%
    split = tmp_path / "split.npz"
    save_trial_data(split, data)
    scaling = {
        "targets": {"toy": 0.5}, "trials": 2, "rates_per_decade": 2,
        "initial_mean_rates": [1, 10], "max_widenings": 2, "max_epochs": 30, "patience": None,
    }  # fmt: skip
    info = search_task(split, tmp_path / "out", "toy", "4", TRAINING, scaling, 3, 1)
    written = json.loads((tmp_path / "out" / "search.json").read_text())
    assert written["best_lr"] == info["best_lr"] and written["target"] == 0.5
    rates = pd.read_csv(tmp_path / "out" / "rates.csv")
    assert rates["best"].sum() == 1 and set(rates["round"]) <= {0, 1, 2}
    trials = pd.read_csv(tmp_path / "out" / "trials.csv")
    assert len(trials) == 2 * len(rates) and (trials["epochs_to_target"].dropna() <= 30).all()
    assert (tmp_path / "out" / "rounds" / "0" / "run.json").is_file()


def test_the_fit_recovers_a_known_curve_and_reports_ci():
    batch = np.array([1, 4, 16, 64, 256, 1024.0])
    fit = fit_steps(batch, 5000 * (1 + 20 / batch) * np.array([1, 1.02, 0.98, 1.01, 0.99, 1]))
    assert fit.b_crit == pytest.approx(20, rel=0.1) and fit.s_min == pytest.approx(5000, rel=0.05)
    assert fit.b_crit_low < fit.b_crit < fit.b_crit_high and fit.points == 6
    censored = fit_steps(batch, np.array([1e5, 3e4, INF, INF, 5e3, np.nan]))
    assert censored.points == 3  # censored and missing medians are left out
    assert fit_steps(batch[:1], np.array([10.0])).note.startswith("fewer than two")
    assert [regime(b, 30) for b in (1, 10, 11, 89, 90)] == [PERFECT] * 2 + [DIMINISHING] * 2 + [
        NO_GAIN
    ]
    assert regime(5, np.nan) == ""


def test_median_ci_uses_order_statistics_and_keeps_censoring():
    five = median_ci(np.array([5, 1, 4, 2, 3]))
    assert (five.median, five.low, five.high) == (3, 1, 5)
    assert five.coverage == pytest.approx(1 - 2 / 32)  # too few trials for 95%: the range
    twenty = median_ci(np.arange(20.0))
    assert (twenty.low, twenty.high) == (5, 14) and twenty.coverage >= 0.95
    censored = median_ci(np.array([1, 2, INF, INF, INF]))
    assert censored.median == INF and censored.low == 1


def scaling_config(**changes) -> dict:
    return CONFIG["scaling"] | changes


def test_config_checks_name_the_key():
    tasks, n_train = ["letter"], {"letter": 11975}
    check_scaling(scaling_config(), tasks, 10, n_train)
    with pytest.raises(UserError, match=r"scaling.targets.letter = 0.9 is above .* \(0.8445"):
        check_scaling(scaling_config(targets={"letter": 0.9}), tasks, 10, n_train)
    with pytest.raises(UserError, match=r"scaling.targets.letter is missing"):
        check_scaling(scaling_config(targets={}), tasks, 10, n_train)
    with pytest.raises(UserError, match=r"scaling.trials = 5 but trials = 3"):
        check_scaling(scaling_config(), tasks, 3, n_train)
    with pytest.raises(UserError, match=r"must include '1'"):
        check_scaling(scaling_config(batch_sizes=["4", "full"]), tasks, 10, n_train)
    with pytest.raises(UserError, match=r"scaling.batch_sizes on letter: batch size 20000"):
        check_scaling(scaling_config(batch_sizes=["1", "20000"]), tasks, 10, n_train)


def test_batch_sizes_are_powers_then_full():
    assert study_batch_sizes(scaling_config(), 1000) == ["1", "4", "16", "64", "256", "full"]
    assert batch_sizes.powers(2, 9) == ["1", "2", "4", "8", "full"]
    assert study_batch_sizes(scaling_config(batch_sizes=["full", "16", "1"]), 99) == [
        "1", "16", "full"
    ]  # fmt: skip


def fits(ratios: list[float], with_ci: bool = True) -> pd.DataFrame:
    n = len(ratios)
    return pd.DataFrame(
        {
            "task": [f"t{i}" for i in range(n)],
            "b_crit": np.full(n, 10.0),
            "b_crit_low": np.full(n, 5.0 if with_ci else np.nan),
            "b_simple": 10.0 * np.array(ratios),
        }
    )


def test_c5_verdict_rule():
    assert verdict_c5(fits([1, 2, 0.5]))[0] == "supported"
    assert verdict_c5(fits([1, 2, 8, 9]))[0] == "partly supported"  # 2 of 4 within 3x: not most
    assert verdict_c5(fits([50, 40, 1]))[0] == "not supported"
    verdict, evidence = verdict_c5(fits([1, 1], with_ci=True))
    assert verdict == "not computable" and "t0 1x" in evidence and "3 needed" in evidence
    assert verdict_c5(fits([1, 1, 1], with_ci=False))[0] == "not computable"
