"""Statistics: each test against scipy/statsmodels on the same numbers or a textbook value;
verdict rules on synthetic inputs whose answer is known."""

import itertools

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats as sps

from batch_inefficiency.stats import (
    Analysis,
    Settings,
    Study,
    all_tests,
    alternative_analyses,
    c2_size,
    c4_batch_size,
    nemenyi_critical_difference,
    page_trend,
    results_table,
    select_tasks,
    signed_rank,
    task_speeds,
    time_to_target_table,
    tost,
)
from batch_inefficiency.stats.stability import stability_label, verdict_stability
from batch_inefficiency.stats.survival import at_horizon, km_median, method_times, restricted_mean
from batch_inefficiency.stats.verdicts import claims_table

BATCHES = ["1", "10", "100", "full"]
SETTINGS = Settings(bootstrap_seed=1, permutations=999)
BUDGET = 10_000


def synthetic_task(rng, speedup: float, acc_gap: float, trials: int = 6, batches=("1", "full")):
    """Per-rate and per-trial tables of one task: batch needs ``speedup`` x the epochs."""
    rates, rows = [], []
    for i, batch in enumerate(batches):
        factor = speedup ** (i / (len(batches) - 1))
        for trial in range(trials):
            epochs = round(50 * factor * rng.uniform(0.8, 1.25))
            row = {
                "batch_size": batch,
                "lr": 0.1 / 10**i,
                "trial": trial,
                "epochs_to_target": epochs,
                "censored": False,
                "test_acc_at_needed": 0.8 + (acc_gap if batch != "1" else 0) + rng.normal(0, 0.01),
                "budget": BUDGET,
            }
            for suffix in ("_tol0.005", "_tol0.02"):
                row[f"epochs_to_target{suffix}"], row[f"censored{suffix}"] = epochs, False
            rows.append(row)
        rates.append(
            {"batch_size": batch, "lr": 0.1 / 10**i, "best": True}
            | {"max_hold_acc": 0.9, "epochs_needed": 50}
        )
    return pd.DataFrame(rates), pd.DataFrame(rows)


def task_facts(task: str, size: int, online: float, batch: float, acc: float, gap: float):
    """One row of tasks.csv."""
    return {
        "task": task,
        "train_size": size,
        "online_epochs": online,
        "batch_epochs": batch,
        "online_needed_censored": False,
        "batch_needed_censored": False,
        "online_budget": BUDGET,
        "batch_budget": BUDGET,
        "speedup": batch / online,
        "online_acc": acc,
        "batch_acc": acc + gap,
    }


def synthetic_study(seed: int, speedup_of, acc_gap: float, n_tasks: int = 20) -> Study:
    """A study of ``n_tasks`` tasks and a large one; ``speedup_of(size, rng)`` plants the effect."""
    rng = np.random.default_rng(seed)
    sizes = np.geomspace(100, 20_000, n_tasks).astype(int)
    table, per_task = [], {}
    for k, size in enumerate(sizes):
        s = speedup_of(size, rng)
        online = 50 * rng.uniform(0.8, 1.25)
        acc = rng.uniform(0.7, 0.95)
        table.append(
            task_facts(f"t{k}", size, online, online * s, acc, acc_gap + rng.normal(0, 0.002))
        )
        per_task[f"t{k}"] = synthetic_task(rng, s, acc_gap)
    per_task["large"] = synthetic_task(rng, 100, 0.0, batches=BATCHES)
    table.append(task_facts("large", 12_000, 50, 5000, 0.8, 0.0))
    return Study(pd.DataFrame(table), per_task, "large")


def run_tests(study: Study, analysis: Analysis | None = None) -> pd.DataFrame:
    return results_table(all_tests(study, analysis or Analysis(), SETTINGS)[0])


def verdicts(study: Study, analysis: Analysis | None = None) -> pd.Series:
    analysis = analysis or Analysis()
    tests = run_tests(study, analysis)
    claims = claims_table(tests, 0.05, SETTINGS.magnitude, analysis.measure_label())
    return claims.set_index("claim")["verdict"]


def test_nemenyi_critical_difference_textbook_value():
    # k = 5 methods, N = 27 tasks, alpha = 0.05: q = 2.728 (Demsar 2006, Table 5)
    expected = 2.728 * np.sqrt(5 * 6 / (6 * 27))
    assert nemenyi_critical_difference(5, 27) == pytest.approx(expected, abs=2e-3)
    assert nemenyi_critical_difference(5, 27) == pytest.approx(1.17, abs=0.01)


def test_signed_rank_equals_scipy():
    d = np.array([0.3, -0.1, 0.8, 1.2, 0.05, 0.6, -0.4])
    for alternative in ("greater", "two-sided"):
        result = signed_rank("C1", "x", d, alternative)
        expected = sps.wilcoxon(d, alternative=alternative)
        assert result.p_value == pytest.approx(expected.pvalue)
        assert result.statistic == pytest.approx(expected.statistic)
        assert result.alternative == alternative
    assert result.effect == pytest.approx(np.median(d))


def test_too_few_or_tied_is_not_computable():
    assert not signed_rank("C1", "x", np.array([1.0, 2.0]), "greater").computable
    tied = signed_rank("C3", "x", np.zeros(10), "two-sided")
    assert not tied.computable and "all tied" in tied.notes


def speeds_frame(sizes, speedups, budgets=None) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "train_size": sizes,
            "speedup": speedups,
            "batch_budget": BUDGET if budgets is None else budgets,
            "online_censored": False,
            "batch_censored": False,
            "speedup_bound": "",
            "trials": np.nan,
        }
    )


def test_c2_matches_scipy_spearman_and_statsmodels_with_the_stated_sidedness():
    rng = np.random.default_rng(3)
    sizes = np.geomspace(100, 1e4, 12)
    speeds = speeds_frame(sizes, sizes**0.5 * rng.lognormal(0, 0.3, 12))
    rho, slope, adjusted = c2_size(speeds)
    two_sided = sps.spearmanr(speeds["train_size"], speeds["speedup"])
    assert rho.p_value == pytest.approx(two_sided.pvalue) and rho.alternative == "two-sided"
    fitted = np.polyfit(np.log(sizes), np.log(speeds["speedup"]), 1)[0]
    assert slope.effect == pytest.approx(fitted)
    assert slope.ci_low < fitted < slope.ci_high and slope.ci_level == 0.95
    assert not adjusted.computable and "every batch budget is the same" in adjusted.notes
    one = c2_size(speeds, Analysis(alternative="one-sided"))
    greater = sps.spearmanr(speeds["train_size"], speeds["speedup"], alternative="greater")
    assert one[0].p_value == pytest.approx(greater.pvalue) and one[0].alternative == "greater"
    assert one[1].ci_level == pytest.approx(0.90)
    assert one[1].p_value == pytest.approx(slope.p_value / 2)  # slope > 0: half the two-sided


def test_c2_budget_covariate_removes_a_planted_budget_confound():
    """The speed-up follows the batch budget alone; size rises with the budget. Unadjusted,
    size "matters"; given log(budget) it does not, and C2 is not supported."""
    rng = np.random.default_rng(11)
    budgets = np.repeat([1000, 5000, 10_000], 6)
    sizes = budgets * rng.lognormal(0, 0.6, 18)
    speeds = speeds_frame(sizes, budgets / 100 * rng.lognormal(0, 0.1, 18), budgets)
    rho, slope, adjusted = c2_size(speeds)
    assert slope.ci_low > 0  # confounded
    design = sm.add_constant(np.column_stack([np.log(sizes), np.log(budgets)]))
    fit = sm.OLS(np.log(speeds["speedup"].to_numpy()), design).fit()
    assert adjusted.effect == pytest.approx(fit.params[1])
    assert adjusted.ci_low < 0 < adjusted.ci_high
    tests = results_table([rho, slope, adjusted])
    claims = claims_table(tests, 0.05).set_index("claim")
    assert claims.loc["C2", "verdict"] == "partly supported"
    assert "given log batch budget" in claims.loc["C2", "evidence"]


def test_tost_reports_the_t_of_the_test_whose_p_is_the_tost_p():
    """Regression (issue 11): the row showed the t of one one-sided test beside the p of
    the other (reference run: t 2.746 beside p 0.957)."""
    rng = np.random.default_rng(12)
    online = rng.uniform(0.7, 0.95, 27)
    batch = online - 0.047 + rng.normal(0, 0.1, 27)
    diff = batch - online
    row = tost(diff, batch, online, 0.01, 0.05)
    lower = sps.ttest_1samp(diff, -0.01, alternative="greater")
    upper = sps.ttest_1samp(diff, 0.01, alternative="less")
    decisive = max((lower, upper), key=lambda r: r.pvalue)
    assert row.p_value == pytest.approx(decisive.pvalue)
    assert row.statistic == pytest.approx(decisive.statistic)
    assert row.alternative == "equivalence"


def test_c4_matches_scipy_friedman_and_nemenyi_ranks():
    rng = np.random.default_rng(4)
    rates, trials = synthetic_task(rng, 30, 0.0, batches=BATCHES)
    results, cd = c4_batch_size(rates, trials, 12_000, settings=SETTINGS)
    matrix = trials.pivot(index="trial", columns="batch_size", values="epochs_to_target")[BATCHES]
    friedman = next(r for r in results if "Friedman" in r.test and "epochs" in r.test)
    assert friedman.p_value == pytest.approx(sps.friedmanchisquare(*matrix.T.to_numpy()).pvalue)
    assert friedman.alternative == "omnibus"
    page = next(r for r in results if "Page" in r.test)
    assert page.statistic == pytest.approx(sps.page_trend_test(matrix.to_numpy()).statistic)
    assert page.effect > 0 and page.alternative == "two-sided"
    assert cd["average_rank"].tolist() == pytest.approx(matrix.rank(axis=1).mean().tolist())
    slope = next(r for r in results if "best rate" in r.test)
    sizes = np.log([1, 10, 100, 12_000])
    assert slope.effect == pytest.approx(np.polyfit(sizes, np.log(rates["lr"]), 1)[0])


def test_page_permutation_p_is_exact_without_ties_and_with_ties():
    """Without ties it equals scipy's exact p; with ties (censored times) it equals the
    brute-force permutation distribution of L with mid-ranks."""
    untied = np.array([[1.0, 3, 2], [2, 1, 3], [1, 2, 3]])
    assert page_trend(untied, "greater", 999, 0)[1] == pytest.approx(
        sps.page_trend_test(untied, method="exact").pvalue
    )
    tied = np.array([[1.0, 5, 5], [2, 5, 5], [5, 1, 5]])  # 5 = censored at the horizon
    ranks = [sps.rankdata(row) for row in tied]
    observed = sum(j * r[j - 1] for r in ranks for j in (1, 2, 3))
    null = [
        sum(j * r[j - 1] for r in perm for j in (1, 2, 3))
        for perm in itertools.product(*[list(itertools.permutations(r)) for r in ranks])
    ]
    expected = np.mean(np.array(null) >= observed - 1e-9)
    statistic, p = page_trend(tied, "greater", 999, 0)
    assert statistic == pytest.approx(observed) and p == pytest.approx(expected)


def test_a_common_horizon_makes_shorter_budgets_not_look_slower():
    """Regression (issue 11): batch trials censored at a 1,000-epoch budget against on-line
    trials observed at 4,000 epochs (budget 10,000) counted as "batch slower"."""
    rates = pd.DataFrame({"batch_size": ["1", "full"], "lr": [0.0001, 0.1], "best": True})
    trials = pd.DataFrame(
        {
            "batch_size": ["1"] * 5 + ["full"] * 5,
            "lr": [0.0001] * 5 + [0.1] * 5,
            "trial": list(range(5)) * 2,
            "epochs_to_target": [4000, 4100, 3900, 4200, 4050] + [1000] * 5,
            "censored": [False] * 5 + [True] * 5,
            "budget": [10_000] * 5 + [1000] * 5,
            "test_acc_at_needed": 0.8,
        }
    )
    times, horizon = method_times(rates, trials, ["1", "full"])
    assert horizon == 1000
    assert (times["1"].times == 1000).all() and times["1"].n_censored == 5
    study = Study(pd.DataFrame([task_facts("t", 100, 4000, 1000, 0.8, 0)]), {"t": (rates, trials)})
    within = next(r for r in all_tests(study, Analysis(), SETTINGS)[0] if r.test.startswith("t:"))
    assert not within.computable and "all tied" in within.notes
    assert within.censored == "on-line 5 of 5, batch 5 of 5 trials"


def test_kaplan_meier_median_and_restricted_mean_by_hand():
    times = at_horizon(pd.Series([2, 4, 6, 8, 10]), pd.Series([False] * 5), horizon=20)
    assert restricted_mean(times, 20) == pytest.approx(6.0)  # no censoring: the mean
    assert km_median(times) == pytest.approx(6)
    capped = at_horizon(pd.Series([2, 4, 30, 8]), pd.Series([False, False, False, True]), 10)
    assert capped.n_censored == 2 and capped.times.tolist() == [2, 4, 10, 10]
    # S = 1 on [0, 2), 3/4 on [2, 4), 1/2 on [4, 10]: 2 + 1.5 + 3 = 6.5
    assert restricted_mean(capped, 10) == pytest.approx(6.5)
    assert km_median(at_horizon(pd.Series([5, 5]), pd.Series([True, True]), 5)) == np.inf


def test_time_to_target_table_counts_censoring_per_method():
    study = synthetic_study(5, lambda size, rng: 10.0, 0.0, n_tasks=6)
    _rates, trials = study.per_task["t0"]
    trials.loc[trials["batch_size"] == "full", "censored"] = [True] * 3 + [False] * 3
    table = time_to_target_table(study, Analysis()).set_index("task")
    assert table.loc["t0", "batch_censored"] == 3 and table.loc["t0", "online_censored"] == 0
    assert table.loc["t0", "restricted_mean_ratio"] > 1
    assert 0 <= table.loc["t0", "logrank_p"] <= table.loc["t0", "logrank_p_holm"] <= 1


def test_every_row_states_its_alternative_and_one_rule_applies():
    study = synthetic_study(5, lambda size, rng: 10 * rng.lognormal(0, 0.2), acc_gap=0.0)
    allowed = {"two-sided", "equivalence", "omnibus", "descriptive"}
    tests = run_tests(study)
    assert set(tests["alternative"]) <= allowed
    assert (tests["censored"] != "").all()  # every row says what was censored (or n/a)
    one = run_tests(study, Analysis(alternative="one-sided"))
    directional = one[one["claim"].isin(["C1", "C2"])]
    assert set(directional["alternative"]) - {"descriptive"} == {"greater"}
    c4 = one[one["claim"] == "C4"].set_index("test")["alternative"]
    assert c4["large task: OLS slope of log best rate on log batch size"] == "less"
    assert (one[one["claim"] == "C3"]["alternative"] != "greater").all()  # no direction


def test_planted_tenfold_speedup_is_supported():
    v = verdicts(synthetic_study(5, lambda size, rng: 10 * rng.lognormal(0, 0.2), acc_gap=0.0))
    assert v["C1"] == "supported"
    assert v["C3"] == "supported"  # identical accuracy: equivalent within +-1 point
    assert v["C4"] == "supported"


def test_magnitude_clause_counts_tasks_known_to_reach_the_factor():
    assert verdicts(synthetic_study(5, lambda size, rng: 30.0, 0.0))["C1 magnitude"] == (
        "supported"
    )
    assert verdicts(synthetic_study(5, lambda size, rng: 3.0, 0.0))["C1 magnitude"] == (
        "not supported"
    )
    study = synthetic_study(5, lambda size, rng: 30.0, 0.0, n_tasks=8)
    study.tasks["online_needed_censored"] = True  # every speed-up only an upper bound
    speeds = task_speeds(study, Analysis(), "epochs_needed")
    assert speeds["online_censored"].all()
    assert verdicts(study)["C1 magnitude"] == "not supported"


def test_speedup_growing_with_size_supports_c2():
    study = synthetic_study(6, lambda size, rng: (size / 50) ** 0.6 * rng.lognormal(0, 0.2), 0.0)
    assert verdicts(study)["C2"] == "supported"


def test_identical_methods_are_equivalent_and_not_faster():
    study = synthetic_study(7, lambda size, rng: rng.lognormal(0, 0.05), acc_gap=0.0)
    v = verdicts(study)
    assert v["C3"] == "supported"
    assert v["C1"] != "supported"


def test_pure_noise_is_never_supported():
    for seed in range(3):
        v = verdicts(synthetic_study(seed, lambda size, rng: rng.lognormal(0, 0.5), acc_gap=0.0))
        assert v["C1"] != "supported"
        assert v["C2"] != "supported"


def test_large_accuracy_gap_is_not_equivalent():
    study = synthetic_study(8, lambda size, rng: 10.0, acc_gap=-0.05)
    assert verdicts(study)["C3"] == "not supported"


def test_censored_trials_are_counted_not_dropped():
    study = synthetic_study(1, lambda size, rng: 10.0, 0.0, n_tasks=6)
    _rates, trials = study.per_task["t0"]
    trials.loc[trials["batch_size"] == "full", "censored"] = [True] * 3 + [False] * 3
    results, _ = all_tests(study, Analysis(), SETTINGS)
    within = next(r for r in results if r.test.startswith("t0: signed-rank over trials, epochs"))
    assert within.n == 6 and within.censored == "on-line 0 of 6, batch 3 of 6 trials"


def test_missing_method_or_large_task_is_not_computable():
    study = synthetic_study(1, lambda size, rng: 10.0, 0.0, n_tasks=6)
    rates, trials = study.per_task["t0"]
    study.per_task = {
        "t0": (rates[rates["batch_size"] == "1"], trials[trials["batch_size"] == "1"])
    }
    study.large_task = None
    results, cd = all_tests(study, Analysis(), SETTINGS)
    rows = results_table(results).set_index("test")
    assert rows.loc["t0: signed-rank over trials, epochs to target, batch vs on-line", "notes"] == (
        "not computable: a method is missing"
    )
    assert not rows.loc["large task: batch-size sweep", "computable"]
    assert cd.empty


def test_task_sets_of_the_stability_analysis():
    study = synthetic_study(1, lambda size, rng: 10.0, 0.0, n_tasks=6)
    rates, trials = study.per_task["t1"]
    # t1: three rates; each method's best is the middle one (not at the grid edge)
    grid = pd.concat([rates.assign(lr=0.5, best=False), rates, rates.assign(lr=1e-5, best=False)])
    study.per_task["t1"] = (grid, trials)
    study.tasks.loc[study.tasks["task"] == "t2", "batch_epochs"] = BUDGET  # hit its budget
    assert list(select_tasks(study, "without_grid_edge", 0.95).tasks["task"]) == ["t1"]
    kept = list(select_tasks(study, "without_budget_hit", 0.95).tasks["task"])
    assert "t2" not in kept and len(kept) == 6
    assert "large" not in list(select_tasks(study, "without_large", 0.95).tasks["task"])


def test_stability_table_marks_robust_and_fragile_verdicts():
    statistics = {
        "alpha": 0.05,
        "stability": {
            "measures": ["epochs_needed", "epochs_to_target"],
            "tolerances": [0.01],
            "alternatives": ["two-sided", "one-sided"],
            "task_sets": ["all", "without_large"],
        },
    }
    columns = alternative_analyses(statistics, 0.01)
    assert list(columns) == [
        "primary",
        "measure: epochs to target",
        "one-sided",
        "tasks: without the large task",
        "ties to the smaller rate",
        "C3: every task, within the paper's budgets",
        "C4: batch sizes mostly observed",
    ]
    study = synthetic_study(5, lambda size, rng: 10 * rng.lognormal(0, 0.2), acc_gap=0.0)
    table = verdict_stability(study, columns, SETTINGS).set_index("claim")
    assert table.loc["C1", "stability"] == "robust"
    assert table.loc["C4", "tasks: without the large task"] == "n/a"
    row = pd.Series({"a": "supported", "b": "supported", "c": "partly supported", "d": "n/a"})
    assert stability_label(row, ["a", "b", "c", "d"]) == "fragile: c -> partly supported"
    assert stability_label(row, ["a", "b", "d"]) == "robust"
    row["e"] = "not computable"
    assert stability_label(row, ["a", "b", "d", "e"]) == "robust (not computable: e)"
    assert stability_label(row, ["a", "c", "e"]) == (
        "fragile: c -> partly supported (not computable: e)"
    )


def test_a_test_that_cannot_reach_alpha_with_its_n_is_not_computable():
    """Five tasks, every difference of one sign: the exact signed-rank p is 2 / 2^5 = 0.0625,
    so no data could reject at 0.05, and the test says so instead of deciding anything."""
    row = signed_rank("C1", "across tasks", np.array([0.5, 0.7, 0.9, 1.1, 1.3]), "two-sided")
    assert not row.computable and row.notes == "not computable: n = 5: smallest attainable p 0.0625"
    one_sided = signed_rank("C1", "across tasks", np.array([0.5, 0.7, 0.9, 1.1, 1.3]), "greater")
    assert one_sided.computable and one_sided.p_value == pytest.approx(1 / 32)
    assert signed_rank("C1", "across tasks", np.arange(1.0, 7.0), "two-sided").computable


def test_a_subset_too_small_to_reject_gives_not_computable_not_a_flip():
    """Six tasks, and a subset of five: there C1's test cannot reach alpha (smallest
    attainable p 0.0625), so its cell is not computable and C1 stays robust, the subset named."""
    study = synthetic_study(2, lambda size, rng: 10 * rng.lognormal(0, 0.2), 0.0, n_tasks=5)
    columns = {"primary": Analysis(), "tasks: five": Analysis(task_set="without_large")}
    table = verdict_stability(study, columns, SETTINGS).set_index("claim")
    assert table.loc["C1", "primary"] == "supported"
    assert table.loc["C1", "tasks: five"] == "not computable"
    assert table.loc["C1", "stability"] == "robust (not computable: tasks: five)"
    five = run_tests(study, Analysis(task_set="without_large"))
    across = five[five["test"].str.startswith("across tasks: signed-rank on log speed-up")]
    assert across["notes"].str.contains("n = 5: smallest attainable p 0.0625").all()
