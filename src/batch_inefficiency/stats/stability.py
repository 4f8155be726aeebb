"""Verdict stability: each claim's verdict under each alternative analysis (issue 11).

The alternative analyses are declared in the config (``statistics.stability``)
before any result is seen; :func:`batch_inefficiency.stats.alternative_analyses`
turns them into columns, each changing one choice of the primary analysis: the
speed measure, the target tolerance of epochs to target, the sidedness of the
tests of a claimed direction, and the task set of the across-task claims.

A cell holds the verdict of that analysis, by the same rules
(:mod:`batch_inefficiency.stats.verdicts`). C4 is a within-task analysis of the large
task, so task subsets do not apply to it (``n/a``). The last column reads
``robust`` when every applicable cell agrees with the primary verdict, else
``fragile: <analysis> -> <verdict>; ...``. Where the size sweep ran, the column
``within task (size sweep)`` holds C2's within-task verdict (docs/design.md §10):
the same claim tested by another design, counted like any other analysis.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from batch_inefficiency.stats import Analysis, Settings, Study, all_tests, results_table
from batch_inefficiency.stats.verdicts import RULES, claims_table

NOT_APPLICABLE = "n/a"
WITHIN_TASK = "within task (size sweep)"  # the column of C2's within-task verdict
NOT_COMPUTABLE = "not computable"


def applies(claim: str, analysis: Analysis) -> bool:
    """Whether an alternative analysis can change ``claim``'s analysis at all: the task sets
    leave C4 (the large task alone) as it is, the C3 and C4 alternatives touch their claim only."""
    if analysis.c3_tasks != "finished":
        return claim == "C3"
    if analysis.c4_sizes != "all":
        return claim == "C4"
    return not (claim == "C4" and analysis.task_set != "all")


def stability_label(row: pd.Series, columns: list[str]) -> str:
    """``robust``, or ``fragile: <column> -> <verdict>; ...`` against the primary column.

    A column where the verdict cannot be computed (too few tasks left) gives no verdict
    to disagree with: it is not a flip, and the label names it after the rest.
    """
    primary = row[columns[0]]
    others = [column for column in columns[1:] if row[column] not in (primary, NOT_APPLICABLE)]
    flips = [f"{column} -> {row[column]}" for column in others if row[column] != NOT_COMPUTABLE]
    missing = [column for column in others if row[column] == NOT_COMPUTABLE]
    label = "robust" if not flips else "fragile: " + "; ".join(flips)
    return label + (f" (not computable: {'; '.join(missing)})" if missing else "")


def verdict_stability(
    study: Study,
    analyses: Mapping[str, Analysis],
    settings: Settings,
    variants: Mapping[str, Study] | None = None,
) -> pd.DataFrame:
    """verdict_stability.csv: one row per claim, one column per analysis, then ``stability``.

    The first analysis is the primary one. ``variants``: the study a column runs on where it
    is not ``study`` (the best rates chosen again with ties to the smaller rate).
    """
    variants = variants or {}
    table = pd.DataFrame({"claim": list(RULES)}).set_index("claim")
    for column, analysis in analyses.items():
        results, _ = all_tests(variants.get(column, study), analysis, settings, within=False)
        claims = claims_table(
            results_table(results), settings.alpha, settings.magnitude, analysis.measure_label()
        )
        verdicts = claims.set_index("claim")["verdict"]
        table[column] = [
            verdicts[claim] if applies(claim, analysis) else NOT_APPLICABLE for claim in table.index
        ]
    columns = list(analyses)
    table["stability"] = table.apply(stability_label, axis=1, columns=columns)
    return table.reset_index()


def with_stability(claims: pd.DataFrame, stability: pd.DataFrame) -> pd.DataFrame:
    """claims.csv with the stability column, so no verdict is read without it."""
    labels = stability.set_index("claim")["stability"]
    return claims.assign(stability=claims["claim"].map(labels))


def with_within_task(stability: pd.DataFrame, verdict: str) -> pd.DataFrame:
    """The stability table with C2's within-task verdict as a column, labels recomputed."""
    table = stability.drop(columns="stability")
    table[WITHIN_TASK] = [verdict if c == "C2" else NOT_APPLICABLE for c in table["claim"]]
    columns = [c for c in table.columns if c != "claim"]
    table["stability"] = table.apply(stability_label, axis=1, columns=columns)
    return table


def with_within_claim(claims: pd.DataFrame, within: pd.DataFrame) -> pd.DataFrame:
    """claims.csv with the within-task verdict and evidence beside C2's across-task ones."""
    row = within.set_index("claim")
    return claims.assign(
        within_task_verdict=claims["claim"].map(row["verdict"]).fillna(""),
        within_task_evidence=claims["claim"].map(row["evidence"]).fillna(""),
    )


NOT_ASSESSED = "not assessed: the study has no alternative analysis"


def with_study_claims(
    claims: pd.DataFrame, stability: pd.DataFrame, others: list[pd.DataFrame]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """claims.csv and the stability table with the claims of other studies (C5) as rows of
    their own: the study's verdict is the primary one, and no alternative analysis of the
    paper's protocol applies to it."""
    if not others:
        return claims, stability
    rows = pd.concat(others, ignore_index=True)
    added = rows.assign(stability=NOT_ASSESSED)
    table = stability.set_index("claim")
    extra = pd.DataFrame(NOT_APPLICABLE, index=rows["claim"], columns=table.columns)
    extra["primary"] = rows["verdict"].to_numpy()
    extra["stability"] = NOT_ASSESSED
    return (
        pd.concat([claims, added], ignore_index=True),
        pd.concat([table, extra]).reset_index(names="claim"),
    )
