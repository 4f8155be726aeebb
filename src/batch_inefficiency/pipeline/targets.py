"""What the workflow is asked to make: each study's final outputs, and the outputs a run
takes as given instead of making them (``statistics_from_metrics``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from batch_inefficiency.figures.spec import FIGURES
from batch_inefficiency.studies.registry import Study

FIGURE_FORMATS = ("pdf", "png")


def taken_as_given(
    asked: bool, outputs: Iterable[str | Path], run_files: Iterable[str | Path]
) -> bool:
    """True when the statistics are asked from what a run already holds (``asked``: the
    config's ``statistics_from_metrics``), every one of ``outputs`` exists and none of the
    ``run_files`` they are made from does: the committed reference outputs, which are then
    read as they are and nothing is trained for them."""
    if not asked:
        return False
    return all(Path(p).exists() for p in outputs) and not any(Path(p).exists() for p in run_files)


def study_figures(study: Study) -> list[str]:
    """The names of a study's figures (its section of the figure specification)."""
    return [name for name, spec in FIGURES.items() if spec.section == study.figure_section]


def study_outputs(study: Study, results: Callable[..., str]) -> list[str]:
    """A study's final outputs: its final tables (CSV) and its figures (PDF and PNG);
    ``results`` makes a path under the results folder."""
    tables = [results("tables", f"{name}.csv") for name in study.final_tables()]
    figures = [
        results("figures", f"{name}.{ext}")
        for name in study_figures(study)
        for ext in FIGURE_FORMATS
    ]
    return [*tables, *figures]
