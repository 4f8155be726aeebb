"""What every test shares: the analysis being run, its settings, the study's inputs, one result row.

Also the small helpers every claim uses: a signed-rank test with a bootstrap CI, Holm's
correction, a t p-value of any sidedness, and the censoring note of a row.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
from scipy import stats as sps
from statsmodels.stats.multitest import multipletests

from batch_inefficiency.studies.replication.metrics import tolerance_suffix

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
    :data:`TASK_SETS`; ``c3_tasks``, ``c4_sizes``: the alternatives of
    docs/statistics.md, *Finished runs, ties and attainable p-values*.
    """

    measure: str = "epochs_needed"
    tolerance: float | None = None
    alternative: str = "two-sided"
    task_set: str = "all"
    alpha: float = 0.05
    c3_tasks: str = "finished"  # C3 on the tasks where both methods finished, or "all"
    c4_sizes: str = "all"  # C4's trend over every batch size, or the mostly "observed" ones

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


def smallest_signed_rank_p(n: int, alternative: str) -> float:
    """The smallest p-value the exact signed-rank test can reach with ``n`` nonzero pairs:
    every difference of one sign, 2 / 2^n two-sided, 1 / 2^n one-sided."""
    return (2.0 if alternative == "two-sided" else 1.0) / 2.0**n


def unattainable(n: int, smallest: float) -> str:
    """The note of a test that cannot reject at any alpha below ``smallest``."""
    return f"n = {n}: smallest attainable p {smallest:.3g}"


def signed_rank(
    claim: str,
    test: str,
    differences: np.ndarray,
    alternative: str,
    minimum: int = MIN_TASKS,
    alpha: float = 0.05,
    **fields,
) -> TestResult:
    """Wilcoxon signed-rank test on paired differences (zeros dropped, as is standard).

    Not computable where even the most extreme data could not give p < ``alpha``
    (:func:`smallest_signed_rank_p`): such a test cannot reject, so it decides nothing.
    """
    d = np.asarray(differences, dtype=float)
    d = d[np.isfinite(d)]
    fields["alternative"] = alternative
    if len(d) < minimum:
        return not_computable(claim, test, f"only {len(d)} pairs", len(d), **fields)
    if np.all(d == 0):
        return not_computable(claim, test, "all differences are zero (all tied)", len(d), **fields)
    nonzero = int(np.count_nonzero(d))
    smallest = smallest_signed_rank_p(nonzero, alternative)
    if smallest >= alpha:
        return not_computable(claim, test, unattainable(nonzero, smallest), len(d), **fields)
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


def results_table(results: list[TestResult]) -> pd.DataFrame:
    """tests.csv: one row per test."""
    return pd.DataFrame([asdict(r) for r in results])
