"""The scaling study's tables and claim C5 (docs/design.md §9).

From every rate search (search.json, trials.csv of each task x batch size), the
step costs and the noise scales:

* ``scaling.{csv,md,tex}``: one row per task x batch size: the search's end
  (interior, edge or censored) and rates tried, the best rate in both conventions, median
  steps / epochs / seconds to target over the best rate's trials with
  order-statistic CIs (∞ = censored: at least the budget), censored trials, the
  regime under the fitted S(B), and the task's B_crit and B_simple.
* ``scaling_fit.{csv,md,tex}``: one row per task: the S(B) fit (S_min, B_crit,
  CIs), B_simple (median, range over trials, at initialisation), their ratio.
* ``scaling_claim.csv``: claim C5 with its verdict (verdicts.verdict_c5).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from batch_inefficiency import batch_sizes
from batch_inefficiency.stats.intervals import median_ci
from batch_inefficiency.stats.verdicts import STATEMENTS, verdict_c5
from batch_inefficiency.studies.replication.tables import write_table
from batch_inefficiency.studies.scaling.fit import (
    NOT_FITTED,
    StepsFit,
    fit_steps,
    regime,
)


def _ci_columns(prefix: str, values: np.ndarray, level: float) -> dict[str, float]:
    ci = median_ci(values, level)
    return {prefix: ci.median, f"{prefix}_low": ci.low, f"{prefix}_high": ci.high}


def search_row(folder: Path, level: float) -> dict:
    """One task x batch size: the search's end and the best rate's steps/epochs to target."""
    info = json.loads((folder / "search.json").read_text())
    trials = pd.read_csv(folder / "trials.csv", dtype={"batch_size": str})
    best = trials[np.isclose(trials["lr"], info["best_lr"])]
    steps = best["steps_to_target"].fillna(np.inf).to_numpy()
    epochs = best["epochs_to_target"].fillna(np.inf).to_numpy()
    return {
        "task": info["task"],
        "batch_size": info["batch_size"],
        "batch_rows": info["batch_rows"],
        "n_train": info["n_train"],
        "target": info["target"],
        "search": info["search"],
        "rates_tried": len(info["rates_tried"]),
        "best_lr_sum": info["best_lr_sum"],
        "best_lr_mean": info["best_lr_mean"],
        "trials": len(best),
        "censored": int(best["censored"].sum()),
        "budget_steps": info["settings"]["max_epochs"]
        * batch_sizes.steps_per_epoch(info["batch_rows"], info["n_train"]),
        **_ci_columns("steps", steps, level),
        "ci_coverage": median_ci(steps, level).coverage,
        **_ci_columns("epochs", epochs, level),
    }


def add_seconds(table: pd.DataFrame, costs: pd.DataFrame) -> pd.DataFrame:
    """Seconds per step and seconds to target (median, CI) for every device measured."""
    table = table.copy()
    for device, rows in costs.groupby("device", sort=False):
        per_step = rows.set_index(["task", "batch_size"])["seconds_per_step"]
        keys = pd.MultiIndex.from_frame(table[["task", "batch_size"]])
        cost = per_step.reindex(keys).to_numpy()
        table[f"seconds_per_step_{device}"] = cost
        table[f"device_name_{device}"] = rows["device_name"].iloc[0]
        for part in ("", "_low", "_high"):
            table[f"seconds_{device}{part}"] = table[f"steps{part}"] * cost
    return table


def fit_task(rows: pd.DataFrame, level: float) -> StepsFit:
    """The S(B) fit of one task's rows (batch sizes with a finite median)."""
    if rows.empty:
        return NOT_FITTED
    return fit_steps(rows["batch_rows"].to_numpy(), rows["steps"].to_numpy(), level)


def noise_summary(noise: pd.DataFrame) -> dict[str, float]:
    """B_simple over trials: median, min, max; at initialisation; on-line trials censored."""
    if noise.empty:
        return dict.fromkeys(("b_simple", "b_simple_min", "b_simple_max", "b_simple_init"), np.nan)
    return {
        "b_simple": float(noise["b_simple"].median()),
        "b_simple_min": float(noise["b_simple"].min()),
        "b_simple_max": float(noise["b_simple"].max()),
        "b_simple_init": float(noise["b_simple_init"].median()),
        "noise_trials_censored": int(noise["censored"].sum()),
    }


def fit_table(table: pd.DataFrame, noise: pd.DataFrame, level: float) -> pd.DataFrame:
    """scaling_fit: per task, S(B) fit with CIs, B_simple and the ratio B_simple / B_crit."""
    rows = []
    for task, mine in table.groupby("task", sort=False):
        fit = fit_task(mine, level)
        summary = noise_summary(noise[noise["task"] == task])
        rows.append(
            {
                "task": task,
                "n_train": int(mine["n_train"].iloc[0]),
                "target": float(mine["target"].iloc[0]),
                "batch_sizes": len(mine),
                "fitted_points": fit.points,
                "s_min": fit.s_min,
                "s_min_low": fit.s_min_low,
                "s_min_high": fit.s_min_high,
                "b_crit": fit.b_crit,
                "b_crit_low": fit.b_crit_low,
                "b_crit_high": fit.b_crit_high,
                **summary,
                "ratio": summary["b_simple"] / fit.b_crit,
                "note": fit.note,
            }
        )
    return pd.DataFrame(rows)


def add_regimes(table: pd.DataFrame, fits: pd.DataFrame) -> pd.DataFrame:
    """Each row's regime under its task's fit, and the task's B_crit and B_simple."""
    per_task = fits.set_index("task")
    table = table.copy()
    table["b_crit"] = table["task"].map(per_task["b_crit"])
    table["b_simple"] = table["task"].map(per_task["b_simple"])
    table["regime"] = [
        regime(b, c) for b, c in zip(table["batch_rows"], table["b_crit"], strict=True)
    ]
    return table


def claim_c5(fits: pd.DataFrame) -> pd.DataFrame:
    """scaling_claim: claim C5's row, in the claims table's columns."""
    verdict, evidence = verdict_c5(fits)
    return pd.DataFrame(
        [{"claim": "C5", "statement": STATEMENTS["C5"], "evidence": evidence, "verdict": verdict}]
    )


def write_scaling_tables(
    searches: Sequence[Path],
    step_costs: Sequence[Path],
    noise: Sequence[Path],
    out: Mapping[str, Path],
    level: float = 0.95,
) -> pd.DataFrame:
    """Write scaling.*, scaling_fit.* and scaling_claim.csv; return the scaling table.

    ``searches``: the search.json files (their folders hold trials.csv);
    ``out`` keys: scaling, scaling_md, scaling_tex, fit, fit_md, fit_tex, claim.
    """
    rows = [search_row(Path(p).parent, level) for p in searches]
    table = pd.DataFrame(rows).assign(order=lambda t: batch_sizes.sort_key(t["batch_size"]))
    table = table.sort_values(["n_train", "task", "order"]).drop(columns="order")
    table = table.reset_index(drop=True)
    costs = pd.concat([pd.read_csv(p, dtype={"batch_size": str}) for p in step_costs])
    table = add_seconds(table, costs)
    noise_frame = pd.concat([pd.read_csv(p) for p in noise]) if noise else pd.DataFrame()
    fits = fit_table(table, noise_frame, level)
    table = add_regimes(table, fits)
    write_table(table, out["scaling"], out["scaling_md"], out["scaling_tex"])
    write_table(fits, out["fit"], out["fit_md"], out["fit_tex"])
    claim_c5(fits).to_csv(out["claim"], index=False, lineterminator="\n")
    return table
