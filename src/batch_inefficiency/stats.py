"""The statistics behind each claim of the paper (docs/design.md §6; docs/statistics.md).

Every test comes from scipy.stats, statsmodels or scikit-posthocs; this module
only chooses the inputs, collects the results in one table (one row per test)
and leaves the verdicts to :mod:`batch_inefficiency.verdicts`.

Inputs are the pipeline's metrics alone: the per-task table (each method at its
best rate), and per task the per-rate and per-trial tables. No run file is read,
so a reader can recompute every table from the committed metrics.

**Sidedness (one rule, everywhere).** In the primary analysis every test of a
claimed direction (C1: batch slower; C2: the gap grows with size; C4: epochs
rise and the best rate falls with batch size) is two-sided, with two-sided 95%
confidence intervals, and the verdict also asks for the effect in the paper's
direction. C3 claims no difference: its difference tests are two-sided and its
equivalence test is the two one-sided tests (TOST, 90% CI). Friedman's test is
an omnibus test. The stability analysis repeats the directional tests one-sided
in the paper's direction (90% two-sided CIs, i.e. one-sided 95% bounds). Each
row of tests.csv names its ``alternative``.

**Censoring.** A method that did not learn (best hold-out accuracy not above
the majority share) has its *epochs needed* censored at its budget; a trial that
never reached the target, or stalled, has its epochs to target censored at its
budget. Every comparison of epochs to target first censors all methods compared
at their **common horizon** (:mod:`batch_inefficiency.survival`), so the rank
tests see a censored value as at least as large as every observed one. Each speed
row says how many tasks or trials were censored, per method (``censored``).

**Measures of speed** (C1, C2): *epochs needed* (the paper's: the epoch where the
trial-averaged hold-out accuracy peaks), the median *epochs to target* over
trials, and the Kaplan-Meier *restricted mean* epochs to target (censoring-aware),
each as the ratio batch / on-line per task (epochs floored at 1).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
import scikit_posthocs as sp
import statsmodels.api as sm
from scipy import stats as sps
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.weightstats import ttost_paired

from batch_inefficiency.batch_sizes import FULL, ONLINE, method_name, positions, sort_key
from batch_inefficiency.metrics import best_rate_trials, tolerance_suffix
from batch_inefficiency.survival import (
    Censored,
    km_median,
    logrank_p,
    method_times,
    restricted_mean,
)

MIN_TASKS = 5  # fewer paired tasks than this: an across-task test is not computable
MIN_TRIALS = 3  # fewer paired trials: a within-task test is not computable
MEASURES = {
    "epochs_needed": "epochs needed",
    "epochs_to_target": "epochs to target",
    "restricted_mean": "restricted mean epochs to target",
}
TASK_SETS = {
    "all": "all tasks",
    "without_large": "without the large task",
    "without_grid_edge": "without tasks whose best rate is at the grid edge",
    "without_budget_hit": "without tasks where a method hit its budget",
}
MAGNITUDES = (10, 100)  # speed-up factors whose task shares are always reported (C1)
ACCURACY = "n/a (accuracy)"


@dataclass(frozen=True)
class Analysis:
    """One set of analysis choices: the primary analysis, or an alternative of the stability table.

    ``tolerance``: the target tolerance of epochs to target (None = the primary
    one); ``alternative``: ``two-sided`` or ``one-sided`` (in the paper's
    direction) for the tests of a claimed direction; ``task_set``: a key of
    :data:`TASK_SETS`.
    """

    measure: str = "epochs_needed"
    tolerance: float | None = None
    alternative: str = "two-sided"
    task_set: str = "all"
    alpha: float = 0.05

    @property
    def suffix(self) -> str:
        """Column suffix of the per-trial epochs to target at this tolerance."""
        return "" if self.tolerance is None else tolerance_suffix(self.tolerance)

    def sided(self, direction: str) -> str:
        """scipy's ``alternative`` for a test whose claimed direction is ``direction``."""
        return "two-sided" if self.alternative == "two-sided" else direction

    @property
    def ci_level(self) -> float:
        """Confidence level of the CIs of directional effects: 1 - alpha, or 1 - 2 alpha."""
        return 1 - self.alpha if self.alternative == "two-sided" else 1 - 2 * self.alpha

    def measure_label(self, measure: str | None = None) -> str:
        """A measure's name in tests.csv, with the tolerance where it matters."""
        measure = measure or self.measure
        label = MEASURES[measure]
        if measure != "epochs_needed" and self.tolerance is not None:
            label += f" (tolerance {self.tolerance:g})"
        return label


@dataclass
class Settings:
    """The statistics section of the config that the tests use."""

    alpha: float = 0.05
    equivalence_margin: float = 0.01
    bootstrap_seed: int = 0
    permutations: int = 9999
    magnitude: dict = field(default_factory=lambda: {"factor": 10, "often": 0.5, "partly": 0.25})
    budget_hit: float = 0.95

    @classmethod
    def from_config(cls, statistics: Mapping) -> Settings:
        """From the config's ``statistics`` section (defaults for missing keys)."""
        stability = statistics.get("stability", {})
        return cls(
            alpha=statistics["alpha"],
            equivalence_margin=statistics["equivalence_margin"],
            bootstrap_seed=statistics["bootstrap_seed"],
            permutations=statistics.get("permutations", 9999),
            magnitude=dict(statistics.get("magnitude", cls().magnitude)),
            budget_hit=stability.get("budget_hit", 0.95),
        )


@dataclass
class Study:
    """Everything the statistics read: the per-task table and each task's metrics."""

    tasks: pd.DataFrame
    per_task: dict[str, tuple[pd.DataFrame, pd.DataFrame]]
    large_task: str | None = None

    def subset(self, tasks: list[str]) -> Study:
        """The same study restricted to ``tasks``."""
        return Study(
            self.tasks[self.tasks["task"].isin(tasks)].reset_index(drop=True),
            {t: m for t, m in self.per_task.items() if t in tasks},
            self.large_task if self.large_task in tasks else None,
        )


@dataclass
class TestResult:
    """One row of tests.csv.

    ``p_adjusted`` is the raw p-value unless a family of tests is Holm-adjusted
    (the within-task tests, see :func:`holm`). ``alternative``: ``two-sided``,
    ``greater``, ``less``, ``equivalence`` (TOST), ``omnibus`` (Friedman) or
    ``descriptive`` (a share with its CI, no test). ``censored``: how many tasks
    or trials of each method were censored.
    """

    claim: str
    test: str
    measure: str = ""
    alternative: str = "two-sided"
    statistic: float = np.nan
    p_value: float = np.nan
    p_adjusted: float = np.nan
    effect: float = np.nan
    effect_name: str = ""
    ci_level: float = np.nan
    ci_low: float = np.nan
    ci_high: float = np.nan
    n: int = 0
    censored: str = ""
    computable: bool = True
    notes: str = ""

    def __post_init__(self) -> None:
        if np.isnan(self.p_adjusted):
            self.p_adjusted = self.p_value


def not_computable(claim: str, test: str, why: str, n: int = 0, **fields) -> TestResult:
    """A row that says why a test could not be run."""
    return TestResult(claim, test, n=n, computable=False, notes=f"not computable: {why}", **fields)


def signed_rank(
    claim: str,
    test: str,
    differences: np.ndarray,
    alternative: str,
    minimum: int = MIN_TASKS,
    **fields,
) -> TestResult:
    """Wilcoxon signed-rank test on paired differences (zeros dropped, as is standard)."""
    d = np.asarray(differences, dtype=float)
    d = d[np.isfinite(d)]
    fields["alternative"] = alternative
    if len(d) < minimum:
        return not_computable(claim, test, f"only {len(d)} pairs", len(d), **fields)
    if np.all(d == 0):
        return not_computable(claim, test, "all differences are zero (all tied)", len(d), **fields)
    result = sps.wilcoxon(d, alternative=alternative, zero_method="wilcox")
    return TestResult(
        claim,
        test,
        statistic=float(result.statistic),
        p_value=float(result.pvalue),
        effect=float(np.median(d)),
        effect_name="median difference",
        n=len(d),
        **fields,
    )


def bootstrap_median(
    values: np.ndarray, seed: int, level: float = 0.95, resamples: int = 9999
) -> tuple[float, float]:
    """Percentile CI of the median (scipy.stats.bootstrap; BCa fails on tied data)."""
    ci = sps.bootstrap(
        (values,),
        np.median,
        n_resamples=resamples,
        confidence_level=level,
        method="percentile",
        random_state=np.random.default_rng(seed),
    ).confidence_interval
    return float(ci.low), float(ci.high)


def holm(results: list[TestResult]) -> None:
    """Holm-adjust the p-values of the computable results, in place."""
    index = [i for i, r in enumerate(results) if r.computable]
    if index:
        adjusted = multipletests([results[i].p_value for i in index], method="holm")[1]
        for i, p in zip(index, adjusted, strict=True):
            results[i].p_adjusted = float(p)


def t_pvalue(t: float, df: float, alternative: str) -> float:
    """p-value of a t statistic: ``two-sided``, ``greater`` or ``less``."""
    if alternative == "greater":
        return float(sps.t.sf(t, df))
    if alternative == "less":
        return float(sps.t.cdf(t, df))
    return float(2 * sps.t.sf(abs(t), df))


def censored_text(counts: Mapping[str, tuple[int, int]], unit: str = "trials") -> str:
    """``"on-line 2 of 10, batch 3 of 10 trials"`` from ``{method: (censored, total)}``."""
    parts = [f"{name} {k} of {n}" for name, (k, n) in counts.items()]
    return ", ".join(parts) + f" {unit}"


# ---- Per-task speeds ---------------------------------------------------------------------


def task_speeds(study: Study, analysis: Analysis, measure: str) -> pd.DataFrame:
    """Per task, each method's value on ``measure`` and whether it is censored (a lower bound).

    Columns: task, train_size, online, batch, online_censored, batch_censored (bool),
    online_trials_censored, batch_trials_censored, trials (per method; NaN for epochs
    needed, a trial-mean measure), batch_budget, speedup (batch / on-line, floored at 1).
    """
    table = study.tasks.set_index("task")
    rows = []
    for task in table.index:
        facts = table.loc[task]
        row = {
            "task": task,
            "train_size": facts["train_size"],
            "batch_budget": facts.get("batch_budget", np.nan),
        }
        if measure == "epochs_needed":
            for name in ("online", "batch"):
                row[name] = facts[f"{name}_epochs"]
                row[f"{name}_censored"] = bool(facts.get(f"{name}_needed_censored", False))
                row[f"{name}_trials_censored"] = row["trials"] = np.nan
        else:
            if task not in study.per_task:
                continue
            rates, trials = study.per_task[task]
            times, horizon = method_times(rates, trials, [ONLINE, FULL], analysis.suffix)
            if len(times) < 2:
                continue
            for name, batch_size in (("online", ONLINE), ("batch", FULL)):
                mine = times[batch_size]
                if measure == "epochs_to_target":
                    row[name] = float(np.median(mine.times))
                    row[f"{name}_censored"] = mine.n_censored >= len(mine.times) / 2
                else:
                    row[name] = restricted_mean(mine, horizon)
                    row[f"{name}_censored"] = False  # restricted to the horizon by definition
                row[f"{name}_trials_censored"] = mine.n_censored
                row["trials"] = len(mine.times)
        rows.append(row)
    speeds = pd.DataFrame(rows)
    if speeds.empty:
        return speeds
    speeds = speeds.dropna(subset=["online", "batch"])
    speeds["speedup"] = speeds["batch"].clip(lower=1) / speeds["online"].clip(lower=1)
    return speeds.reset_index(drop=True)


def speeds_censored(speeds: pd.DataFrame) -> str:
    """The ``censored`` text of an across-task speed row."""
    tasks = {
        name: (int(speeds[f"{name}_censored"].sum()), len(speeds)) for name in ("online", "batch")
    }
    text = "tasks with a censored value: " + censored_text(
        {"on-line": tasks["online"], "batch": tasks["batch"]}, "tasks"
    )
    if speeds["trials"].notna().any():
        trials = {
            label: (int(speeds[f"{name}_trials_censored"].sum()), int(speeds["trials"].sum()))
            for label, name in (("on-line", "online"), ("batch", "batch"))
        }
        text += "; trials censored at the common horizon: " + censored_text(trials)
    return text


def exceeds(speeds: pd.DataFrame, factor: float) -> pd.Series:
    """Tasks whose speed-up is known to be at least ``factor``.

    A ratio with a censored on-line value is an upper bound (unknown when both are
    censored), so it never counts; one with only batch censored is a lower bound
    and counts when it reaches the factor.
    """
    return (speeds["speedup"] >= factor) & ~speeds["online_censored"].astype(bool)


# ---- C1: batch is slower, often by orders of magnitude -----------------------------------


def c1_across(speeds: pd.DataFrame, analysis: Analysis, measure: str, seed: int) -> TestResult:
    """Signed-rank on log(batch / on-line) across tasks, with a bootstrap CI of the median."""
    label = analysis.measure_label(measure)
    name = "across tasks: signed-rank on log speed-up (batch / on-line)"
    if speeds.empty:
        return not_computable("C1", name, "no task with both methods", measure=label)
    ratio = np.log(speeds["speedup"].to_numpy(float))
    result = signed_rank(
        "C1",
        name,
        ratio,
        analysis.sided("greater"),
        measure=label,
        censored=speeds_censored(speeds),
    )
    if result.computable:
        speedups = np.exp(ratio)
        result.effect, result.effect_name = float(np.median(speedups)), "median speed-up"
        result.ci_level = analysis.ci_level
        result.ci_low, result.ci_high = bootstrap_median(speedups, seed, analysis.ci_level)
    return result


def c1_magnitude(speeds: pd.DataFrame, analysis: Analysis, measure: str, factor: float):
    """The share of tasks whose speed-up is at least ``factor`` (Clopper-Pearson CI)."""
    label = analysis.measure_label(measure)
    name = f"across tasks: share of tasks with speed-up >= {factor:g}x"
    fields = {"measure": label, "alternative": "descriptive"}
    if len(speeds) < MIN_TASKS:
        return not_computable(
            "C1 magnitude", name, f"only {len(speeds)} tasks", len(speeds), **fields
        )
    hits = int(exceeds(speeds, factor).sum())
    ci = sps.binomtest(hits, len(speeds)).proportion_ci(analysis.ci_level, method="exact")
    return TestResult(
        "C1 magnitude",
        name,
        statistic=float(hits),
        effect=hits / len(speeds),
        effect_name="share of tasks",
        ci_level=analysis.ci_level,
        ci_low=float(ci.low),
        ci_high=float(ci.high),
        n=len(speeds),
        censored=speeds_censored(speeds),
        notes="a speed-up counts only when known to reach the factor (on-line not censored)",
        **fields,
    )


def within_task_speed(study: Study, analysis: Analysis) -> list[TestResult]:
    """Per task, signed-rank over trials of epochs to target (batch - on-line); Holm-adjusted.

    Both methods are censored at their common horizon first. Trials pair by position:
    :func:`survival.method_times` keeps each method's trials in trial order, and every
    method runs the same trials.
    """
    results = []
    label = analysis.measure_label("epochs_to_target")
    for task, (rates, trials) in study.per_task.items():
        name = f"{task}: signed-rank over trials, epochs to target, batch vs on-line"
        times, horizon = method_times(rates, trials, [ONLINE, FULL], analysis.suffix)
        if len(times) < 2:
            results.append(not_computable("C1", name, "a method is missing", measure=label))
            continue
        online, batch = times[ONLINE], times[FULL]
        pairs = min(len(online.times), len(batch.times))
        result = signed_rank(
            "C1",
            name,
            batch.times[:pairs] - online.times[:pairs],
            analysis.sided("greater"),
            MIN_TRIALS,
            measure=label,
            censored=censored_text(
                {
                    "on-line": (online.n_censored, len(online.times)),
                    "batch": (batch.n_censored, len(batch.times)),
                }
            ),
        )
        result.notes = (result.notes + f" common horizon {horizon:g} epochs").strip()
        results.append(result)
    holm(results)
    return results


def c1_speed(
    study: Study, analysis: Analysis, settings: Settings, within: bool = True
) -> list[TestResult]:
    """C1: batch needs more epochs than on-line, on every measure; shares of large speed-ups.

    ``within``: also the per-task tests over trials (evidence only; no verdict uses them).
    """
    rows, shares = [], []
    factors = sorted({*MAGNITUDES, settings.magnitude["factor"]})
    for measure in MEASURES:
        speeds = task_speeds(study, analysis, measure)
        rows.append(c1_across(speeds, analysis, measure, settings.bootstrap_seed))
        shares += [c1_magnitude(speeds, analysis, measure, f) for f in factors]
    return [*rows, *shares, *(within_task_speed(study, analysis) if within else [])]


# ---- C2: the gap grows with training-set size --------------------------------------------


def ols_coefficient(
    claim: str,
    test: str,
    y: np.ndarray,
    x: np.ndarray,
    analysis: Analysis,
    direction: str,
    covariates: np.ndarray | None = None,
    **fields,
) -> TestResult:
    """OLS (statsmodels) of ``y`` on ``x`` (and ``covariates``): ``x``'s coefficient and CI."""
    design = x[:, None] if covariates is None else np.column_stack([x, covariates])
    fit = sm.OLS(y, sm.add_constant(design)).fit()
    low, high = fit.conf_int(alpha=1 - analysis.ci_level)[1]
    alternative = analysis.sided(direction)
    fields = {k: v for k, v in fields.items() if k != "alternative"}
    return TestResult(
        claim,
        test,
        alternative=alternative,
        statistic=float(fit.tvalues[1]),
        p_value=t_pvalue(float(fit.tvalues[1]), fit.df_resid, alternative),
        effect=float(fit.params[1]),
        effect_name="slope (log-log)",
        ci_level=analysis.ci_level,
        ci_low=float(low),
        ci_high=float(high),
        n=len(x),
        **fields,
    )


def c2_size(speeds: pd.DataFrame, analysis: Analysis | None = None) -> list[TestResult]:
    """C2: the speed-up grows with size (Spearman; log-log slope; slope given the batch budget).

    The third row adds log(batch budget at its best rate) as a covariate: smaller rates
    get longer budgets, and batch's best rate falls with size, so size and budget are
    confounded. When every budget is the same the adjustment is moot (not computable).
    """
    analysis = analysis or Analysis()
    label = analysis.measure_label()
    names = (
        "across tasks: Spearman correlation of speed-up with training size",
        "across tasks: OLS slope of log speed-up on log training size",
        "across tasks: OLS slope of log speed-up on log training size, given log batch budget",
    )
    ok = speeds[(speeds["speedup"] > 0) & np.isfinite(speeds["speedup"])] if len(speeds) else speeds
    fields = {"measure": label, "alternative": analysis.sided("greater")}
    if len(ok) < MIN_TASKS:
        return [not_computable("C2", n, f"only {len(ok)} tasks", len(ok), **fields) for n in names]
    if ok["speedup"].nunique() == 1:
        return [not_computable("C2", n, "all speed-ups tied", len(ok), **fields) for n in names]
    fields["censored"] = speeds_censored(ok)
    rho = sps.spearmanr(ok["train_size"], ok["speedup"], alternative=analysis.sided("greater"))
    x, y = np.log(ok["train_size"].to_numpy(float)), np.log(ok["speedup"].to_numpy(float))
    rows = [
        TestResult(
            "C2",
            names[0],
            statistic=float(rho.statistic),
            p_value=float(rho.pvalue),
            effect=float(rho.statistic),
            effect_name="Spearman rho",
            n=len(ok),
            **fields,
        ),
        ols_coefficient("C2", names[1], y, x, analysis, "greater", **fields),
    ]
    budget = np.log(ok["batch_budget"].to_numpy(float))
    if not np.all(np.isfinite(budget)) or np.ptp(budget) == 0:
        rows.append(
            not_computable("C2", names[2], "every batch budget is the same", len(ok), **fields)
        )
    elif len(ok) < MIN_TASKS + 1:
        rows.append(not_computable("C2", names[2], f"only {len(ok)} tasks", len(ok), **fields))
    else:
        adjusted = ols_coefficient("C2", names[2], y, x, analysis, "greater", budget, **fields)
        adjusted.effect_name = "slope on log size (budget-adjusted)"
        rows.append(adjusted)
    return rows


# ---- C3: the same accuracy ---------------------------------------------------------------


def tost(diff: np.ndarray, batch: np.ndarray, online: np.ndarray, margin: float, alpha: float):
    """TOST (statsmodels ``ttost_paired``) of batch - on-line within +-``margin``.

    The TOST p-value is the larger of the two one-sided p-values; the statistic
    reported is the t of that same one-sided test.
    """
    name = f"across tasks: TOST equivalence of test accuracy within +-{margin:g}"
    fields = {"measure": "test accuracy", "alternative": "equivalence", "censored": ACCURACY}
    if len(diff) < MIN_TASKS:
        return not_computable("C3", name, f"only {len(diff)} tasks", len(diff), **fields)
    if np.all(diff == diff[0]):
        return not_computable(
            "C3", name, "all differences tied (zero variance)", len(diff), **fields
        )
    p, lower, upper = ttost_paired(batch, online, -margin, margin)
    decisive, side = (lower, "lower") if lower[1] >= upper[1] else (upper, "upper")
    ci = sps.ttest_1samp(diff, 0).confidence_interval(1 - 2 * alpha)
    return TestResult(
        "C3",
        name,
        statistic=float(decisive[0]),
        p_value=float(p),
        effect=float(diff.mean()),
        effect_name="mean difference",
        ci_level=1 - 2 * alpha,
        ci_low=float(ci.low),
        ci_high=float(ci.high),
        n=len(diff),
        notes=(
            f"t of the one-sided test with the larger p (the {side} margin); the CI is the one "
            f"TOST at alpha {alpha:g} compares to the margin"
        ),
        **fields,
    )


def within_task_accuracy(study: Study) -> list[TestResult]:
    """Per task, two-sided signed-rank over trials of test accuracy (batch - on-line); Holm."""
    results = []
    fields = {"measure": "test accuracy", "censored": ACCURACY}
    for task, (rates, trials) in study.per_task.items():
        name = f"{task}: signed-rank over trials, test accuracy, batch vs on-line"
        online, batch = (best_rate_trials(rates, trials, b) for b in (ONLINE, FULL))
        if online.empty or batch.empty:
            results.append(not_computable("C3", name, "a method is missing", **fields))
            continue
        pairs = (
            batch.set_index("trial")["test_acc_at_needed"]
            - online.set_index("trial")["test_acc_at_needed"]
        )
        results.append(
            signed_rank("C3", name, pairs.dropna().to_numpy(), "two-sided", MIN_TRIALS, **fields)
        )
    holm(results)
    return results


def c3_accuracy(study: Study, settings: Settings, within: bool = True) -> list[TestResult]:
    """C3: no accuracy difference (two-sided signed-rank; equivalence by TOST within the margin).

    ``within``: also the per-task tests over trials (evidence only).
    """
    pairs = study.tasks[["batch_acc", "online_acc"]].dropna()
    diff = (pairs["batch_acc"] - pairs["online_acc"]).to_numpy()
    across = signed_rank(
        "C3",
        "across tasks: signed-rank on test accuracy (batch - on-line)",
        diff,
        "two-sided",
        measure="test accuracy",
        censored=ACCURACY,
    )
    equivalence = tost(
        diff,
        pairs["batch_acc"].to_numpy(),
        pairs["online_acc"].to_numpy(),
        settings.equivalence_margin,
        settings.alpha,
    )
    return [across, equivalence, *(within_task_accuracy(study) if within else [])]


# ---- C4: larger batches need smaller rates and more epochs -------------------------------


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
    results, cd_data = [], pd.DataFrame()
    label = analysis.measure_label("epochs_to_target")
    matrix, counts, horizon = batch_matrix((rates, trials), analysis.suffix)
    censored = f"at the common horizon {horizon:g} epochs: " + censored_text(counts)
    k, n = matrix.shape[1], matrix.shape[0]
    accuracy = batch_accuracy(rates, trials)
    for name, data, fields in (
        (
            "large task: Friedman over batch sizes, epochs to target",
            matrix,
            {"measure": label, "censored": censored},
        ),
        (
            "large task: Friedman over batch sizes, test accuracy",
            accuracy,
            {"measure": "test accuracy", "censored": ACCURACY},
        ),
    ):
        fields["alternative"] = "omnibus"
        kk, nn = data.shape[1], data.shape[0]
        if kk < 3 or nn < MIN_TRIALS:
            results.append(
                not_computable("C4", name, f"{kk} batch sizes x {nn} trials", nn, **fields)
            )
            continue
        if (data.nunique(axis=1) == 1).all():
            results.append(
                not_computable("C4", name, "all batch sizes tied in every trial", nn, **fields)
            )
            continue
        friedman = sps.friedmanchisquare(*data.T.to_numpy())
        results.append(
            TestResult(
                "C4",
                name,
                statistic=float(friedman.statistic),
                p_value=float(friedman.pvalue),
                effect=nemenyi_critical_difference(kk, nn),
                effect_name="Nemenyi critical difference",
                n=nn,
                notes=f"{kk} batch sizes",
                **fields,
            )
        )
    page_name = "large task: Page's trend test, epochs to target rise with batch size"
    page_fields = {"measure": label, "alternative": analysis.sided("greater"), "censored": censored}
    if k >= 3 and n >= MIN_TRIALS and not (matrix.nunique(axis=1) == 1).all():
        cd_data = critical_difference_data(matrix)
        statistic, p = page_trend(
            matrix.to_numpy(),
            analysis.sided("greater"),
            settings.permutations,
            settings.bootstrap_seed,
        )
        expected = n * k * (k + 1) ** 2 / 4
        results.append(
            TestResult(
                "C4",
                page_name,
                statistic=statistic,
                p_value=p,
                effect=statistic - expected,
                effect_name="L - E[L] (> 0: rising)",
                n=n,
                notes=f"permutation p-value (ties from censoring allowed), {k} batch sizes",
                **page_fields,
            )
        )
    else:
        results.append(
            not_computable("C4", page_name, f"{k} batch sizes x {n} trials", n, **page_fields)
        )
    results.append(best_rate_slope(rates, n_train, analysis))
    return results, cd_data


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


def best_rate_slope(rates: pd.DataFrame, n_train: int, analysis: Analysis) -> TestResult:
    """OLS slope of log best rate on log batch size (the paper: it falls)."""
    best = rates[rates["best"].astype(bool)]
    name = "large task: OLS slope of log best rate on log batch size"
    fields = {"measure": "best learning rate", "censored": "n/a (rates)"}
    if len(best) < 3 or best["lr"].nunique() == 1:
        return not_computable(
            "C4",
            name,
            f"{len(best)} batch sizes, {best['lr'].nunique()} distinct best rates",
            len(best),
            alternative=analysis.sided("less"),
            **fields,
        )
    sizes = positions(best["batch_size"], n_train)
    x, y = np.log(sizes.to_numpy(float)), np.log(best["lr"].to_numpy(float))
    return ols_coefficient("C4", name, y, x, analysis, "less", **fields)


# ---- Everything ---------------------------------------------------------------------------


def grid_edge_tasks(study: Study) -> list[str]:
    """Tasks where either method's best rate is the largest or the smallest rate tried."""
    edge = []
    for task, (rates, _) in study.per_task.items():
        grid = rates["lr"]
        best = rates[rates["best"].astype(bool) & rates["batch_size"].isin([ONLINE, FULL])]["lr"]
        if np.isclose(best, grid.max()).any() or np.isclose(best, grid.min()).any():
            edge.append(task)
    return edge


def budget_hit_tasks(study: Study, fraction: float) -> list[str]:
    """Tasks where either method's epochs needed reach ``fraction`` of its budget (or it did not
    learn)."""
    table = study.tasks
    hit = pd.Series(False, index=table.index)
    for name in ("online", "batch"):
        hit |= table[f"{name}_epochs"] >= fraction * table[f"{name}_budget"]
        hit |= table[f"{name}_needed_censored"].astype(bool)
    return table.loc[hit, "task"].tolist()


def select_tasks(study: Study, task_set: str, budget_hit: float) -> Study:
    """The study on one task set of the stability analysis (:data:`TASK_SETS`)."""
    tasks = list(study.tasks["task"])
    drop = {
        "all": [],
        "without_large": [study.large_task],
        "without_grid_edge": grid_edge_tasks(study),
        "without_budget_hit": budget_hit_tasks(study, budget_hit),
    }[task_set]
    return study.subset([t for t in tasks if t not in drop])


def across_tests(
    study: Study, analysis: Analysis, settings: Settings, within: bool = True
) -> list[TestResult]:
    """C1, C2 and C3 on the analysis' task set."""
    chosen = select_tasks(study, analysis.task_set, settings.budget_hit)
    return [
        *c1_speed(chosen, analysis, settings, within),
        *c2_size(task_speeds(chosen, analysis, analysis.measure), analysis),
        *c3_accuracy(chosen, settings, within),
    ]


def all_tests(
    study: Study, analysis: Analysis, settings: Settings, within: bool = True
) -> tuple[list[TestResult], pd.DataFrame]:
    """Every test under ``analysis``, and the large task's critical-difference data.

    ``within``: also the per-task tests over trials (the verdicts do not use them).
    """
    results = across_tests(study, analysis, settings, within)
    if study.large_task in study.per_task:
        sizes = study.tasks.set_index("task")["train_size"]
        c4, cd_data = c4_batch_size(
            *study.per_task[study.large_task], int(sizes[study.large_task]), analysis, settings
        )
    else:
        c4 = [not_computable("C4", "large task: batch-size sweep", "the suite has no large task")]
        cd_data = pd.DataFrame(columns=["batch_size", "average_rank", "critical_difference"])
    return [*results, *c4], cd_data


def results_table(results: list[TestResult]) -> pd.DataFrame:
    """tests.csv: one row per test."""
    return pd.DataFrame([asdict(r) for r in results])


def time_to_target_table(study: Study, analysis: Analysis) -> pd.DataFrame:
    """Per task, the censoring-aware summary of epochs to target at the common horizon.

    Per method (at its best rate): trials, censored trials, Kaplan-Meier median
    (inf: not reached by the horizon) and restricted mean; the ratio of restricted
    means (batch / on-line, floored at 1 epoch) and the two-sided log-rank p-value,
    raw and Holm-adjusted over tasks.
    """
    rows = []
    for task, (rates, trials) in study.per_task.items():
        times, horizon = method_times(rates, trials, [ONLINE, FULL], analysis.suffix)
        if len(times) < 2:
            continue
        row = {"task": task, "horizon": horizon}
        for name, batch_size in (("online", ONLINE), ("batch", FULL)):
            mine: Censored = times[batch_size]
            row[f"{name}_trials"] = len(mine.times)
            row[f"{name}_censored"] = mine.n_censored
            row[f"{name}_km_median"] = km_median(mine)
            row[f"{name}_restricted_mean"] = restricted_mean(mine, horizon)
        row["restricted_mean_ratio"] = max(row["batch_restricted_mean"], 1) / max(
            row["online_restricted_mean"], 1
        )
        row["logrank_p"] = logrank_p(times[ONLINE], times[FULL])
        rows.append(row)
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    sizes = study.tasks.set_index("task")["train_size"]
    table.insert(1, "train_size", table["task"].map(sizes))
    ok = table["logrank_p"].notna()
    table["logrank_p_holm"] = np.nan
    if ok.any():
        table.loc[ok, "logrank_p_holm"] = multipletests(table.loc[ok, "logrank_p"], method="holm")[
            1
        ]
    return table.sort_values(["train_size", "task"]).reset_index(drop=True)


def read_study(
    tasks_table: Path,
    tasks: list[str],
    rates: list[Path],
    trials: list[Path],
    large_task: str | None,
) -> Study:
    """The study from the metrics files and the per-task table."""
    read = {"batch_size": str}
    per_task = {
        task: (pd.read_csv(r, dtype=read), pd.read_csv(t, dtype=read))
        for task, r, t in zip(tasks, rates, trials, strict=True)
    }
    return Study(pd.read_csv(tasks_table), per_task, large_task)


def primary_analysis(statistics: Mapping) -> Analysis:
    """The primary analysis of the config (epochs needed, primary tolerance, all tasks)."""
    return Analysis(
        alternative=statistics.get("alternative", "two-sided"), alpha=statistics["alpha"]
    )


def alternative_analyses(statistics: Mapping, primary_tolerance: float) -> dict[str, Analysis]:
    """The stability table's columns: the primary analysis, then one change at a time.

    Declared in the config (``statistics.stability``) before any result is seen.
    """
    primary = primary_analysis(statistics)
    stability = statistics["stability"]
    columns = {"primary": primary}
    for measure in stability["measures"]:
        if measure != primary.measure:
            columns[f"measure: {MEASURES[measure]}"] = replace(primary, measure=measure)
    for tolerance in stability["tolerances"]:
        if not np.isclose(tolerance, primary_tolerance):
            columns[f"epochs to target, tolerance {tolerance:g}"] = replace(
                primary, measure="epochs_to_target", tolerance=tolerance
            )
    for alternative in stability["alternatives"]:
        if alternative != primary.alternative:
            columns[alternative] = replace(primary, alternative=alternative)
    for task_set in stability["task_sets"]:
        if task_set != primary.task_set:
            columns[f"tasks: {TASK_SETS[task_set]}"] = replace(primary, task_set=task_set)
    return columns
