"""Analyses: which tasks an analysis keeps, every test of one analysis, the primary and
the alternative analyses declared in the config, and reading a study from the metrics.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
from statsmodels.stats.multitest import multipletests

from batch_inefficiency.batch_sizes import FULL, ONLINE
from batch_inefficiency.stats.survival import (
    Censored,
    km_median,
    logrank_p,
    method_times,
    restricted_mean,
)

from .accuracy import c3_accuracy
from .batch_sweep import (
    c4_batch_size,
)
from .common import (
    MEASURES,
    TASK_SETS,
    Analysis,
    Settings,
    Study,
    TestResult,
    not_computable,
)
from .speed import (
    c1_speed,
    c2_size,
    task_speeds,
)

TIES_COLUMN = "ties to the smaller rate"
C3_ALL_COLUMN = "C3: every task, within the paper's budgets"
C4_OBSERVED_COLUMN = "C4: batch sizes mostly observed"


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


def finished_tasks(study: Study, settings: Settings) -> tuple[Study, str]:
    """The study on the tasks where both methods finished (C3 once trained), and the text
    that says so."""
    finished = select_tasks(study, "without_budget_hit", settings.budget_hit)
    scope = f"tasks where both methods finished: {len(finished.tasks)} of {len(study.tasks)}"
    return finished, scope


def across_tests(
    study: Study, analysis: Analysis, settings: Settings, within: bool = True
) -> list[TestResult]:
    """C1, C2 and C3 on the analysis' task set (C3 on its finished tasks, unless asked for all)."""
    chosen = select_tasks(study, analysis.task_set, settings.budget_hit)
    accuracy, scope = (
        finished_tasks(chosen, settings)
        if analysis.c3_tasks == "finished"
        else (chosen, f"every task, within the paper's budgets: {len(chosen.tasks)}")
    )
    return [
        *c1_speed(chosen, analysis, settings, within),
        *c2_size(task_speeds(chosen, analysis, analysis.measure), analysis),
        *c3_accuracy(accuracy, settings, within, scope),
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
    # docs/statistics.md, "Finished runs, ties and attainable p-values"
    columns[TIES_COLUMN] = primary  # on the study with ties re-chosen (verdict_stability)
    columns[C3_ALL_COLUMN] = replace(primary, c3_tasks="all")
    columns[C4_OBSERVED_COLUMN] = replace(primary, c4_sizes="observed")
    return columns
