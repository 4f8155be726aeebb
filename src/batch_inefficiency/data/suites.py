"""The datasets sheet (``config/datasets.tsv``): which tasks make up each suite.

Columns: ``name`` (a data set of the manifest), ``suites`` (comma-separated
suite names) and ``role`` (``standard`` or ``large``: the large task gets the
batch-size sweep, standing in for the paper's 20,000-instance speech task).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from batch_inefficiency.data.datasets import read_manifest, read_text_table
from batch_inefficiency.errors import UserError

ROLES = ("standard", "large")


def read_sheet(path: Path, datasets_root: Path) -> pd.DataFrame:
    """Read and check the sheet: known data sets, known roles, unique names."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"datasets sheet not found: {path}")
    sheet = read_text_table(path, "one row per task: name<TAB>suites<TAB>role", sep="\t")
    missing = {"name", "suites", "role"} - set(sheet.columns)
    if missing:
        raise UserError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
    known = {r["name"] for r in read_manifest(Path(datasets_root) / "manifest.csv")}
    for name, role in zip(sheet["name"], sheet["role"], strict=True):
        if name not in known:
            raise UserError(
                f"{path}: {name!r} is not in {Path(datasets_root) / 'manifest.csv'} (add a new "
                f"data set with: python -m batch_inefficiency datasets add FILE); "
                f"available: {', '.join(sorted(known))}"
            )
        if role not in ROLES:
            raise UserError(f"{path}: role {role!r} of {name!r} is not one of {ROLES}")
    if sheet["name"].duplicated().any():
        raise UserError(
            f"{path}: duplicate name {sheet['name'][sheet['name'].duplicated()].iloc[0]!r}"
        )
    return sheet.set_index("name", drop=False)


def suite_tasks(sheet: pd.DataFrame, suite: str) -> list[str]:
    """Names of the tasks in ``suite``, in sheet order; unknown suites list the known ones."""
    members = sheet["suites"].str.split(",")
    tasks = [name for name, suites in zip(sheet["name"], members, strict=True) if suite in suites]
    if not tasks:
        known = sorted({s for suites in members for s in suites})
        raise UserError(
            f"config key datasets.suite: unknown suite {suite!r}; available: {', '.join(known)}"
        )
    return tasks


def large_tasks(sheet: pd.DataFrame, suite: str) -> list[str]:
    """The suite's tasks with role ``large`` (those that get the batch-size sweep)."""
    return [t for t in suite_tasks(sheet, suite) if sheet.loc[t, "role"] == "large"]
