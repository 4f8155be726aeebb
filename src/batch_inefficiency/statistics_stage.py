"""The statistics stage of the pipeline: read metrics, run every test, write the tables."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from batch_inefficiency.stats import all_tests, read_task_metrics, results_table
from batch_inefficiency.tables import write_table
from batch_inefficiency.verdicts import claims_table


def write_statistics(
    tasks: list[str],
    tasks_table: Path,
    rates: list[Path],
    trials: list[Path],
    large_task: str | None,
    settings: Mapping,
    out: Mapping[str, Path],
) -> pd.DataFrame:
    """tests.*, claims.* and critical_difference.csv; returns the claims table.

    ``settings``: alpha, equivalence_margin, bootstrap_seed. ``out`` keys: tests,
    tests_md, tests_tex, claims, claims_md, claims_tex, critical_difference.
    """
    per_task = read_task_metrics(tasks, rates, trials)
    table = pd.read_csv(tasks_table)
    sizes = table.set_index("task")["train_size"]
    n_train = int(sizes[large_task]) if large_task in sizes else 0
    results, cd_data = all_tests(
        table,
        per_task,
        large_task,
        n_train,
        settings["equivalence_margin"],
        settings["bootstrap_seed"],
    )
    tests = results_table(results)
    claims = claims_table(tests, settings["alpha"])
    write_table(tests, out["tests"], out["tests_md"], out["tests_tex"])
    write_table(claims, out["claims"], out["claims_md"], out["claims_tex"])
    cd_data.to_csv(out["critical_difference"], index=False, lineterminator="\n")
    return claims
