"""The statistics stage of the pipeline: read metrics, run every test, write the tables.

It reads the metrics (per task: rates.csv, trials.csv) and the per-task table
only, never a run file, so the committed metrics of a reference run are enough
to recompute every statistics table.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from batch_inefficiency.stability import (
    verdict_stability,
    with_stability,
    with_within_claim,
    with_within_task,
)
from batch_inefficiency.stats import (
    Settings,
    all_tests,
    alternative_analyses,
    primary_analysis,
    read_study,
    results_table,
    time_to_target_table,
)
from batch_inefficiency.tables import write_table
from batch_inefficiency.verdicts import claims_table


def write_statistics(
    tasks: list[str],
    tasks_table: Path,
    rates: list[Path],
    trials: list[Path],
    large_task: str | None,
    statistics: Mapping,
    target_tolerance: float,
    out: Mapping[str, Path],
    within_task: Path | None = None,
) -> pd.DataFrame:
    """tests.*, claims.*, verdict_stability.*, time_to_target.* and critical_difference.csv.

    ``statistics``: the config's ``statistics`` section; ``target_tolerance``: the
    primary tolerance (metrics.target_tolerance). ``out`` keys: tests, tests_md,
    tests_tex, claims, claims_md, claims_tex, stability, stability_md, stability_tex,
    time_to_target, time_to_target_md, time_to_target_tex, critical_difference.
    Returns the claims table.
    """
    study = read_study(tasks_table, tasks, rates, trials, large_task)
    settings = Settings.from_config(statistics)
    primary = primary_analysis(statistics)
    results, cd_data = all_tests(study, primary, settings)
    tests = results_table(results)
    stability = verdict_stability(
        study, alternative_analyses(statistics, target_tolerance), settings
    )
    claims = claims_table(tests, settings.alpha, settings.magnitude, primary.measure_label())
    if within_task is not None:
        within = pd.read_csv(within_task)
        stability = with_within_task(stability, str(within["verdict"].iloc[0]))
        claims = with_within_claim(claims, within)
    claims = with_stability(claims, stability)
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
