# Helpers shared by the stage files (validation, the datasets sheet, output paths).
# Functions only, no rules.
import re
from pathlib import Path

from snakemake.utils import validate

from batch_inefficiency.suites import read_sheet, suite_tasks

validate(config, "../schemas/config.schema.yaml")

RESULTS = Path(config["results"])
DATASETS_ROOT = Path(config["datasets"]["root"])
SHEET = read_sheet(Path(config["datasets"]["sheet"]), DATASETS_ROOT)
validate(SHEET, "../schemas/datasets.schema.yaml")
TASKS = suite_tasks(SHEET, config["datasets"]["suite"])


wildcard_constraints:
    task="|".join(re.escape(t) for t in TASKS),


def results(*parts):
    """A path under the configured results folder."""
    return str(RESULTS.joinpath(*parts))


def dataset_file(wildcards):
    """The vendored CSV of a task (the rule reruns if it changes)."""
    return str(DATASETS_ROOT / SHEET.loc[wildcards.task, "name"]) + ".csv.gz"


def final_outputs():
    """The final targets of the workflow."""
    return [results("splits", f"{task}.npz") for task in TASKS]
