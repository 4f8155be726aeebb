"""C4 (larger batches need smaller rates and more epochs): the large task's batch-size sweep.

Friedman's test with Nemenyi's post-hoc and its critical-difference data, Page's trend
test with a permutation p-value (valid with ties), and the slope of the best rate.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scikit_posthocs as sp
from scipy import stats as sps

from batch_inefficiency.batch_sizes import method_name, positions, sort_key
from batch_inefficiency.stats.survival import (
    method_times,
)
from batch_inefficiency.studies.replication.metrics import best_rate_trials

from .common import (
    ACCURACY,
    MIN_TRIALS,
    Analysis,
    Settings,
    TestResult,
    censored_text,
    not_computable,
)
from .speed import (
    ols_coefficient,
)


def nemenyi_critical_difference(k: int, n: int, alpha: float = 0.05) -> float:
    """Nemenyi critical difference of average ranks: q_alpha * sqrt(k (k+1) / (6 n))."""
    q = sps.studentized_range.ppf(1 - alpha, k, np.inf) / np.sqrt(2)
    return float(q * np.sqrt(k * (k + 1) / (6 * n)))


def page_statistic(*samples: np.ndarray, axis: int = -1) -> np.ndarray:
    """Page's L of k samples (one per treatment, in the predicted order), n blocks each.

    Ranks within each block use mid-ranks for ties: L = sum_j j * (rank sum of j).
    """
    data = np.stack([np.moveaxis(s, axis, -1) for s in samples], axis=-1)  # [..., n, k]
    ranks = sps.rankdata(data, axis=-1)
    return (ranks * np.arange(1, data.shape[-1] + 1)).sum(axis=(-1, -2))


def page_trend(
    matrix: np.ndarray, alternative: str, permutations: int, seed: int
) -> tuple[float, float]:
    """Page's trend test with a permutation p-value, valid with ties (e.g. censored times).

    ``matrix``: [blocks, treatments] in the predicted order. Treatments are permuted
    within each block (scipy.stats.permutation_test, exact when there are no more than
    ``permutations`` arrangements). Returns (L, p).
    """
    result = sps.permutation_test(
        list(matrix.T),
        page_statistic,
        permutation_type="samples",
        vectorized=True,
        n_resamples=permutations,
        alternative=alternative,
        random_state=np.random.default_rng(seed),
    )
    return float(result.statistic), float(result.pvalue)


def batch_matrix(study_task: tuple[pd.DataFrame, pd.DataFrame], suffix: str):
    """``[trial, batch size]`` epochs to target at best rates, all censored at their common horizon.

    Returns the matrix, the per-batch-size censored counts and the horizon.
    """
    rates, trials = study_task
    best = rates[rates["best"].astype(bool)].sort_values("batch_size", key=sort_key)
    times, horizon = method_times(rates, trials, list(best["batch_size"]), suffix)
    matrix = pd.DataFrame({b: pd.Series(t.times) for b, t in times.items()}).dropna()
    counts = {method_name(b): (t.n_censored, len(t.times)) for b, t in times.items()}
    return matrix, counts, horizon


def friedman_row(name: str, data: pd.DataFrame, fields: dict) -> TestResult:
    """Friedman's test over the batch sizes (columns of ``data``), trials as blocks."""
    fields = {**fields, "alternative": "omnibus"}
    k, n = data.shape[1], data.shape[0]
    if k < 3 or n < MIN_TRIALS:
        return not_computable("C4", name, f"{k} batch sizes x {n} trials", n, **fields)
    if (data.nunique(axis=1) == 1).all():
        return not_computable("C4", name, "all batch sizes tied in every trial", n, **fields)
    friedman = sps.friedmanchisquare(*data.T.to_numpy())
    return TestResult(
        "C4",
        name,
        statistic=float(friedman.statistic),
        p_value=float(friedman.pvalue),
        effect=nemenyi_critical_difference(k, n),
        effect_name="Nemenyi critical difference",
        n=n,
        notes=f"{k} batch sizes",
        **fields,
    )


def average_ranks(matrix: pd.DataFrame) -> str:
    """``1: 2.65, 10: 2.20, ...``: the average rank of each batch size over the trials."""
    ranks = matrix.rank(axis=1).mean()
    return ", ".join(f"{b}: {r:.2f}" for b, r in ranks.items())


def mostly_observed(matrix: pd.DataFrame, counts: dict[str, tuple[int, int]]) -> pd.DataFrame:
    """The batch sizes (columns) fewer than half of whose trials are censored."""
    keep = [b for b in matrix.columns if counts[method_name(b)][0] < counts[method_name(b)][1] / 2]
    return matrix[keep]


def page_row(
    matrix: pd.DataFrame, fields: dict, settings: Settings, observed_only: bool = False
) -> TestResult:
    """Page's trend test: epochs to target rise with batch size (columns in batch order);
    ``observed_only``: over the mostly observed batch sizes (the matrix given is those)."""
    name = "large task: Page's trend test, epochs to target rise with batch size"
    if observed_only:
        name += ", mostly observed batch sizes"
    k, n = matrix.shape[1], matrix.shape[0]
    if k < 3 or n < MIN_TRIALS or (matrix.nunique(axis=1) == 1).all():
        return not_computable("C4", name, f"{k} batch sizes x {n} trials", n, **fields)
    statistic, p = page_trend(
        matrix.to_numpy(), fields["alternative"], settings.permutations, settings.bootstrap_seed
    )
    return TestResult(
        "C4",
        name,
        statistic=statistic,
        p_value=p,
        effect=statistic - n * k * (k + 1) ** 2 / 4,
        effect_name="L - E[L] (> 0: rising)",
        n=n,
        notes=(
            f"permutation p-value (ties from censoring allowed), {k} batch sizes; average "
            f"ranks {average_ranks(matrix)}"
        ),
        **fields,
    )


def c4_batch_size(
    rates: pd.DataFrame,
    trials: pd.DataFrame,
    n_train: int,
    analysis: Analysis | None = None,
    settings: Settings | None = None,
) -> tuple[list[TestResult], pd.DataFrame]:
    """C4 on the large task: Friedman + Nemenyi over batch sizes, Page's trend, best rate slope.

    Returns the rows and the critical-difference data (average rank per batch size).
    """
    analysis, settings = analysis or Analysis(), settings or Settings()
    label = analysis.measure_label("epochs_to_target")
    matrix, counts, horizon = batch_matrix((rates, trials), analysis.suffix)
    censored = f"at the common horizon {horizon:g} epochs: " + censored_text(counts)
    speed_fields = {"measure": label, "censored": censored}
    results = [
        friedman_row(
            "large task: Friedman over batch sizes, epochs to target", matrix, speed_fields
        ),
        friedman_row(
            "large task: Friedman over batch sizes, test accuracy",
            batch_accuracy(rates, trials),
            {"measure": "test accuracy", "censored": ACCURACY},
        ),
    ]
    observed = analysis.c4_sizes == "observed"
    page = page_row(
        mostly_observed(matrix, counts) if observed else matrix,
        {**speed_fields, "alternative": analysis.sided("greater")},
        settings,
        observed,
    )
    cd_data = critical_difference_data(matrix) if page.computable else pd.DataFrame()
    slopes = [best_rate_slope(rates, n_train, analysis, mean) for mean in (False, True)]
    return [*results, page, *slopes], cd_data


def batch_accuracy(rates: pd.DataFrame, trials: pd.DataFrame) -> pd.DataFrame:
    """``[trial, batch size]`` test accuracy at each batch size's best rate."""
    best = rates[rates["best"].astype(bool)].sort_values("batch_size", key=sort_key)
    columns = {
        b: best_rate_trials(rates, trials, b).set_index("trial")["test_acc_at_needed"]
        for b in best["batch_size"]
    }
    return pd.DataFrame(columns).dropna()


def critical_difference_data(matrix: pd.DataFrame) -> pd.DataFrame:
    """Average rank per batch size, the Nemenyi critical difference and pairwise p-values."""
    k, n = matrix.shape[1], matrix.shape[0]
    ranks = matrix.rank(axis=1).mean()
    nemenyi = sp.posthoc_nemenyi_friedman(matrix.to_numpy())
    nemenyi.index = nemenyi.columns = matrix.columns
    data = pd.DataFrame(
        {
            "batch_size": ranks.index,
            "average_rank": ranks.to_numpy(),
            "critical_difference": nemenyi_critical_difference(k, n),
        }
    )
    return data.join(nemenyi.add_prefix("p_vs_"), on="batch_size")


def best_rate_slope(
    rates: pd.DataFrame, n_train: int, analysis: Analysis, mean: bool = False
) -> TestResult:
    """OLS slope of log best rate on log batch size (the paper: it falls).

    The rate in the summed convention (the paper's update, the one C4 is about), or with
    ``mean`` in the mean convention (eta x batch size: the slope plus 1; descriptive, no
    verdict uses it).
    """
    best = rates[rates["best"].astype(bool)]
    name = "large task: OLS slope of log best rate on log batch size"
    measure = "best learning rate"
    if mean:
        name += " (mean convention)"
        measure += " (mean convention)"
    fields = {"measure": measure, "censored": "n/a (rates)"}
    if len(best) < 3 or best["lr"].nunique() == 1:
        return not_computable(
            "C4",
            name,
            f"{len(best)} batch sizes, {best['lr'].nunique()} distinct best rates",
            len(best),
            alternative=analysis.sided("less"),
            **fields,
        )
    sizes = positions(best["batch_size"], n_train).to_numpy(float)
    x, y = np.log(sizes), np.log(best["lr"].to_numpy(float) * (sizes if mean else 1.0))
    return ols_coefficient("C4", name, y, x, analysis, "less", **fields)


# ---- Everything ---------------------------------------------------------------------------
