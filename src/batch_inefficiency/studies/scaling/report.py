"""The scaling study's report section: its introduction, tables, figures, claim C5 and the
abstract's sentence (the study registry names :func:`section`)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
from markupsafe import Markup

from batch_inefficiency.report.blocks import counted, number_range, section_figures

INTRO = Markup(
    "The paper's protocol fixes four rates and budgets, so it cannot tell whether batch training "
    "is slow or only looks slow at those rates. This study (after Shallue et al. 2019 and "
    "McCandlish et al. 2018) tunes the rate for every batch size on a log grid widened until the "
    "best rate, by steps to a target hold-out accuracy, is interior; every trial stops when it "
    "first reaches the target. It fits S(B) = S_min (1 + B_crit / B) to the median steps, marks "
    "the regimes (perfect scaling, diminishing returns, no further gain) and compares the knee "
    "B_crit with the gradient noise scale B_simple = tr(&Sigma;) / |G|&sup2;, computed exactly "
    "over the training split where on-line training reached the target (claim C5, rule in "
    "Methods). Seconds to the target are steps times the measured seconds per step of one model."
)


def sentence(fit: pd.DataFrame, claim: pd.DataFrame) -> str:
    """The abstract's sentence on the steps-to-target study (C5), from its fit and claim."""
    fitted = fit.dropna(subset=["b_crit"])
    if fitted.empty:
        verdict = claim["verdict"].iloc[0]
        return (
            f"With rates tuned per batch size, no task gave a critical batch size (C5: {verdict})."
        )
    ratio = fitted["ratio"].dropna()
    return (
        f"With the learning rate tuned for each batch size, the steps to a target hold-out "
        f"accuracy stop falling in proportion to the batch size at a critical batch size "
        f"B_crit of {number_range(fitted['b_crit'])} examples "
        f"in {counted(len(fitted), 'task', 'tasks')}; "
        f"the gradient noise scale B_simple is {number_range(ratio)} times B_crit "
        f"(C5, B_simple predicts B_crit: {claim['verdict'].iloc[0]})."
    )


# The scaling study's columns shown in the report (scaling.csv has them all).
SCALING_COLUMNS = [
    "task", "batch_size", "search", "best_lr_sum", "best_lr_mean", "trials", "censored",
    "steps", "steps_low", "steps_high", "epochs", "seconds_cpu", "regime",
]  # fmt: skip


def section(tables: Mapping[str, Path], figures: Mapping[str, Path]) -> dict[str, Any]:
    """The section: its tables and figures, and the abstract's sentence (claim C5 is a row of
    the claims table)."""
    table = pd.read_csv(tables["scaling"], dtype={"batch_size": str})
    fit, claim = pd.read_csv(tables["scaling_fit"]), pd.read_csv(tables["scaling_claim"])
    shown = table[[c for c in SCALING_COLUMNS if c in table]]
    return {
        "intro": INTRO,
        "tables": [
            ("Steps, epochs and seconds to the target, per task and batch size", shown),
            ("The S(B) fit and the gradient noise scale, per task", fit),
        ],
        "figures": section_figures(figures, "beyond"),
        "sentence": sentence(fit, claim),
    }
