"""Statistics: each test against scipy on the same numbers or a textbook value; verdict rules
on synthetic inputs whose answer is known."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from batch_inefficiency.stats import (
    all_tests,
    c2_size,
    c4_batch_size,
    nemenyi_critical_difference,
    results_table,
    signed_rank,
)
from batch_inefficiency.verdicts import claims_table

BATCHES = ["1", "10", "100", "full"]


def synthetic_task(rng, speedup: float, acc_gap: float, trials: int = 10, batches=("1", "full")):
    """Per-rate and per-trial tables of one task: batch needs ``speedup`` x the epochs."""
    rates, rows = [], []
    for i, batch in enumerate(batches):
        factor = speedup ** (i / (len(batches) - 1))
        for trial in range(trials):
            rows.append(
                {
                    "batch_size": batch,
                    "lr": 0.1 / 10**i,
                    "trial": trial,
                    "epochs_to_target": round(50 * factor * rng.uniform(0.8, 1.25)),
                    "censored": False,
                    "test_acc_at_needed": 0.8
                    + (acc_gap if batch != "1" else 0)
                    + rng.normal(0, 0.01),
                }
            )
        rates.append({"batch_size": batch, "lr": 0.1 / 10**i, "best": True})
    return pd.DataFrame(rates), pd.DataFrame(rows)


def synthetic_study(seed: int, speedup_of, acc_gap: float, n_tasks: int = 20):
    """A per-task table and per-task metrics; ``speedup_of(size, rng)`` plants the effect."""
    rng = np.random.default_rng(seed)
    sizes = np.geomspace(100, 20_000, n_tasks).astype(int)
    table, per_task = [], {}
    for k, size in enumerate(sizes):
        s = speedup_of(size, rng)
        online = 50 * rng.uniform(0.8, 1.25)
        batch = online * s
        acc = rng.uniform(0.7, 0.95)
        table.append(
            {
                "task": f"t{k}",
                "train_size": size,
                "online_epochs": online,
                "online_epochs_to_target": online,
                "batch_epochs_to_target": batch,
                "batch_censored": 0,
                "batch_epochs": batch,
                "speedup": batch / online,
                "online_acc": acc,
                "batch_acc": acc + acc_gap + rng.normal(0, 0.002),
            }
        )
        per_task[f"t{k}"] = synthetic_task(rng, s, acc_gap)
    large = synthetic_task(rng, 100, 0.0, batches=BATCHES)
    return pd.DataFrame(table), per_task, large


def verdicts(study, margin=0.01):
    table, per_task, large = study
    per_task = per_task | {"large": large}
    results, _ = all_tests(table, per_task, "large", 12_000, margin, seed=1)
    return claims_table(results_table(results), alpha=0.05).set_index("claim")["verdict"]


def test_nemenyi_critical_difference_textbook_value():
    # k = 5 methods, N = 27 tasks, alpha = 0.05: q = 2.728 (Demsar 2006, Table 5)
    expected = 2.728 * np.sqrt(5 * 6 / (6 * 27))
    assert nemenyi_critical_difference(5, 27) == pytest.approx(expected, abs=2e-3)
    assert nemenyi_critical_difference(5, 27) == pytest.approx(1.17, abs=0.01)


def test_signed_rank_equals_scipy():
    d = np.array([0.3, -0.1, 0.8, 1.2, 0.05, 0.6, -0.4])
    result = signed_rank("C1", "x", d, "greater")
    expected = sps.wilcoxon(d, alternative="greater")
    assert result.p_value == pytest.approx(expected.pvalue)
    assert result.statistic == pytest.approx(expected.statistic)
    assert result.effect == pytest.approx(np.median(d))


def test_too_few_or_tied_is_not_computable():
    assert not signed_rank("C1", "x", np.array([1.0, 2.0]), "greater").computable
    tied = signed_rank("C3", "x", np.zeros(10), "two-sided")
    assert not tied.computable and "all tied" in tied.notes


def test_c2_matches_scipy_spearman_and_polyfit():
    rng = np.random.default_rng(3)
    table = pd.DataFrame({"train_size": np.geomspace(100, 1e4, 12)})
    table["speedup"] = table["train_size"] ** 0.5 * rng.lognormal(0, 0.3, 12)
    rho, slope = c2_size(table)
    assert rho.effect == pytest.approx(
        sps.spearmanr(table["train_size"], table["speedup"]).statistic
    )
    fitted = np.polyfit(np.log(table["train_size"]), np.log(table["speedup"]), 1)[0]
    assert slope.effect == pytest.approx(fitted)
    assert slope.ci_low < fitted < slope.ci_high


def test_c4_matches_scipy_friedman_and_page():
    rng = np.random.default_rng(4)
    rates, trials = synthetic_task(rng, 30, 0.0, batches=BATCHES)
    results, cd = c4_batch_size(rates, trials, 12_000)
    matrix = trials.pivot(index="trial", columns="batch_size", values="epochs_to_target")[BATCHES]
    friedman = next(r for r in results if "Friedman" in r.test and "epochs" in r.test)
    assert friedman.p_value == pytest.approx(sps.friedmanchisquare(*matrix.T.to_numpy()).pvalue)
    page = next(r for r in results if "Page" in r.test)
    assert page.p_value == pytest.approx(sps.page_trend_test(matrix.to_numpy()).pvalue)
    assert cd["average_rank"].tolist() == pytest.approx(matrix.rank(axis=1).mean().tolist())
    slope = next(r for r in results if "best rate" in r.test)
    sizes = np.log([1, 10, 100, 12_000])
    assert slope.effect == pytest.approx(np.polyfit(sizes, np.log(rates["lr"]), 1)[0])


def test_planted_tenfold_speedup_is_supported():
    study = synthetic_study(5, lambda size, rng: 10 * rng.lognormal(0, 0.2), acc_gap=0.0)
    v = verdicts(study)
    assert v["C1"] == "supported"
    assert v["C3"] == "supported"  # identical accuracy: equivalent within +-1 point
    assert v["C4"] == "supported"


def test_speedup_growing_with_size_supports_c2():
    study = synthetic_study(6, lambda size, rng: (size / 50) ** 0.6 * rng.lognormal(0, 0.2), 0.0)
    assert verdicts(study)["C2"] == "supported"


def test_identical_methods_are_equivalent_and_not_faster():
    study = synthetic_study(7, lambda size, rng: rng.lognormal(0, 0.05), acc_gap=0.0)
    v = verdicts(study)
    assert v["C3"] == "supported"
    assert v["C1"] != "supported"
    exactly = verdicts(synthetic_study(7, lambda size, rng: 1.0, acc_gap=0.0))
    assert exactly["C1"] == "not computable"  # every speed-up is exactly 1: all tied


def test_pure_noise_is_never_supported():
    for seed in range(5):
        study = synthetic_study(seed, lambda size, rng: rng.lognormal(0, 0.5), acc_gap=0.0)
        assert verdicts(study)["C1"] != "supported"
        assert verdicts(study)["C2"] != "supported"


def test_large_accuracy_gap_is_not_equivalent():
    study = synthetic_study(8, lambda size, rng: 10.0, acc_gap=-0.05)
    assert verdicts(study)["C3"] == "not supported"


def test_censored_trials_are_counted_not_dropped():
    rng = np.random.default_rng(9)
    rates, trials = synthetic_task(rng, 10, 0.0)
    trials.loc[trials["batch_size"] == "full", "censored"] = [True] * 3 + [False] * 7
    table = synthetic_study(1, lambda size, rng: 10.0, 0.0, n_tasks=6)[0]
    results, _ = all_tests(table, {"c": (rates, trials)}, None, 0, 0.01, seed=1)
    within = next(r for r in results if r.test.startswith("c: signed-rank over trials, epochs"))
    assert within.n == 10 and "censored trials: batch 3, on-line 0" in within.notes


def test_missing_method_or_large_task_is_not_computable():
    rng = np.random.default_rng(2)
    rates, trials = synthetic_task(rng, 10, 0.0)
    only_online = (rates[rates["batch_size"] == "1"], trials[trials["batch_size"] == "1"])
    table, _, _ = synthetic_study(1, lambda size, rng: 10.0, 0.0, n_tasks=6)
    results, cd = all_tests(table, {"c": only_online}, None, 0, 0.01, seed=1)
    rows = results_table(results).set_index("test")
    assert rows.loc["c: signed-rank over trials, epochs_to_target, batch vs on-line", "notes"] == (
        "not computable: a method is missing"
    )
    assert not rows.loc["large task: batch-size sweep", "computable"]
    assert cd.empty
