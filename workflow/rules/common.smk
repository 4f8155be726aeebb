# Helpers shared by the stage files (validation, the datasets sheet, output paths).
# Functions only, no rules.
import re
import sys
from pathlib import Path

from batch_inefficiency.config import check_workflow_config
from batch_inefficiency.datasets import manifest_entry
from batch_inefficiency.errors import exit_on_error
from batch_inefficiency.report import FIGURES, pdf_unavailable
from batch_inefficiency.resources import (
    Workload,
    scheduler_hint,
    task_shape,
    train_mem_mb,
    train_runtime_minutes,
)

# A mistake in the config or the sheet stops here with one line naming the key, exit 2.
with exit_on_error():
    SHEET, TASKS, LARGE = check_workflow_config(
        config, Path(workflow.basedir, "workflow", "schemas")
    )
RESULTS = Path(config["results"])
DATASETS_ROOT = Path(config["datasets"]["root"])
LARGE_TASK = LARGE[0] if LARGE else None
# The command line, recorded in the report.
COMMAND = " ".join(["snakemake", *sys.argv[1:]])
# report.pdf is a final output only where WeasyPrint can print (DESIGN.md §7: "PDF where
# the tools allow"); otherwise say so once and write the HTML report alone.
PDF_UNAVAILABLE = pdf_unavailable()
if PDF_UNAVAILABLE is not None:
    print(f"Note: report.pdf skipped: {PDF_UNAVAILABLE}", file=sys.stderr)


wildcard_constraints:
    task="|".join(re.escape(t) for t in TASKS),
    batch="[1-9][0-9]*|full",


def results(*parts):
    """A path under the configured results folder."""
    return str(RESULTS.joinpath(*parts))


def dataset_file(wildcards):
    """The data set file of a task, as the manifest names it (the rule reruns if it changes)."""
    return str(DATASETS_ROOT / manifest_entry(wildcards.task, DATASETS_ROOT)["file"])


def batch_sizes(task):
    """Batch sizes trained on a task: the large task gets the whole sweep."""
    training = config["training"]
    return training["large_task_batch_sizes" if task in LARGE else "batch_sizes"]


def run_files(kind):
    """Input function: one run file of each batch size of the task (kind: curves, replicas)."""
    name = {"curves": "curves.csv.gz", "replicas": "replicas.csv"}[kind]

    def files(wildcards):
        return [
            results("runs", wildcards.task, batch, name)
            for batch in batch_sizes(wildcards.task)
        ]

    return files


def gpu_count(wildcards):
    """Training jobs ask for a GPU when the engine is told to use CUDA."""
    return int(config["training"]["engine"]["device"] == "cuda")


def all_run_records(wildcards):
    """run.json of every training job of the suite."""
    return [
        results("runs", task, batch, "run.json")
        for task in TASKS
        for batch in batch_sizes(task)
    ]


def figure_caption(name):
    """The caption file of a figure."""
    return f"workflow/report/{name}.rst"


def final_outputs():
    """The final targets of the workflow."""
    tables = ["tasks", "large_task_grid", "tests", "claims"]
    figures = [
        results("figures", f"{name}.{ext}")
        for name in FIGURES
        for ext in ("pdf", "png")
    ]
    report_files = [results("report", "report.html")]
    if PDF_UNAVAILABLE is None:
        report_files.append(results("report", "report.pdf"))
    return [
        *(results("tables", f"{name}.csv") for name in tables),
        *figures,
        *report_files,
    ]


def train_workload(wildcards):
    """What a training job's resource estimates depend on (batch_inefficiency.resources)."""
    training = config["training"]
    shape = task_shape(
        wildcards.task,
        DATASETS_ROOT,
        config["datasets"]["nominal"],
        training["model"]["hidden"],
    )
    device = "cuda" if gpu_count(wildcards) else "cpu"
    return Workload(
        shape, wildcards.batch, tuple(training["epochs"]), config["trials"], device
    )


def train_runtime(wildcards, attempt):
    """Minutes a training job asks the scheduler for: the calibrated estimate, x attempt."""
    return attempt * train_runtime_minutes(train_workload(wildcards))


def train_mem(wildcards, attempt):
    """Megabytes a training job asks the scheduler for: the calibrated estimate, x attempt."""
    return attempt * train_mem_mb(train_workload(wildcards))


def print_scheduler_hint(log):
    """After a failed run: what to change if sbatch refused a job (README, SLURM section)."""
    logs = [log] if isinstance(log, (str, Path)) else list(log or [])
    text = "".join(
        Path(f).read_text(errors="replace") for f in logs if Path(f).is_file()
    )
    hint = scheduler_hint(text)
    if hint:
        print(hint, file=sys.stderr)


onerror:
    print_scheduler_hint(log)
