# Helpers shared by the stage files (validation, the datasets sheet, output paths).
# Functions only, no rules.
import re
import sys
from pathlib import Path
from types import SimpleNamespace

from batch_inefficiency.config import check_workflow_config
from batch_inefficiency.datasets import manifest_entry
from batch_inefficiency.errors import exit_on_error
from batch_inefficiency.figures.spec import FIGURES
from batch_inefficiency.pdf import pdf_unavailable
from batch_inefficiency.resources import (
    Workload,
    scheduler_hint,
    task_shape,
    train_mem_mb,
    train_runtime_minutes,
    train_seconds,
)
from batch_inefficiency.scaling_config import (
    check_scaling,
    study_batch_sizes,
    with_prepared_trials,
)
from batch_inefficiency.size_sweep_config import (
    check_size_sweep,
    is_on,
    sweep_methods,
)
from batch_inefficiency.suites import suite_tasks

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
    task=task_pattern(dict.fromkeys([*TASKS, *SCALING_TASKS, *SIZE_SWEEP_TASKS])),
    batch="[1-9][0-9]*|full",
    figure="|".join(FIGURES),


def results(*parts):
    """A path under the configured results folder."""
    return str(RESULTS.joinpath(*parts))


def metrics_given(task):
    """True when the statistics are asked from the metrics (``statistics_from_metrics``) and
    a task's metrics exist and none of its run files do."""
    if not config.get("statistics_from_metrics", False):
        return False
    metrics = [
        Path(results("metrics", task, name)) for name in ("rates.csv", "trials.csv")
    ]
    runs = [
        Path(results("runs", task, batch, name))
        for batch in batch_sizes(task)
        for name in ("curves.csv.gz", "replicas.csv")
    ]
    return all(p.exists() for p in metrics) and not any(p.exists() for p in runs)


def metrics_settings():
    """The metrics stage's settings: the config's, plus the stability analysis' tolerances."""
    stability = config["statistics"]["stability"]
    return config["metrics"] | {"alternative_tolerances": stability["tolerances"]}


def dataset_file(wildcards):
    """The data set file of a task, as the manifest names it (the rule reruns if it changes)."""
    return str(DATASETS_ROOT / manifest_entry(wildcards.task, DATASETS_ROOT)["file"])


def batch_sizes(task):
    """Batch sizes trained on a task: the large task gets the whole sweep."""
    training = config["training"]
    return training["large_task_batch_sizes" if task in LARGE else "batch_sizes"]


# Tasks whose metrics the summarise_task rule computes; the others' are given.
SUMMARISED = [task for task in TASKS if not metrics_given(task)]
if len(SUMMARISED) < len(TASKS):
    print(
        f"Note: metrics of {len(TASKS) - len(SUMMARISED)} task(s) taken as given (they exist "
        "and no run file does); the statistics are recomputed from them.",
        file=sys.stderr,
    )


def run_files(kind):
    """Input function: one run file of each batch size of the task (kind: curves, replicas)."""
    name = {"curves": "curves.csv.gz", "replicas": "replicas.csv"}[kind]

    def files(wildcards):
        return [
            results("runs", wildcards.task, batch, name)
            for batch in batch_sizes(wildcards.task)
        ]

    return files


def scaling_n_train(task):
    """A lower bound of a task's training-split size (60% of it, less one row per class)."""
    shape = task_shape(
        task,
        DATASETS_ROOT,
        config["datasets"]["nominal"],
        config["training"]["model"]["hidden"],
    )
    return shape.n_train - shape.n_classes


with exit_on_error():
    check_scaling(
        SCALING,
        SCALING_TASKS,
        config["trials"],
        {task: scaling_n_train(task) for task in SCALING_TASKS},
    )


with exit_on_error():
    check_size_sweep(
        SIZE_SWEEP,
        SCALING,
        SIZE_SWEEP_TASKS,
        config["trials"],
        {task: scaling_n_train(task) for task in SIZE_SWEEP_TASKS},
    )


def size_sweep_files(name):
    """One file of every task x method of the size sweep (trials.csv, searches.json)."""
    return [
        results("size_sweep", task, batch, name)
        for task in SIZE_SWEEP_TASKS
        for batch in sweep_methods(SIZE_SWEEP)
    ]


SIZE_SWEEP_TABLES = [
    f"{name}.{ext}"
    for name in ("size_sweep", "size_sweep_fit")
    for ext in ("csv", "md", "tex")
] + ["size_sweep_claim.csv"]


def size_sweep_given():
    """True when the size sweep's tables exist and none of its run files do (the committed
    reference tables) and the statistics are asked from the metrics (``statistics_from_metrics``):
    they are taken as given, as the metrics are, and nothing is trained.
    """
    if not config.get("statistics_from_metrics", False):
        return False
    tables = [Path(results("tables", name)) for name in SIZE_SWEEP_TABLES]
    runs = [Path(p) for p in size_sweep_files("trials.csv")]
    return all(p.exists() for p in tables) and not any(p.exists() for p in runs)


SIZE_SWEEP_GIVEN = is_on(SIZE_SWEEP) and size_sweep_given()
if SIZE_SWEEP_GIVEN:
    print(
        "Note: the size sweep's tables taken as given (they exist and no run file does).",
        file=sys.stderr,
    )


def size_sweep_inputs(name):
    """Input function of the tables rule: the sweep's files, none when they are given."""

    def files(wildcards):
        if SIZE_SWEEP_GIVEN:
            return []
        if name == "target.json":
            return [results("size_sweep", task, name) for task in SIZE_SWEEP_TASKS]
        return size_sweep_files(name)

    return files


def size_sweep_outputs():
    """The size sweep's tables and figures (the `size_sweep` target; none when it is off)."""
    if not is_on(SIZE_SWEEP):
        return []
    figures = [
        results("figures", f"{name}.{ext}")
        for name, spec in FIGURES.items()
        if spec.section == "size_sweep"
        for ext in ("pdf", "png")
    ]
    return [
        results("tables", "size_sweep.csv"),
        results("tables", "size_sweep_fit.csv"),
        *figures,
    ]


def size_sweep_claim(wildcards):
    """C2's within-task verdict for the statistics stage, where the size sweep runs."""
    return [results("tables", "size_sweep_claim.csv")] if is_on(SIZE_SWEEP) else []


def size_sweep_report_inputs(wildcards):
    """The size sweep's table, fit and claim for the report, where it runs."""
    if not is_on(SIZE_SWEEP):
        return {}
    names = {
        "sweep": "size_sweep",
        "fit": "size_sweep_fit",
        "claim": "size_sweep_claim",
    }
    return {f"size_sweep_{k}": results("tables", f"{v}.csv") for k, v in names.items()}


def report_figures():
    """The figures of this run (the size sweep's only where it runs)."""
    return [
        name
        for name, spec in FIGURES.items()
        if spec.section != "size_sweep" or is_on(SIZE_SWEEP)
    ]


def scaling_batch_sizes(task):
    """Batch sizes of the scaling study on a task (the config's list, or powers then full)."""
    return study_batch_sizes(SCALING, scaling_n_train(task))


def scaling_files(name):
    """One file of every rate search of the scaling study (search.json, trials.csv, ...)."""
    return [
        results("scaling", task, batch, name)
        for task in SCALING_TASKS
        for batch in scaling_batch_sizes(task)
    ]


def scaling_outputs():
    """The scaling study's tables and figures (the `scaling` target)."""
    figures = [
        results("figures", f"{name}.{ext}")
        for name, spec in FIGURES.items()
        if spec.section == "beyond"
        for ext in ("pdf", "png")
    ]
    return [
        results("tables", "scaling.csv"),
        results("tables", "scaling_fit.csv"),
        *figures,
    ]


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
        "scaling": rules.scaling_tables.output.scaling,
        "scaling_fit": rules.scaling_tables.output.fit,
        "size_sweep": rules.size_sweep_tables.output.sweep if is_on(SIZE_SWEEP) else [],
        "size_sweep_fit": (
            rules.size_sweep_tables.output.fit if is_on(SIZE_SWEEP) else []
        ),
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
    tables = [
        "tasks",
        "large_task_grid",
        "tests",
        "claims",
        "verdict_stability",
        "time_to_target",
    ]
    figures = [
        results("figures", f"{name}.{ext}")
        for name in report_figures()
        for ext in ("pdf", "png")
    ]
    report_files = [results("report", "report.html")]
    if PDF_UNAVAILABLE is None:
        report_files.append(results("report", "report.pdf"))
    return [
        *(results("tables", f"{name}.csv") for name in tables),
        *figures,
        *scaling_outputs(),
        *size_sweep_outputs(),
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
