# The config, validated, and the paths every stage file uses. Functions and constants only,
# no rules: each study's helpers live in its own rules file, scheduler resources in
# resources.smk and the final targets (from the study registry) in targets.smk.
import re
import sys
from pathlib import Path

from batch_inefficiency.data.datasets import manifest_entry
from batch_inefficiency.data.suites import suite_tasks
from batch_inefficiency.errors import exit_on_error
from batch_inefficiency.figures.spec import FIGURES
from batch_inefficiency.pipeline.config import (
    check_batch_sizes_fit,
    check_workflow_config,
)
from batch_inefficiency.pipeline.resources import task_shape
from batch_inefficiency.pipeline.targets import taken_as_given
from batch_inefficiency.report.pdf import pdf_unavailable
from batch_inefficiency.studies.registry import STUDIES
from batch_inefficiency.studies.scaling.config import (
    check_scaling,
    with_prepared_trials,
)
from batch_inefficiency.studies.size_sweep.config import check_size_sweep, is_on
from batch_inefficiency.studies.generalization.config import check_generalization
from batch_inefficiency.studies.optimizers.config import check_optimizers

# A mistake in the config or the sheet stops here with one line naming the key, exit 2.
with exit_on_error():
    SHEET, TASKS, LARGE = check_workflow_config(
        config, Path(workflow.basedir, "workflow", "schemas")
    )
RESULTS = Path(config["results"])
DATASETS_ROOT = Path(config["datasets"]["root"])
LARGE_TASK = LARGE[0] if LARGE else None
SCALING = with_prepared_trials(config["scaling"], config["trials"])
SCALING_TASKS = suite_tasks(SHEET, SCALING["suite"])
SIZE_SWEEP = with_prepared_trials(config["size_sweep"], config["trials"], "size_sweep")
SIZE_SWEEP_TASKS = suite_tasks(SHEET, SIZE_SWEEP["suite"]) if is_on(SIZE_SWEEP) else []
GENERALIZATION = with_prepared_trials(
    config["generalization"], config["trials"], "generalization"
)
GENERALIZATION_TASKS = suite_tasks(SHEET, GENERALIZATION["suite"])
OPTIMIZERS = with_prepared_trials(config["optimizers"], config["trials"], "optimizers")
OPTIMIZER_TASKS = suite_tasks(SHEET, OPTIMIZERS["suite"])
# The studies of this run, in the registry's order (the size sweep can be switched off).
RUN_STUDIES = [name for name in STUDIES if name != "size_sweep" or is_on(SIZE_SWEEP)]
# The command line, recorded in the report.
COMMAND = " ".join(["snakemake", *sys.argv[1:]])
# report.pdf is a final output only where WeasyPrint can print (docs/design.md §7: "PDF where
# the tools allow"); otherwise say so once and write the HTML report alone.
PDF_UNAVAILABLE = pdf_unavailable()
if PDF_UNAVAILABLE is not None:
    print(f"Note: report.pdf skipped: {PDF_UNAVAILABLE}", file=sys.stderr)


def task_pattern(tasks):
    """A wildcard pattern matching exactly ``tasks`` (nothing when there are none)."""
    return "|".join(re.escape(t) for t in tasks) or "(?!)"


wildcard_constraints:
    task=task_pattern(
        dict.fromkeys(
            [
                *TASKS,
                *SCALING_TASKS,
                *SIZE_SWEEP_TASKS,
                *GENERALIZATION_TASKS,
                *OPTIMIZER_TASKS,
            ]
        )
    ),
    optimizer=task_pattern(OPTIMIZERS["run"]),
    batch="[1-9][0-9]*|full",
    figure="|".join(FIGURES),


def results(*parts):
    """A path under the configured results folder."""
    return str(RESULTS.joinpath(*parts))


def given(outputs, run_files):
    """Whether ``outputs`` are taken as given (statistics_from_metrics; pipeline.targets)."""
    return taken_as_given(
        config.get("statistics_from_metrics", False), outputs, run_files
    )


def dataset_file(wildcards):
    """The data set file of a task, as the manifest names it (the rule reruns if it changes)."""
    return str(DATASETS_ROOT / manifest_entry(wildcards.task, DATASETS_ROOT)["file"])


def batch_sizes(task):
    """Batch sizes trained on a task: the large task gets the whole sweep."""
    training = config["training"]
    return training["large_task_batch_sizes" if task in LARGE else "batch_sizes"]


def n_train_bound(task):
    """A lower bound of a task's training-split size (60% of it, less one row per class)."""
    shape = task_shape(
        task,
        DATASETS_ROOT,
        config["datasets"]["nominal"],
        config["training"]["model"]["hidden"],
    )
    return shape.n_train - shape.n_classes


with exit_on_error():
    check_batch_sizes_fit(
        config["training"],
        TASKS,
        LARGE,
        {task: n_train_bound(task) for task in TASKS},
        DATASETS_ROOT,
    )
    check_scaling(
        SCALING,
        SCALING_TASKS,
        config["trials"],
        {task: n_train_bound(task) for task in SCALING_TASKS},
    )
    check_size_sweep(
        SIZE_SWEEP,
        SCALING,
        SIZE_SWEEP_TASKS,
        config["trials"],
        {task: n_train_bound(task) for task in SIZE_SWEEP_TASKS},
    )
    check_generalization(
        GENERALIZATION,
        GENERALIZATION_TASKS,
        config["trials"],
        {task: n_train_bound(task) for task in GENERALIZATION_TASKS},
    )
    check_optimizers(
        OPTIMIZERS,
        SCALING,
        OPTIMIZER_TASKS,
        config["trials"],
        {task: n_train_bound(task) for task in OPTIMIZER_TASKS},
    )
