"""The optimizer study's tables (docs/design.md §12).

* ``optimizers.{csv,md,tex}``: one row per task x optimizer x batch size, the scaling study's
  columns (:func:`batch_inefficiency.studies.scaling.tables.search_row`: the search's end,
  best rate, median steps and epochs to target with order-statistic CIs, censored trials),
  and the regime under that optimizer's S(B) fit.
* ``optimizers_fit.{csv,md,tex}``: one row per task x optimizer: the S(B) fit (S_min,
  B_crit with CIs), E_min = S_min B_crit (examples) with its CI, each one's ratio to the
  reference optimizer's with a CI, the steps at batch size 1 and their ratio, and C1's epochs
  ratio (the largest batch size over on-line).
* ``optimizers_claim.csv``: claims C7, C7b and C1 per optimizer (claims.py).
* ``optimizers_curvature.*`` and ``optimizers_mechanism.*``: why, measured (mechanism.py).

CIs: the fit's CIs are symmetric in the log parameters, half-widths h_S and h_B. E_min's is
log E ± (h_S + h_B), which contains the exact interval (the covariance term can only narrow
it). A ratio to the reference's is log r ± sqrt(h² + h_ref²), the two fits taken as
independent (they share trials' splits and initial weights, a positive correlation that
would narrow it). The epochs ratio's CI is [largest's low / on-line's high, largest's high /
on-line's low] from the medians' order-statistic CIs; a censored bound is the budget (at
least), so a censored largest batch size gives a lower bound.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from batch_inefficiency import batch_sizes
from batch_inefficiency.batch_sizes import ONLINE
from batch_inefficiency.studies.optimizers.claims import claim_table
from batch_inefficiency.studies.optimizers.mechanism import write_curvature_tables
from batch_inefficiency.studies.replication.tables import write_table
from batch_inefficiency.studies.scaling.fit import StepsFit, regime
from batch_inefficiency.studies.scaling.tables import fit_task, search_row


def half_width(low: float, high: float) -> float:
    """The half-width of a CI in log space (NaN where a bound is missing)."""
    if not (low > 0 and high > 0 and math.isfinite(low) and math.isfinite(high)):
        return math.nan
    return (math.log(high) - math.log(low)) / 2


def product_ci(fit: StepsFit) -> tuple[float, float, float]:
    """E_min = S_min B_crit and its CI, log E ± (h_S + h_B) (module docstring)."""
    value = fit.s_min * fit.b_crit
    h = half_width(fit.s_min_low, fit.s_min_high) + half_width(fit.b_crit_low, fit.b_crit_high)
    return value, value * math.exp(-h), value * math.exp(h)


def ratio_ci(
    value: float, low: float, high: float, ref: float, ref_low: float, ref_high: float
) -> tuple[float, float, float]:
    """``value / ref`` and its CI, log r ± sqrt(h² + h_ref²) (module docstring)."""
    ratio = value / ref if ref > 0 else math.nan
    h = math.hypot(half_width(low, high), half_width(ref_low, ref_high))
    return ratio, ratio * math.exp(-h), ratio * math.exp(h)


def search_rows(searches: Sequence[Path], labels: Sequence[str], level: float) -> pd.DataFrame:
    """optimizers: one row per search (``search.json`` files, with their optimizers' labels;
    plain SGD's may be the scaling study's), in task, optimizer and batch order."""
    rows = []
    for path, label in zip(map(Path, searches), labels, strict=True):
        info = json.loads(path.read_text())
        row = search_row(path.parent, level)
        rows.append({"optimizer": label, **row, **_budget(info)})
    table = pd.DataFrame(rows)
    table = table[["task", *[c for c in table if c != "task"]]]
    ranks = {label: i for i, label in enumerate(dict.fromkeys(table["optimizer"]))}
    table = table.assign(
        order=batch_sizes.sort_key(table["batch_size"]), rank=table["optimizer"].map(ranks)
    )
    return table.sort_values(["n_train", "task", "rank", "order"]).drop(columns="rank")


def _budget(info: Mapping) -> dict[str, int]:
    return {"budget_epochs": int(info["settings"]["max_epochs"])}


def _fit_columns(fit: StepsFit) -> dict[str, float]:
    e_min, e_low, e_high = product_ci(fit)
    return {
        "fitted_points": fit.points,
        "s_min": fit.s_min,
        "s_min_low": fit.s_min_low,
        "s_min_high": fit.s_min_high,
        "b_crit": fit.b_crit,
        "b_crit_low": fit.b_crit_low,
        "b_crit_high": fit.b_crit_high,
        "e_min": e_min,
        "e_min_low": e_low,
        "e_min_high": e_high,
        "note": fit.note,
    }


def epochs_ratio(rows: pd.DataFrame) -> dict[str, object]:
    """C1's ratio: median epochs at the largest batch size over on-line's, with its CI."""
    online = rows[rows["batch_size"] == ONLINE]
    largest = rows.iloc[-1] if len(rows) else None
    if online.empty or largest is None or largest["batch_size"] == ONLINE:
        return {"largest_batch": "", "epochs_ratio": np.nan, "epochs_ratio_low": np.nan,
                "epochs_ratio_high": np.nan}  # fmt: skip
    on = online.iloc[0]
    budget = float(largest["budget_epochs"])
    low = min(largest["epochs_low"], budget)  # censored: at least the budget
    ratio = largest["epochs"] / on["epochs"] if math.isfinite(on["epochs"]) else np.nan
    return {
        "largest_batch": largest["batch_size"],
        "epochs_ratio": ratio,
        "epochs_ratio_low": low / on["epochs_high"] if math.isfinite(on["epochs_high"]) else np.nan,
        "epochs_ratio_high": largest["epochs_high"] / on["epochs_low"],
    }


RATIOS = ("s_min", "b_crit", "e_min")


def fit_table(table: pd.DataFrame, reference: str, level: float) -> pd.DataFrame:
    """optimizers_fit: per task x optimizer, the fit, E_min and the ratios to the reference."""
    rows = []
    for (task, label), mine in table.groupby(["task", "optimizer"], sort=False):
        online = mine[mine["batch_size"] == ONLINE]["steps"]
        rows.append(
            {
                "task": task,
                "optimizer": label,
                "n_train": int(mine["n_train"].iloc[0]),
                "target": float(mine["target"].iloc[0]),
                "batch_sizes": len(mine),
                **_fit_columns(fit_task(mine, level)),
                "steps_1": float(online.iloc[0]) if len(online) else np.nan,
                **epochs_ratio(mine),
            }
        )
    return add_ratios(pd.DataFrame(rows), reference)


def add_ratios(fits: pd.DataFrame, reference: str) -> pd.DataFrame:
    """Each row's S_min, B_crit, E_min and steps at batch size 1 over its task's reference's."""
    fits = fits.copy()
    ref = fits[fits["optimizer"] == reference].set_index("task")
    for name in RATIOS:
        found = []
        for _, row in fits.iterrows():
            if row["task"] not in ref.index:
                found.append((np.nan,) * 3)
                continue
            r = ref.loc[row["task"]]
            found.append(
                ratio_ci(row[name], row[f"{name}_low"], row[f"{name}_high"],
                         r[name], r[f"{name}_low"], r[f"{name}_high"])
            )  # fmt: skip
        values = np.array(found, dtype=float).reshape(-1, 3)
        for i, part in enumerate(("", "_low", "_high")):
            fits[f"{name}_ratio{part}"] = values[:, i]
    steps_ref = fits["task"].map(ref["steps_1"]) if len(ref) else np.nan
    fits["steps_1_ratio"] = fits["steps_1"] / steps_ref
    own = fits["optimizer"] == reference  # its own ratios are 1, exactly: no CI
    fits.loc[own, [f"{n}_ratio{p}" for n in RATIOS for p in ("_low", "_high")]] = np.nan
    return fits


def add_regimes(table: pd.DataFrame, fits: pd.DataFrame) -> pd.DataFrame:
    """Each row's B_crit and regime under its task x optimizer's fit."""
    per = fits.set_index(["task", "optimizer"])["b_crit"]
    table = table.copy()
    keys = zip(table["task"], table["optimizer"], strict=True)
    table["b_crit"] = [per.get(key, np.nan) for key in keys]
    table["regime"] = [
        regime(b, c) for b, c in zip(table["batch_rows"], table["b_crit"], strict=True)
    ]
    return table


def write_optimizer_tables(
    searches: Sequence[Path],
    labels: Sequence[str],
    curvature: Sequence[Path],
    out: Mapping[str, Path],
    reference: str,
    level: float = 0.95,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Write optimizers.*, optimizers_fit.*, optimizers_claim.csv and, from the ``curvature``
    files (a task each), optimizers_curvature.* and optimizers_mechanism.*; return the fits.

    ``out`` keys: table, fit, curvature, mechanism (and each one's ``_md``, ``_tex``), claim.
    """
    table = search_rows(searches, labels, level).drop(columns="order").reset_index(drop=True)
    fits = fit_table(table, reference, level)
    table = add_regimes(table, fits)
    write_table(table, out["table"], out["table_md"], out["table_tex"])
    write_table(fits, out["fit"], out["fit_md"], out["fit_tex"])
    claim_table(fits, reference).to_csv(out["claim"], index=False, lineterminator="\n")
    write_curvature_tables(curvature, fits, reference, alpha, out)
    return fits
