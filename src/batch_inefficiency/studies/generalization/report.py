"""The generalization study's report section: introduction, tables, figures and the
abstract's sentence (the study registry names :func:`section`)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
from markupsafe import Markup

from batch_inefficiency.report.blocks import section_figures

INTRO = Markup(
    "The paper compares accuracy within fixed budgets that batch training often had not used "
    "up. Here every batch size (1, mini-batches, full) is trained at the rate of best "
    "trial-averaged hold-out accuracy (the rate search widened until that rate is interior) "
    "until it has finished: its hold-out accuracy improved by at most the tolerance over the "
    "last half of its epochs, the budget doubled up to a cap in sample presentations; a run "
    "not finished at the cap is reported so and never compared as if it had. Test accuracy "
    "is compared under four controls: (a) early-stopped on hold-out, (b) at matched training "
    "loss, (c) equal epochs, (d) equal weight updates; with the generalization gap, "
    "overfitting, the sharpness (largest Hessian eigenvalue) at (b), and full batch with L2 "
    "weight decay tuned on hold-out (after Keskar et al. 2017, Hoffer et al. 2017, Shallue et "
    "al. 2019, Smith, Elsen and De 2020, Geiping et al. 2022). Claims C3 without budgets and "
    "C6 (rules in Methods); the stability table repeats them under the declared alternatives."
)

# The columns shown in the report (generalization.csv has them all).
COLUMNS = [
    "task", "batch_size", "lr", "weight_decay", "finished", "run_epochs", "overfitting",
    "a_test_acc", "b_test_acc", "c_test_acc", "d_test_acc", "a_gap_acc", "b_gap_acc",
    "sharpness",
]  # fmt: skip


def sentence(table: pd.DataFrame, claim: pd.DataFrame) -> str:
    """The abstract's sentence: how many runs finished and the two verdicts."""
    runs = table[table["batch_size"] != "full+wd"]
    verdicts = dict(zip(claim["claim"], claim["verdict"], strict=True))
    return (
        f"Trained until finished, {int(runs['finished'].sum())} of {len(runs)} task x batch-size "
        f"runs finished; batch and on-line reach the same early-stopped test accuracy (C3 "
        f"without budgets: {verdicts.get('C3 without budgets', 'n/a')}), and smaller batches "
        f"generalize better (C6: {verdicts.get('C6', 'n/a')})."
    )


def section(tables: Mapping[str, Path], figures: Mapping[str, Path]) -> dict[str, Any]:
    """The section: its tables and figures, and the abstract's sentence (the claims are rows
    of the claims table)."""
    table = pd.read_csv(tables["generalization"], dtype={"batch_size": str})
    stability = pd.read_csv(tables["generalization_stability"])
    claim = pd.read_csv(tables["generalization_claim"])
    shown = table[[c for c in COLUMNS if c in table]]
    return {
        "intro": INTRO,
        "tables": [
            (
                "Test accuracy under each control, gaps and sharpness, per task and batch size",
                shown,
            ),
            ("The claims under the alternative analyses", stability),
        ],
        "figures": section_figures(figures, "generalization"),
        "sentence": sentence(table, claim),
    }
