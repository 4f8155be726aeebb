"""The size sweep's tables, log-log slopes and C2's within-task verdict (docs/design.md §10).

* ``size_sweep.{csv,md,tex}``: one row per task x size x method x rates (``tuned``:
  the rate search's best; ``grid``: the best of the paper's rates): the best rate in
  both conventions, median epochs and steps to target over trials with
  order-statistic CIs (∞ = censored: at least the budget), censored trials, and for
  the mini-batch and full batch the speed-up of on-line over them (ratio of median
  epochs to target; ``speedup_bound`` says ``at least`` where only the slower
  method's median is censored and is then taken at the budget; unknown where on-line's is).
* ``size_sweep_fit.{csv,md,tex}``: log-log slopes against size over the sizes where
  both medians were observed (a bound is shown, not fitted), per task (OLS) and
  pooled with task as a factor (OLS with task fixed effects, statsmodels), with CIs:
  the two speed-ups, and full batch's best summed rate and epochs, beside the slope
  the paper's argument predicts (speed-up +1, best rate -1, epochs +1).
* ``size_sweep_claim.csv``: C2's within-task row (verdicts.verdict_c2_within).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf

from batch_inefficiency import batch_sizes
from batch_inefficiency.batch_sizes import FULL, ONLINE
from batch_inefficiency.speedup import speedup
from batch_inefficiency.stats.intervals import median_ci
from batch_inefficiency.stats.verdicts import STATEMENTS, verdict_c2_within
from batch_inefficiency.studies.rate_search import to_conventions
from batch_inefficiency.studies.replication.tables import write_table

RATES = {"tuned": "tuned_best", "grid": "grid_best"}  # rate choice -> trials.csv flag
# quantity -> (method, column of the sweep table, slope the paper's argument predicts)
QUANTITIES = {
    "speed-up over full batch": (FULL, "log_speedup", 1.0),
    "speed-up over the mini-batch": ("mini", "log_speedup", np.nan),
    "best summed rate, full batch": (FULL, "log_lr_sum", -1.0),
    "epochs to target, full batch": (FULL, "log_epochs", 1.0),
}


def method_rows(trials: pd.DataFrame, searches: Sequence[Mapping], level: float) -> list[dict]:
    """Rows of one method's trials.csv: per size and rate choice, the best rate's medians
    (``searches``: searches.json, one summary per size with that size's epoch budget)."""
    rows = []
    info = searches[0]
    reduction = info["reduction"]
    budgets = {int(s["size"]): s["settings"]["max_epochs"] for s in searches}
    for size, at_size in trials.groupby("size", sort=True):
        budget = budgets[int(size)]
        for rates, flag in RATES.items():
            best = at_size[at_size[flag]]
            rows_per_update = batch_sizes.rows(info["batch_size"], int(size))
            lr = float(best["lr"].iloc[0])
            lr_sum, lr_mean = to_conventions(lr, rows_per_update, reduction)
            epochs = median_ci(best["epochs_to_target"].fillna(np.inf).to_numpy(), level)
            steps = median_ci(best["steps_to_target"].fillna(np.inf).to_numpy(), level)
            rows.append(
                {
                    "task": info["task"],
                    "size": int(size),
                    "batch_size": info["batch_size"],
                    "rates": rates,
                    "best_lr_sum": lr_sum,
                    "best_lr_mean": lr_mean,
                    "trials": len(best),
                    "censored": int(best["censored"].sum()),
                    "epochs": epochs.median,
                    "epochs_low": epochs.low,
                    "epochs_high": epochs.high,
                    "steps": steps.median,
                    "steps_low": steps.low,
                    "steps_high": steps.high,
                    "budget_epochs": budget,
                }
            )
    return rows


def add_speedups(table: pd.DataFrame) -> pd.DataFrame:
    """``speedup`` and ``speedup_bound`` of every non-on-line row against on-line's
    (:func:`speedup.speedup`; a censored median, ∞, is at least its budget)."""
    keys = ["task", "size", "rates"]
    online = table[table["batch_size"] == ONLINE].set_index(keys)["epochs"]
    base = online.reindex(pd.MultiIndex.from_frame(table[keys])).to_numpy()
    pairs = [
        speedup(
            slow if np.isfinite(slow) else budget,
            fast if np.isfinite(fast) else budget,  # every method of a size has its budget
            not np.isfinite(slow),
            not np.isfinite(fast),
        )
        if method != ONLINE
        else (np.nan, "")
        for slow, fast, budget, method in zip(
            table["epochs"], base, table["budget_epochs"], table["batch_size"], strict=True
        )
    ]
    return table.assign(speedup=[p[0] for p in pairs], speedup_bound=[p[1] for p in pairs])


def censoring_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per task, rate choice and slower method: how many sizes its median (or on-line's) was
    censored at, how many sizes the slopes count, and the lower-bound speed-ups (≥, taken at
    the budget) at the sizes where only the slower method's median is censored."""
    rows = []
    slower = table[table["batch_size"] != ONLINE]
    online = table[table["batch_size"] == ONLINE].set_index(["task", "rates", "size"])["epochs"]
    for (task, rates, method), part in slower.groupby(["task", "rates", "batch_size"], sort=False):
        fast = online.reindex([(task, rates, n) for n in part["size"]]).to_numpy()
        bounds = part[part["speedup_bound"] == "at least"]
        rows.append(
            {
                "task": task,
                "rates": rates,
                "batch_size": method,
                "sizes": len(part),
                "censored_sizes": int((~np.isfinite(part["epochs"])).sum()),
                "online_censored_sizes": int((~np.isfinite(fast)).sum()),
                "counted_sizes": int((part["speedup_bound"] == "").sum()),
                "lower_bounds": "; ".join(
                    f"≥ {v:.3g} (n={n})"
                    for v, n in zip(bounds["speedup"], bounds["size"], strict=True)
                ),
            }
        )
    return pd.DataFrame(rows)


def slope_row(frame: pd.DataFrame, pooled: bool, level: float) -> dict:
    """OLS slope of y on log size (with task fixed effects if pooled) and its CI."""
    usable = frame[np.isfinite(frame["y"])]
    tasks = usable["task"].nunique()
    dof = len(usable) - 1 - (tasks if pooled else 1)
    if dof < 1 or usable["log_size"].nunique() < 2:
        return {"slope": np.nan, "ci_low": np.nan, "ci_high": np.nan, "p_value": np.nan,
                "points": len(usable)}  # fmt: skip
    formula = "y ~ log_size + C(task)" if pooled and tasks > 1 else "y ~ log_size"
    fit = smf.ols(formula, data=usable).fit()
    low, high = fit.conf_int(alpha=1 - level).loc["log_size"]
    return {
        "slope": float(fit.params["log_size"]),
        "ci_low": float(low),
        "ci_high": float(high),
        "p_value": float(fit.pvalues["log_size"]),
        "points": len(usable),
    }


def quantity_points(table: pd.DataFrame, method: str, column: str, mini: str) -> pd.DataFrame:
    """Points (task, log size, y) of one quantity from the sweep table."""
    rows = table[table["batch_size"] == (mini if method == "mini" else method)]
    y = {
        "log_speedup": np.log(rows["speedup"].where(rows["speedup_bound"] == "")),
        "log_lr_sum": np.log(rows["best_lr_sum"].where(np.isfinite(rows["epochs"]))),
        "log_epochs": np.log(rows["epochs"].where(np.isfinite(rows["epochs"]))),
    }[column]
    return pd.DataFrame(
        {"task": rows["task"], "rates": rows["rates"], "log_size": np.log(rows["size"]), "y": y}
    )


def fit_table(table: pd.DataFrame, mini: str, level: float) -> pd.DataFrame:
    """size_sweep_fit: per quantity, rate choice and task (then pooled) the log-log slope."""
    rows = []
    for quantity, (method, column, theory) in QUANTITIES.items():
        points = quantity_points(table, method, column, mini)
        for rates, mine in points.groupby("rates", sort=False):
            groups = [*mine.groupby("task", sort=False), ("pooled", mine)]
            for task, part in groups:
                rows.append(
                    {
                        "quantity": quantity,
                        "rates": rates,
                        "task": task,
                        **slope_row(part, task == "pooled", level),
                        "theory": theory,
                        "sizes": part["log_size"].nunique(),
                    }
                )
    return pd.DataFrame(rows)


def read_method(folder: Path, level: float) -> list[dict]:
    """The sweep rows of one task x method folder (trials.csv, searches.json)."""
    searches = json.loads((folder / "searches.json").read_text())
    trials = pd.read_csv(folder / "trials.csv", dtype={"batch_size": str})
    return method_rows(trials, searches, level)


def sweep_table(searches: Sequence[Path], targets: Sequence[Path], level: float) -> pd.DataFrame:
    """The size_sweep table from every method's searches.json (its folder holds trials.csv)."""
    rows = [row for path in searches for row in read_method(Path(path).parent, level)]
    goals = {}
    for path in targets:
        info = json.loads(Path(path).read_text())
        goals[info["task"]] = info["target"]
    table = pd.DataFrame(rows)
    table.insert(1, "target", table["task"].map(goals))
    table = table.assign(order=batch_sizes.sort_key(table["batch_size"]))
    table = table.sort_values(
        ["task", "rates", "size", "order"], ascending=[True, False, True, True]
    )
    return add_speedups(table.drop(columns="order").reset_index(drop=True))


def write_size_sweep_tables(
    searches: Sequence[Path],
    targets: Sequence[Path],
    mini_batch: str,
    out: Mapping[str, Path],
    level: float = 0.95,
) -> pd.DataFrame:
    """Write size_sweep.*, size_sweep_fit.* and size_sweep_claim.csv; return the sweep table.

    ``out`` keys: sweep, sweep_md, sweep_tex, fit, fit_md, fit_tex, claim.
    """
    table = sweep_table(searches, targets, level)
    fits = fit_table(table, mini_batch, level)
    verdict, evidence = verdict_c2_within(fits)
    claim = pd.DataFrame(
        [{"claim": "C2", "statement": STATEMENTS["C2"], "evidence": evidence, "verdict": verdict}]
    )
    write_table(table, out["sweep"], out["sweep_md"], out["sweep_tex"])
    write_table(fits, out["fit"], out["fit_md"], out["fit_tex"])
    claim.to_csv(out["claim"], index=False, lineterminator="\n")
    return table
