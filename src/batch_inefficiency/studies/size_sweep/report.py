"""The size sweep's report section: its introduction, tables, figures and the abstract's
sentence on C2 inside a task (the study registry names :func:`section`)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
from markupsafe import Markup

from batch_inefficiency.report.blocks import section_figures
from batch_inefficiency.studies.size_sweep.tables import censoring_summary

INTRO = Markup(
    "Across tasks, training-set size is confounded with everything else that differs between "
    "tasks. This sweep varies size inside a task and holds the rest fixed: per trial, nested "
    "stratified subsets of the training split (each inside the next larger one), sizes doubling "
    "up to the whole split, the hold-out and test splits unchanged. On-line, one mini-batch size "
    "and full batch are trained at every size to one target hold-out accuracy per task (the "
    "full-size target, lowered to what on-line training reaches on the smallest subset), each at "
    "the paper's rates and at the rate tuned for that size by the scaling study's search. "
    "On-line's speed-up (ratio of median epochs to the target) is regressed on size, log-log, per "
    "task and pooled with task as a factor; C2's within-task verdict follows the rule in Methods. "
    "The paper's argument predicts that full batch's best summed rate shrinks like 1/n and its "
    "epochs grow like n."
)


def sentence(fit: pd.DataFrame, claim: pd.DataFrame) -> str:
    """The abstract's sentence on the size sweep (C2 within tasks), from its fit and claim."""
    pooled = fit[
        (fit["quantity"] == "speed-up over full batch")
        & (fit["rates"] == "tuned")
        & (fit["task"] == "pooled")
    ]
    verdict = f"C2 within tasks: {claim['verdict'].iloc[0]}"
    if pooled.empty or pd.isna(pooled["slope"].iloc[0]):
        return f"Nested subsets of single tasks could not measure the size effect ({verdict})."
    row = pooled.iloc[0]
    return (
        f"Inside single tasks, trained on nested subsets of the training set, on-line's "
        f"speed-up over full batch grows as size^{row['slope']:.2f} (pooled log-log slope, "
        f"95% CI {row['ci_low']:.2f} to {row['ci_high']:.2f}; {verdict})."
    )


# The size sweep's columns shown in the report (size_sweep.csv has them all).
SIZE_SWEEP_COLUMNS = [
    "task", "target", "size", "batch_size", "rates", "best_lr_sum", "trials", "censored",
    "epochs", "epochs_low", "epochs_high", "steps", "speedup", "speedup_bound",
]  # fmt: skip


def section(tables: Mapping[str, Path], figures: Mapping[str, Path]) -> dict[str, Any]:
    """The section: its tables and figures, and the abstract's sentence (its claim joins C2's
    row of the claims table)."""
    table = pd.read_csv(tables["size_sweep"], dtype={"batch_size": str})
    table["speedup_bound"] = table["speedup_bound"].fillna("")
    fit, claim = pd.read_csv(tables["size_sweep_fit"]), pd.read_csv(tables["size_sweep_claim"])
    shown = table[[c for c in SIZE_SWEEP_COLUMNS if c in table]]
    return {
        "intro": INTRO,
        "tables": [
            (
                "Censored sizes per task: where a method's median epochs to the target is "
                "censored (at least its budget), on-line's speed-up is only a lower bound "
                "(≥) and the size leaves the slopes",
                censoring_summary(table),
            ),
            ("Epochs and steps to the target per task, size and method", shown),
            ("Log-log slopes against training-set size", fit),
        ],
        "figures": section_figures(figures, "size_sweep"),
        "sentence": sentence(fit, claim),
    }
