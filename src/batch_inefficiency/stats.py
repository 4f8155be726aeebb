"""The statistics behind each claim of the paper (docs/design.md §1 and §6).

Every test comes from scipy.stats, statsmodels or scikit-posthocs; this module
only chooses the inputs, collects the results in one table (one row per test)
and turns them into verdicts by rules stated in the config.

Inputs are the pipeline's metrics: the per-task table (each method at its best
rate), and per task the per-rate and per-trial tables. Censored epochs-to-target
(trials that never reached the target within their budget) enter the rank tests
at the epochs they ran, i.e. as "at least" values, and every row that used them
says how many there were.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import scikit_posthocs as sp
import statsmodels.api as sm
from scipy import stats as sps
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.weightstats import ttost_paired

from batch_inefficiency.batch_sizes import FULL, ONLINE, positions, sort_key

MIN_TASKS = 5  # fewer paired tasks than this: an across-task test is not computable
MIN_TRIALS = 3  # fewer paired trials: a within-task test is not computable


@dataclass
class TestResult:
    """One row of tests.csv.

    ``p_adjusted`` is the raw p-value unless a family of tests is Holm-adjusted
    (the within-task tests, see :func:`holm`).
    """

    claim: str
    test: str
    statistic: float = np.nan
    p_value: float = np.nan
    p_adjusted: float = np.nan
    effect: float = np.nan
    effect_name: str = ""
    ci_low: float = np.nan
    ci_high: float = np.nan
    n: int = 0
    computable: bool = True
    notes: str = ""

    def __post_init__(self) -> None:
        if np.isnan(self.p_adjusted):
            self.p_adjusted = self.p_value


def not_computable(claim: str, test: str, why: str, n: int = 0) -> TestResult:
    """A row that says why a test could not be run."""
    return TestResult(claim, test, n=n, computable=False, notes=f"not computable: {why}")


def signed_rank(
    claim: str, test: str, differences: np.ndarray, alternative: str, minimum: int = MIN_TASKS
) -> TestResult:
    """Wilcoxon signed-rank test on paired differences (zeros dropped, as is standard)."""
    d = np.asarray(differences, dtype=float)
    d = d[np.isfinite(d)]
    if len(d) < minimum:
        return not_computable(claim, test, f"only {len(d)} pairs", len(d))
    if np.all(d == 0):
        return not_computable(claim, test, "all differences are zero (all tied)", len(d))
    result = sps.wilcoxon(d, alternative=alternative, zero_method="wilcox")
    return TestResult(
        claim,
        test,
        statistic=float(result.statistic),
        p_value=float(result.pvalue),
        effect=float(np.median(d)),
        effect_name="median difference",
        n=len(d),
    )


def bootstrap_median(values: np.ndarray, seed: int, resamples: int = 9999) -> tuple[float, float]:
    """Percentile 95% CI of the median (scipy.stats.bootstrap; BCa fails on tied data)."""
    ci = sps.bootstrap(
        (values,),
        np.median,
        n_resamples=resamples,
        confidence_level=0.95,
        method="percentile",
        random_state=np.random.default_rng(seed),
    ).confidence_interval
    return float(ci.low), float(ci.high)


def paired_methods(trials: pd.DataFrame, rates: pd.DataFrame, a: str, b: str) -> pd.DataFrame:
    """Per-trial rows of methods ``a`` and ``b`` at their best rates, side by side by trial."""
    best = rates[rates["best"]].set_index("batch_size")["lr"]
    sides = []
    for method in (a, b):
        if method not in best.index:
            return pd.DataFrame()
        mine = trials[(trials["batch_size"] == method) & np.isclose(trials["lr"], best[method])]
        sides.append(mine.set_index("trial").add_prefix(f"{method}_"))
    return sides[0].join(sides[1], how="inner")


def within_task_tests(
    claim: str,
    per_task: Mapping[str, tuple[pd.DataFrame, pd.DataFrame]],
    column: str,
    alternative: str,
) -> list[TestResult]:
    """Per task, signed-rank over trials of ``column`` (batch minus on-line); Holm-adjusted."""
    results = []
    for task, (rates, trials) in per_task.items():
        pairs = paired_methods(trials, rates, ONLINE, FULL)
        name = f"{task}: signed-rank over trials, {column}, batch vs on-line"
        if pairs.empty:
            results.append(not_computable(claim, name, "a method is missing"))
            continue
        diff = pairs[f"{FULL}_{column}"] - pairs[f"{ONLINE}_{column}"]
        result = signed_rank(claim, name, diff.to_numpy(), alternative, MIN_TRIALS)
        if column == "epochs_to_target":
            censored = int(pairs[f"{FULL}_censored"].sum()), int(pairs[f"{ONLINE}_censored"].sum())
            result.notes = (
                result.notes + f" censored trials: batch {censored[0]}, "
                f"on-line {censored[1]} (used as >= budget)"
            ).strip()
        results.append(result)
    holm(results)
    return results


def holm(results: list[TestResult]) -> None:
    """Holm-adjust the p-values of the computable results, in place."""
    index = [i for i, r in enumerate(results) if r.computable]
    if index:
        adjusted = multipletests([results[i].p_value for i in index], method="holm")[1]
        for i, p in zip(index, adjusted, strict=True):
            results[i].p_adjusted = float(p)


def c1_speed(tasks: pd.DataFrame, per_task, seed: int) -> list[TestResult]:
    """C1: batch needs more epochs than on-line (across tasks; within tasks over trials)."""
    ratio = np.log(tasks["batch_epochs"].clip(lower=1) / tasks["online_epochs"].clip(lower=1))
    ratio = ratio[np.isfinite(ratio)].to_numpy()
    across = signed_rank(
        "C1", "across tasks: signed-rank on log(epochs batch / on-line)", ratio, "greater"
    )
    if across.computable:
        speedups = np.exp(ratio)
        across.effect, across.effect_name = float(np.median(speedups)), "median speed-up"
        across.ci_low, across.ci_high = bootstrap_median(speedups, seed)
    to_target = np.log(
        tasks["batch_epochs_to_target"].clip(lower=1)
        / tasks["online_epochs_to_target"].clip(lower=1)
    )
    sensitivity = signed_rank(
        "C1",
        "across tasks (sensitivity): signed-rank on log(median epochs to target batch / on-line)",
        to_target[np.isfinite(to_target)].to_numpy(),
        "greater",
    )
    if sensitivity.computable:
        sensitivity.effect = float(np.exp(sensitivity.effect))
        sensitivity.effect_name = "median speed-up to target"
        sensitivity.notes = (
            f"tasks with censored batch trials: {int((tasks['batch_censored'] > 0).sum())} "
            "(their ratio is a lower bound)"
        )
    within = within_task_tests("C1", per_task, "epochs_to_target", "greater")
    return [across, sensitivity, *within]


def loglog_slope(claim: str, test: str, x: pd.Series, y: pd.Series) -> TestResult:
    """OLS slope of log y on log x (statsmodels) with its 95% CI."""
    fit = sm.OLS(np.log(y.to_numpy(float)), sm.add_constant(np.log(x.to_numpy(float)))).fit()
    low, high = fit.conf_int(alpha=0.05)[1]
    return TestResult(
        claim,
        test,
        statistic=float(fit.tvalues[1]),
        p_value=float(fit.pvalues[1]),
        effect=float(fit.params[1]),
        effect_name="slope (log-log)",
        ci_low=float(low),
        ci_high=float(high),
        n=len(x),
    )


def c2_size(tasks: pd.DataFrame) -> list[TestResult]:
    """C2: the speed-up grows with the training-set size (Spearman; log-log slope)."""
    ok = tasks[(tasks["speedup"] > 0) & np.isfinite(tasks["speedup"])]
    name_rho = "across tasks: Spearman correlation of speed-up with training size"
    name_slope = "across tasks: OLS slope of log speed-up on log training size"
    if len(ok) < MIN_TASKS:
        return [
            not_computable("C2", n, f"only {len(ok)} tasks", len(ok))
            for n in (name_rho, name_slope)
        ]
    if ok["speedup"].nunique() == 1:
        return [
            not_computable("C2", n, "all speed-ups tied", len(ok)) for n in (name_rho, name_slope)
        ]
    rho = sps.spearmanr(ok["train_size"], ok["speedup"], alternative="greater")
    return [
        TestResult(
            "C2",
            name_rho,
            statistic=float(rho.statistic),
            p_value=float(rho.pvalue),
            effect=float(rho.statistic),
            effect_name="Spearman rho",
            n=len(ok),
        ),
        loglog_slope("C2", name_slope, ok["train_size"], ok["speedup"]),
    ]


def c3_accuracy(tasks: pd.DataFrame, per_task, margin: float) -> list[TestResult]:
    """C3: no accuracy difference (signed-rank; equivalence by TOST within ``margin``)."""
    pairs = tasks[["batch_acc", "online_acc"]].dropna()
    diff = (pairs["batch_acc"] - pairs["online_acc"]).to_numpy()
    across = signed_rank(
        "C3", "across tasks: signed-rank on test accuracy (batch - on-line)", diff, "two-sided"
    )
    name = f"across tasks: TOST equivalence of test accuracy within +-{margin:g}"
    if len(diff) < MIN_TASKS:
        tost = not_computable("C3", name, f"only {len(diff)} tasks", len(diff))
    elif np.all(diff == diff[0]):
        tost = not_computable("C3", name, "all differences tied (zero variance)", len(diff))
    else:
        p, lower, upper = ttost_paired(
            pairs["batch_acc"].to_numpy(), pairs["online_acc"].to_numpy(), -margin, margin
        )
        ci = sps.ttest_1samp(diff, 0).confidence_interval(0.90)
        tost = TestResult(
            "C3",
            name,
            statistic=float(max(lower[0], -upper[0], key=abs)),
            p_value=float(p),
            effect=float(diff.mean()),
            effect_name="mean difference",
            ci_low=float(ci.low),
            ci_high=float(ci.high),
            n=len(diff),
            notes="CI is the 90% interval that TOST at alpha 0.05 compares to the margin",
        )
    return [across, tost, *within_task_tests("C3", per_task, "test_acc_at_needed", "two-sided")]


def nemenyi_critical_difference(k: int, n: int, alpha: float = 0.05) -> float:
    """Nemenyi critical difference of average ranks: q_alpha * sqrt(k (k+1) / (6 n))."""
    q = sps.studentized_range.ppf(1 - alpha, k, np.inf) / np.sqrt(2)
    return float(q * np.sqrt(k * (k + 1) / (6 * n)))


def batch_matrix(rates: pd.DataFrame, trials: pd.DataFrame, column: str) -> pd.DataFrame:
    """``[trial, batch size]`` values of ``column`` at each batch size's best rate."""
    best = rates[rates["best"]].sort_values("batch_size", key=sort_key)
    columns = {}
    for batch_size, lr in zip(best["batch_size"], best["lr"], strict=True):
        mine = trials[(trials["batch_size"] == batch_size) & np.isclose(trials["lr"], lr)]
        columns[batch_size] = mine.set_index("trial")[column]
    return pd.DataFrame(columns).dropna()


def c4_batch_size(
    rates: pd.DataFrame, trials: pd.DataFrame, n_train: int
) -> tuple[list[TestResult], pd.DataFrame]:
    """C4 on the large task: Friedman + Nemenyi over batch sizes, Page's trend, best rate slope.

    Returns the rows and the critical-difference data (average rank per batch size).
    """
    results = []
    cd_data = pd.DataFrame()
    for column, label in (
        ("epochs_to_target", "epochs to target"),
        ("test_acc_at_needed", "test accuracy"),
    ):
        matrix = batch_matrix(rates, trials, column)
        name = f"large task: Friedman over batch sizes, {label}"
        k, n = matrix.shape[1], matrix.shape[0]
        if k < 3 or n < MIN_TRIALS:
            results.append(not_computable("C4", name, f"{k} batch sizes x {n} trials", n))
            continue
        if (matrix.nunique(axis=1) == 1).all():
            results.append(not_computable("C4", name, "all batch sizes tied in every trial", n))
            continue
        friedman = sps.friedmanchisquare(*matrix.T.to_numpy())
        cd = nemenyi_critical_difference(k, n)
        results.append(
            TestResult(
                "C4",
                name,
                statistic=float(friedman.statistic),
                p_value=float(friedman.pvalue),
                effect=cd,
                effect_name="Nemenyi critical difference",
                n=n,
                notes=f"{k} batch sizes",
            )
        )
        if column == "epochs_to_target":
            ranks = matrix.rank(axis=1).mean()
            nemenyi = sp.posthoc_nemenyi_friedman(matrix.to_numpy())
            nemenyi.index = nemenyi.columns = matrix.columns
            cd_data = pd.DataFrame(
                {
                    "batch_size": ranks.index,
                    "average_rank": ranks.to_numpy(),
                    "critical_difference": cd,
                }
            )
            cd_data = cd_data.join(nemenyi.add_prefix("p_vs_"), on="batch_size")
            page = sps.page_trend_test(matrix.to_numpy())
            censored = int(batch_matrix(rates, trials, "censored").to_numpy().sum())
            results.append(
                TestResult(
                    "C4",
                    "large task: Page's trend test, epochs to target rise with batch size",
                    statistic=float(page.statistic),
                    p_value=float(page.pvalue),
                    n=n,
                    notes=f"censored trials at the best rates: {censored} (used as >= budget)",
                )
            )
    best = rates[rates["best"]]
    sizes = positions(best["batch_size"], n_train)
    name = "large task: OLS slope of log best rate on log batch size"
    if len(best) < 3 or best["lr"].nunique() == 1:
        results.append(
            not_computable(
                "C4",
                name,
                f"{len(best)} batch sizes, {best['lr'].nunique()} distinct best rates",
                len(best),
            )
        )
    else:
        results.append(loglog_slope("C4", name, sizes, best["lr"]))
    return results, cd_data


def results_table(results: list[TestResult]) -> pd.DataFrame:
    """tests.csv: one row per test."""
    return pd.DataFrame([asdict(r) for r in results])


def read_task_metrics(tasks: list[str], rates: list[Path], trials: list[Path]) -> dict:
    """``{task: (per-rate table, per-trial table)}`` from the metrics files."""
    read = {"batch_size": str}
    return {
        task: (pd.read_csv(r, dtype=read), pd.read_csv(t, dtype=read))
        for task, r, t in zip(tasks, rates, trials, strict=True)
    }


def all_tests(
    tasks_table: pd.DataFrame,
    per_task: dict,
    large_task: str | None,
    large_n_train: int,
    margin: float,
    seed: int,
) -> tuple[list[TestResult], pd.DataFrame]:
    """Every test of docs/design.md §6, and the critical-difference data of the large task."""
    results = [
        *c1_speed(tasks_table, per_task, seed),
        *c2_size(tasks_table),
        *c3_accuracy(tasks_table, per_task, margin),
    ]
    if large_task in per_task:
        c4, cd_data = c4_batch_size(*per_task[large_task], large_n_train)
    else:
        c4 = [not_computable("C4", "large task: batch-size sweep", "the suite has no large task")]
        cd_data = pd.DataFrame(columns=["batch_size", "average_rank", "critical_difference"])
    return [*results, *c4], cd_data
