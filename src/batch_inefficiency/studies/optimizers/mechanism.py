"""Why, measured: the curvature where on-line SGD reached the target against each optimizer's
gain, and B_noise against B_simple as predictors of B_crit.

Rules in docs/statistics.md ("Curvature where on-line SGD reached the target" and the two
questions after it), fixed before any curvature was computed:

* ``optimizers_curvature.{csv,md,tex}``: a row per task, the median over trials of every
  curvature measure (curvature.py), SGD's B_crit, the ratios B_crit / B_simple and
  B_crit / B_noise, and each other optimizer's gain (its B_crit over SGD's);
  ``optimizers_mechanism.*``: the two answers below.
* :func:`gain_follows_condition`: per other optimizer, Spearman's rho between gain and κ_eff
  across tasks, with the exact one-sided permutation p-value (``scipy.stats.permutation_test``
  over every ordering). Follows where rho > 0 and p < alpha; not computable under 4 tasks.
* :func:`b_noise_explains`: explains where B_noise is closer to B_crit than B_simple in most
  tasks (on a log scale) and the median B_crit / B_noise lies within a factor of 2 of 1;
  not computable under 3 tasks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from batch_inefficiency.studies.replication.tables import write_table

MEASURES = (
    "lambda_max", "lambda_min", "negative_eigenvalues", "lambda_eff", "kappa_eff", "kappa_all",
    "b_simple", "b_noise",
)  # fmt: skip
MIN_TASKS = 4  # under 4 tasks no one-sided Spearman p-value can be below 0.05
EXPLAIN_FACTOR = 2.0
EXPLAIN_MIN_TASKS = 3  # the study's rule for "most" (claims.MIN_TASKS)
NOT_COMPUTABLE = "not computable"


def curvature_table(curvature: Sequence[Path], fits: pd.DataFrame, reference: str) -> pd.DataFrame:
    """optimizers_curvature: per task, the curvature medians, SGD's B_crit and the gains."""
    frames = [pd.read_csv(path) for path in curvature]
    rows = []
    for frame in frames:
        task = str(frame["task"].iloc[0])
        row = {"task": task, "trials": len(frame), "censored": int(frame["censored"].sum())}
        row |= {name: float(frame[name].median()) for name in MEASURES}
        mine = fits[fits["task"] == task].set_index("optimizer")
        b_crit = float(mine.loc[reference, "b_crit"]) if reference in mine.index else np.nan
        row |= {
            "b_crit": b_crit,
            "b_crit_over_b_simple": b_crit / row["b_simple"],
            "b_crit_over_b_noise": b_crit / row["b_noise"],
        }
        for label in mine.index.drop(reference, errors="ignore"):
            row[f"gain_{label}"] = float(mine.loc[label, "b_crit_ratio"])
        rows.append(row)
    return pd.DataFrame(rows)


def _spearman(x: np.ndarray, y: np.ndarray) -> float:
    return float(stats.spearmanr(x, y).statistic)


def gain_follows_condition(table: pd.DataFrame, alpha: float) -> pd.DataFrame:
    """Per other optimizer: rho(gain, κ_eff) across tasks, its one-sided exact p and the verdict."""
    rows = []
    for column in [c for c in table if c.startswith("gain_")]:
        both = table[["kappa_eff", column]].replace([np.inf, -np.inf], np.nan).dropna()
        row = {"optimizer": column.removeprefix("gain_"), "tasks": len(both)}
        if len(both) < MIN_TASKS:
            rows.append(row | {"rho": np.nan, "p_value": np.nan, "verdict": NOT_COMPUTABLE})
            continue
        kappa = both["kappa_eff"].to_numpy()
        test = stats.permutation_test(
            (both[column].to_numpy(),),
            lambda gain, kappa=kappa: _spearman(gain, kappa),
            permutation_type="pairings",
            alternative="greater",
            n_resamples=np.inf,
        )
        rho, p = float(test.statistic), float(test.pvalue)
        verdict = "follows" if rho > 0 and p < alpha else "does not follow"
        rows.append(row | {"rho": rho, "p_value": p, "verdict": verdict})
    return pd.DataFrame(rows, columns=["optimizer", "tasks", "rho", "p_value", "verdict"])


def b_noise_explains(table: pd.DataFrame) -> dict[str, object]:
    """Whether B_noise explains B_simple's overestimate of B_crit (module docstring)."""
    known = table[["b_crit_over_b_simple", "b_crit_over_b_noise"]].replace(
        [np.inf, -np.inf], np.nan
    )
    known = known[(known > 0).all(axis=1)]
    if len(known) < EXPLAIN_MIN_TASKS:
        return {"tasks": len(known), "closer": np.nan, "median_b_crit_over_b_noise": np.nan,
                "verdict": NOT_COMPUTABLE}  # fmt: skip
    closer = int(
        (np.abs(np.log(known["b_crit_over_b_noise"]))
         < np.abs(np.log(known["b_crit_over_b_simple"]))).sum()
    )  # fmt: skip
    median = float(known["b_crit_over_b_noise"].median())
    most = closer > len(known) / 2
    near = 1 / EXPLAIN_FACTOR <= median <= EXPLAIN_FACTOR
    verdict = "explains" if most and near else "partly" if most else "does not"
    return {"tasks": len(known), "closer": closer, "median_b_crit_over_b_noise": median,
            "verdict": verdict}  # fmt: skip


def write_curvature_tables(
    curvature: Sequence[Path],
    fits: pd.DataFrame,
    reference: str,
    alpha: float,
    out: Mapping[str, Path],
) -> pd.DataFrame:
    """Write optimizers_curvature.* and optimizers_mechanism.* (``out`` keys: curvature,
    mechanism and their ``_md``, ``_tex``); return the curvature table."""
    table = curvature_table(curvature, fits, reference)
    write_table(table, out["curvature"], out["curvature_md"], out["curvature_tex"])
    follows = gain_follows_condition(table, alpha).assign(question="gain follows kappa_eff")
    explains = pd.DataFrame([b_noise_explains(table)]).assign(
        question="B_noise explains B_simple's overestimate", optimizer=reference
    )
    mechanism = pd.concat([follows, explains], ignore_index=True)
    mechanism = mechanism[["question", *[c for c in mechanism if c != "question"]]]
    write_table(mechanism, out["mechanism"], out["mechanism_md"], out["mechanism_tex"])
    return table
