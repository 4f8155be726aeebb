"""The study registry: every study's config section, outputs, claims and report section.

One entry per study, in the manner of the figure specification (figures/spec.py), and
the rest comes from it: the workflow's final outputs and each study's own target
(workflow/rules/common.smk), the tables a run may take as given
(``statistics_from_metrics``), the claim rows joined into claims.csv
(studies/replication/statistics.py) and the report's sections (report/html.py).
Adding a study is its package under ``studies/``, one entry here and one rules file
(docs/design.md §4 gives the steps).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TABLE_FORMATS = ("csv", "md", "tex")


@dataclass(frozen=True)
class Study:
    """One study: what it is configured by, what it writes and where the report shows it."""

    name: str  # the Snakemake target, and the sub-package of batch_inefficiency.studies
    title: str  # the report's heading of its section
    config_section: str | None  # the config's key of its settings (None: the top level)
    tables: tuple[str, ...]  # tables it writes under results/tables, as .csv/.md/.tex
    figure_section: str  # the section of its figures in figures/spec.py
    claim_table: str | None = None  # a table whose rows are the study's claims
    # "module.function" in the study's package: the report section from the study's
    # tables (by name, CSV paths) and the report's figures; None: written by report/html.py
    report_section: str | None = None
    # whether its tables are taken as given where statistics_from_metrics asks and no run
    # file of the study exists (the committed reference results keep no run files)
    given_tables: bool = False

    def table_files(self) -> list[str]:
        """Every file name of its tables (``scaling.csv``, ``scaling.md``, ...); a claim table
        is written as CSV only."""
        return [
            f"{name}.{ext}"
            for name in self.tables
            for ext in (("csv",) if name == self.claim_table else TABLE_FORMATS)
        ]

    def final_tables(self) -> list[str]:
        """Its tables that are final targets (their .csv): all but the claim table, which
        joins claims.csv."""
        return [name for name in self.tables if name != self.claim_table]

    def section_builder(self) -> Callable[..., dict[str, Any]]:
        """The function that builds its report section, imported on first use."""
        if self.report_section is None:
            raise ValueError(f"the {self.name} study's section is written by the report itself")
        module, name = self.report_section.rsplit(".", 1)
        package = f"{__package__}.{self.name}.{module}"
        return getattr(importlib.import_module(package), name)

    def section(self, tables: Mapping[str, Path], figures: Mapping[str, Path]) -> dict[str, Any]:
        """Its report section: title, introduction, tables, figures, the abstract's sentence."""
        return {"title": self.title, **self.section_builder()(tables, figures)}


SPECS = (
    Study(
        name="replication",
        title="The paper's protocol",
        config_section=None,
        tables=(
            "tasks",
            "large_task_grid",
            "tests",
            "claims",
            "verdict_stability",
            "time_to_target",
        ),
        figure_section="paper",
    ),
    Study(
        name="scaling",
        title="Beyond the paper: steps and seconds to a target, rates tuned",
        config_section="scaling",
        tables=("scaling", "scaling_fit", "scaling_claim"),
        figure_section="beyond",
        claim_table="scaling_claim",
        report_section="report.section",
        given_tables=True,
    ),
    Study(
        name="size_sweep",
        title="Beyond the paper: C2 inside a task, the training-set size sweep",
        config_section="size_sweep",
        tables=("size_sweep", "size_sweep_fit", "size_sweep_claim"),
        figure_section="size_sweep",
        claim_table="size_sweep_claim",
        report_section="report.section",
        given_tables=True,
    ),
    Study(
        name="generalization",
        title="Beyond the paper: does gradient noise generalize better?",
        config_section="generalization",
        tables=("generalization", "generalization_stability", "generalization_claim"),
        figure_section="generalization",
        claim_table="generalization_claim",
        report_section="report.section",
    ),
    Study(
        name="optimizers",
        title="Beyond the paper: does a modern optimizer remove the inefficiency?",
        config_section="optimizers",
        tables=(
            "optimizers",
            "optimizers_fit",
            "optimizers_curvature",
            "optimizers_mechanism",
            "optimizers_claim",
        ),
        figure_section="optimizers",
        claim_table="optimizers_claim",
        report_section="report.section",
    ),
)

STUDIES: dict[str, Study] = {study.name: study for study in SPECS}
