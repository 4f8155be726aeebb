"""The statistics stage of the pipeline: read metrics, run every test, write the tables.

It reads the metrics (per task: rates.csv, trials.csv) and the per-task table
only, never a run file, so the committed metrics of a reference run are enough
to recompute every statistics table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from batch_inefficiency.stats import (
    Settings,
    Study,
    all_tests,
    alternative_analyses,
    primary_analysis,
    read_study,
    results_table,
    time_to_target_table,
)
from batch_inefficiency.stats.analyses import TIES_COLUMN
from batch_inefficiency.stats.stability import (
    verdict_stability,
    with_stability,
    with_study_claims,
    with_within_claim,
    with_within_task,
)
from batch_inefficiency.stats.verdicts import claims_table
from batch_inefficiency.studies.replication.metrics import mark_best
from batch_inefficiency.studies.replication.tables import task_row, write_table


def with_ties(study: Study, ties: str, budget_hit: float) -> Study:
    """The study with every method's best rate chosen again, exact ties going to ``ties``
    ("larger" or "smaller"); the per-task row of a task whose choice changed is rebuilt."""
    info = ["classes", "inputs", "train_size", "hold_size"]
    per_task, rows = {}, study.tasks.set_index("task")
    for task, (rates, trials) in study.per_task.items():
        chosen = mark_best(rates.drop(columns=["best", "speedup_vs_online"], errors="ignore"), ties)
        per_task[task] = (chosen, trials)
        if chosen["best"].equals(rates["best"].astype(bool)) or task not in rows.index:
            continue
        facts = {k: rows.loc[task, k] for k in info if k in rows}
        rows.loc[task] = pd.Series(task_row(task, facts, chosen, trials, budget_hit))
    return Study(rows.reset_index(), per_task, study.large_task)


def write_statistics(
    tasks: list[str],
    tasks_table: Path,
    rates: list[Path],
    trials: list[Path],
    large_task: str | None,
    statistics: Mapping,
    target_tolerance: float,
    out: Mapping[str, Path],
    study_claims: Sequence[Path] = (),
) -> pd.DataFrame:
    """tests.*, claims.*, verdict_stability.*, time_to_target.* and critical_difference.csv.

    ``statistics``: the config's ``statistics`` section; ``target_tolerance``: the
    primary tolerance (metrics.target_tolerance). ``out`` keys: tests, tests_md,
    tests_tex, claims, claims_md, claims_tex, stability, stability_md, stability_tex,
    time_to_target, time_to_target_md, time_to_target_tex, critical_difference.
    ``study_claims``: the claim tables of the studies beyond the paper (the registry's
    ``claim_table``): a row of a claim tested here (C2 in the size sweep) joins that claim's
    row as its within-task verdict, any other (C5) is a row of its own. Returns the claims
    table.
    """
    study = read_study(tasks_table, tasks, rates, trials, large_task)
    settings = Settings.from_config(statistics)
    primary = primary_analysis(statistics)
    results, cd_data = all_tests(study, primary, settings)
    tests = results_table(results)
    stability = verdict_stability(
        study,
        alternative_analyses(statistics, target_tolerance),
        settings,
        {TIES_COLUMN: with_ties(study, "smaller", settings.budget_hit)},
    )
    claims = claims_table(tests, settings.alpha, settings.magnitude, primary.measure_label())
    others = [pd.read_csv(path) for path in study_claims]
    within = [frame for frame in others if frame["claim"].isin(claims["claim"]).all()]
    for frame in within:
        stability = with_within_task(stability, str(frame["verdict"].iloc[0]))
        claims = with_within_claim(claims, frame)
    claims = with_stability(claims, stability)
    own = [frame for frame in others if not frame["claim"].isin(claims["claim"]).any()]
    claims, stability = with_study_claims(claims, stability, own)
    write_table(tests, out["tests"], out["tests_md"], out["tests_tex"])
    write_table(claims, out["claims"], out["claims_md"], out["claims_tex"])
    write_table(stability, out["stability"], out["stability_md"], out["stability_tex"])
    write_table(
        time_to_target_table(study, primary),
        out["time_to_target"],
        out["time_to_target_md"],
        out["time_to_target_tex"],
    )
    cd_data.to_csv(out["critical_difference"], index=False, lineterminator="\n")
    return claims
