"""The statistics behind each claim of the paper (docs/design.md §6; docs/statistics.md).

Every test comes from scipy.stats, statsmodels or scikit-posthocs; this module
only chooses the inputs, collects the results in one table (one row per test)
and leaves the verdicts to :mod:`batch_inefficiency.stats.verdicts`.

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
at their **common horizon** (:mod:`batch_inefficiency.stats.survival`), so the rank
tests see a censored value as at least as large as every observed one. Each speed
row says how many tasks or trials were censored, per method (``censored``).

**Measures of speed** (C1, C2): *epochs needed* (the paper's: the epoch where the
trial-averaged hold-out accuracy peaks), the median *epochs to target* over
trials, and the Kaplan-Meier *restricted mean* epochs to target (censoring-aware),
each as the ratio batch / on-line per task (epochs floored at 1).

Modules: common.py (analysis, settings, study, result rows, shared helpers), speed.py
(C1, C2), accuracy.py (C3), batch_sweep.py (C4), analyses.py (task sets, the primary
and alternative analyses, every test of one analysis, reading a study).
"""

from .accuracy import c3_accuracy, tost
from .analyses import (
    all_tests,
    alternative_analyses,
    primary_analysis,
    read_study,
    select_tasks,
    time_to_target_table,
)
from .batch_sweep import c4_batch_size, nemenyi_critical_difference, page_trend
from .common import Analysis, Settings, Study, TestResult, results_table, signed_rank
from .speed import c1_speed, c2_size, task_speeds

__all__ = [
    "Analysis",
    "Settings",
    "Study",
    "TestResult",
    "all_tests",
    "alternative_analyses",
    "c1_speed",
    "c2_size",
    "c3_accuracy",
    "c4_batch_size",
    "nemenyi_critical_difference",
    "page_trend",
    "primary_analysis",
    "read_study",
    "results_table",
    "select_tasks",
    "signed_rank",
    "task_speeds",
    "time_to_target_table",
    "tost",
]
