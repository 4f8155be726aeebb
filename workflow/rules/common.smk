# Helpers shared by the stage files (validation, the datasets sheet, output paths).
# Functions only, no rules.
import re
import sys
from pathlib import Path
from types import SimpleNamespace

from snakemake.utils import validate

from batch_inefficiency.figures.spec import FIGURES
from batch_inefficiency.report import pdf_unavailable
from batch_inefficiency.resources import (
    Workload,
    scheduler_hint,
    task_shape,
    train_mem_mb,
    train_runtime_minutes,
    train_seconds,
)
from batch_inefficiency.runs import check_training
from batch_inefficiency.suites import large_tasks, read_sheet, suite_tasks

validate(config, "../schemas/config.schema.yaml")
check_training(config["training"])

RESULTS = Path(config["results"])
DATASETS_ROOT = Path(config["datasets"]["root"])
SHEET = read_sheet(Path(config["datasets"]["sheet"]), DATASETS_ROOT)
validate(SHEET, "../schemas/datasets.schema.yaml")
TASKS = suite_tasks(SHEET, config["datasets"]["suite"])
LARGE = large_tasks(SHEET, config["datasets"]["suite"])
LARGE_TASK = LARGE[0] if LARGE else None
# The command line, recorded in the report.
COMMAND = " ".join(["snakemake", *sys.argv[1:]])
# report.pdf is a final output only where WeasyPrint can print (docs/design.md §7: "PDF where
# the tools allow"); otherwise say so once and write the HTML report alone.
PDF_UNAVAILABLE = pdf_unavailable()
if PDF_UNAVAILABLE is not None:
    print(f"Note: report.pdf skipped: {PDF_UNAVAILABLE}", file=sys.stderr)


wildcard_constraints:
    task="|".join(re.escape(t) for t in TASKS),
    batch="[1-9][0-9]*|full",
    figure="|".join(FIGURES),


def results(*parts):
    """A path under the configured results folder."""
    return str(RESULTS.joinpath(*parts))


def dataset_file(wildcards):
    """The vendored CSV of a task (the rule reruns if it changes)."""
    return str(DATASETS_ROOT / SHEET.loc[wildcards.task, "name"]) + ".csv.gz"


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


def figure_input_files():
    """Files of each table a figure may read (the ``inputs`` of figures.spec.FIGURES)."""
    large = LARGE_TASK or []
    return {
        "curves": expand(
            rules.train.output.curves, task=large, batch=batch_sizes(LARGE_TASK)
        ),
        "rates": expand(rules.summarise_task.output.rates, task=large),
        "trials": expand(rules.summarise_task.output.trials, task=large),
        "tasks": rules.make_tables.output.tasks,
        "grid": rules.make_tables.output.grid,
        "cd": rules.run_statistics.output.critical_difference,
    }


def figure_inputs(wildcards):
    """Input function of the plot rule: the figure's inputs, by name."""
    files = figure_input_files()
    return {name: files[name] for name in FIGURES[wildcards.figure].inputs}


def figure_options(wildcards):
    """The figure's options (keyword arguments besides its tables)."""
    values = {"task": LARGE_TASK, "alpha": config["statistics"]["alpha"]}
    return {name: values[name] for name in FIGURES[wildcards.figure].options}


def figure_caption(wildcards):
    """The figure's caption (rendered by workflow/report/figure.rst)."""
    return FIGURES[wildcards.figure].caption


def figure_labels(file_format):
    """Snakemake-report labels of a figure file: its label and the format."""

    def labels(wildcards):
        return {"figure": FIGURES[wildcards.figure].label, "format": file_format}

    return labels


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


def train_priority(wildcards):
    """Longest first: a training job's priority is its estimated seconds, so the long jobs
    start while the short ones can still fill the other cores (docs/design.md §8)."""
    return round(train_seconds(train_workload(wildcards)))


def split_priority(wildcards):
    """A task's split comes as early as its longest training job needs it."""
    return max(
        train_priority(SimpleNamespace(task=wildcards.task, batch=batch))
        for batch in batch_sizes(wildcards.task)
    )


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
