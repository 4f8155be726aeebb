"""The optimizer study's report section: its introduction, tables, figures and the abstract's
sentence (the study registry names :func:`section`; C7, C7b and C1 per optimizer are rows of
the claims table)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
from markupsafe import Markup

from batch_inefficiency.report.blocks import section_figures

INTRO = Markup(
    "Does a modern optimizer remove the inefficiency? The scaling study is repeated with each "
    "optimizer (plain SGD, heavy-ball momentum, Adam): for every task and batch size the rate "
    "is tuned by the same search, to the same targets, and S(B) = S_min (1 + B_crit / B) is "
    "fitted per optimizer; E_min = S_min B_crit is the fewest examples. After Shallue et al. "
    "(2019), Zhang et al. (2019) and Kunstner et al. (2023), momentum and preconditioning are "
    "expected to raise B_crit (C7) and to change nothing on-line (C7b); C1 is asked again per "
    "optimizer (rules in Methods)."
)

# The columns of optimizers.csv shown in the report.
COLUMNS = [
    "task", "optimizer", "batch_size", "search", "best_lr_sum", "trials", "censored",
    "steps", "steps_low", "steps_high", "epochs", "regime",
]  # fmt: skip
FIT_COLUMNS = [
    "task", "optimizer", "s_min", "s_min_low", "s_min_high", "b_crit", "b_crit_low",
    "b_crit_high", "e_min", "b_crit_ratio", "b_crit_ratio_low", "b_crit_ratio_high",
    "steps_1_ratio", "epochs_ratio", "note",
]  # fmt: skip
CURVATURE_COLUMNS = [
    "task", "trials", "censored", "lambda_max", "lambda_min", "kappa_eff", "b_simple", "b_noise",
    "b_crit", "b_crit_over_b_simple", "b_crit_over_b_noise",
]  # fmt: skip


def sentence(claim: pd.DataFrame) -> str:
    """The abstract's sentence: the verdicts of C7 and C7b."""
    verdicts = dict(zip(claim["claim"], claim["verdict"], strict=True))
    return (
        f"With the rate tuned per optimizer and batch size, momentum and Adam raise the critical "
        f"batch size (C7): {verdicts.get('C7', 'not computable')}; on-line, every optimizer "
        f"needs about the same steps (C7b): {verdicts.get('C7b', 'not computable')}."
    )


def section(tables: Mapping[str, Path], figures: Mapping[str, Path]) -> dict[str, Any]:
    """The section: its tables and figures, and the abstract's sentence."""
    table = pd.read_csv(tables["optimizers"], dtype={"batch_size": str})
    fit = pd.read_csv(tables["optimizers_fit"], dtype={"largest_batch": str})
    claim = pd.read_csv(tables["optimizers_claim"])
    curvature = pd.read_csv(tables["optimizers_curvature"])
    gains = [c for c in curvature if c.startswith("gain_")]
    mechanism = pd.read_csv(tables["optimizers_mechanism"])
    return {
        "intro": INTRO,
        "tables": [
            (
                "Steps and epochs to the target, per task, optimizer and batch size",
                table[[c for c in COLUMNS if c in table]],
            ),
            (
                "The S(B) fit per task and optimizer, and its ratios to plain SGD's",
                fit[[c for c in FIT_COLUMNS if c in fit]],
            ),
            (
                "Why, measured: the curvature and noise scales where on-line SGD reached the "
                "target (medians over trials), and each optimizer's gain in B_crit",
                curvature[[c for c in CURVATURE_COLUMNS if c in curvature] + gains],
            ),
            (
                "Does the gain follow the condition number? Does B_noise explain B_crit? "
                "(rules in Methods)",
                mechanism,
            ),
        ],
        "figures": section_figures(figures, "optimizers"),
        "sentence": sentence(claim),
    }
