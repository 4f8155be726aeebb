# The input functions and per-stage constants of the rules files, one section per stage
# or study (functions only: each rules file holds rules only). common.smk gives the config
# and paths they use.
from batch_inefficiency.studies.scaling.config import study_batch_sizes
from batch_inefficiency.studies.size_sweep.config import sweep_methods
from batch_inefficiency.studies.generalization.config import task_batch_sizes
from batch_inefficiency.studies.optimizers.config import (
    reuses_scaling_search,
    run_labels,
)


def study_given(name, run_files, metrics=None):
    """Whether a study's tables (its registry entry allows it), or else its ``metrics``
    files, are taken as given (statistics_from_metrics asks): they exist and none of its
    ``run_files`` does. Given metrics are read and the tables recomputed from them."""
    if metrics is None:
        files = [results("tables", table) for table in STUDIES[name].table_files()]
        taken = STUDIES[name].given_tables and given(files, run_files)
        what = "tables taken as given (they exist and no run file does)"
    else:
        taken = given(metrics, run_files)
        what = (
            "metrics taken as given (they exist and no run file does); its tables are "
            "recomputed from them"
        )
    if taken:
        print(f"Note: the {name.replace('_', ' ')} study's {what}.", file=sys.stderr)
    return taken


def unless_given(taken, files):
    """Input function: ``files``, none when they are taken as given (the rule then reads
    them through its params, so that nothing retrains them)."""
    return lambda wildcards: [] if taken else files


# ---- metrics.smk ----


def metrics_given(task):
    """A task's metrics are taken as given when asked (statistics_from_metrics), they exist
    and none of its run files does."""
    metrics = [results("metrics", task, name) for name in ("rates.csv", "trials.csv")]
    runs = [
        results("runs", task, batch, name)
        for batch in batch_sizes(task)
        for name in ("curves.csv.gz", "replicas.csv")
    ]
    return given(metrics, runs)


def metrics_settings():
    """The metrics stage's settings: the config's, plus the stability analysis' tolerances."""
    stability = config["statistics"]["stability"]
    return config["metrics"] | {"alternative_tolerances": stability["tolerances"]}


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


# ---- scaling.smk ----


def scaling_batch_sizes(task):
    """Batch sizes of the scaling study on a task (the config's list, or powers then full)."""
    return study_batch_sizes(SCALING, n_train_bound(task))


def scaling_files(name):
    """One file of every rate search of the scaling study (search.json, trials.csv, ...)."""
    return [
        results("scaling", task, batch, name)
        for task in SCALING_TASKS
        for batch in scaling_batch_sizes(task)
    ]


# The scaling study's tables are taken as given when asked, where they exist and no search
# kept its run files (the committed reference keeps each search's small files only).
SCALING_GIVEN = study_given("scaling", scaling_files("best_weights.npz"))


def scaling_inputs(files):
    """Input function of the tables rule: ``files``, none when the tables are given."""
    return lambda wildcards: [] if SCALING_GIVEN else files


# ---- size_sweep.smk ----


def size_sweep_files(name):
    """One file of every task x method of the size sweep (trials.csv, searches.json)."""
    return [
        results("size_sweep", task, batch, name)
        for task in SIZE_SWEEP_TASKS
        for batch in sweep_methods(SIZE_SWEEP)
    ]


# The sweep's tables are taken as given (the committed reference tables) when asked, where
# they exist and none of its run files does: nothing is trained for them.
SIZE_SWEEP_GIVEN = is_on(SIZE_SWEEP) and study_given(
    "size_sweep", size_sweep_files("trials.csv")
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


# ---- generalization.smk ----

# The study's small tasks: those outside the scaling suite (the stability table's
# alternative leaves them out).
GENERALIZATION_SMALL = [
    task for task in GENERALIZATION_TASKS if task not in SCALING_TASKS
]


def generalization_runs(name):
    """Input function: one file of each batch size's run of the task (search.json, ...)."""

    def files(wildcards):
        return [
            results("generalization", wildcards.task, batch, name)
            for batch in task_batch_sizes(GENERALIZATION, n_train_bound(wildcards.task))
        ]

    return files


GENERALIZATION_POINTS = [
    results("generalization", task, "points.csv") for task in GENERALIZATION_TASKS
]
GENERALIZATION_GIVEN = study_given(
    "generalization",
    [
        results("generalization", task, "full", "final_weights.npz")
        for task in GENERALIZATION_TASKS
    ],
    metrics=GENERALIZATION_POINTS,
)


def generalization_decay(wildcards):
    """The weight-decay arm's files of the task (none when the config has no strengths)."""
    if not GENERALIZATION["weight_decays"]:
        return []
    return [
        results("generalization", wildcards.task, "decay", name)
        for name in ("decay.json", "curves.npz", "final_weights.npz")
    ]


# ---- statistics.smk ----


def study_claims(wildcards):
    """The claim tables of the studies beyond the paper that run (their rows join claims.csv)."""
    return [
        results("tables", f"{STUDIES[name].claim_table}.csv")
        for name in RUN_STUDIES
        if STUDIES[name].claim_table is not None
    ]


# ---- figures.smk ----


# The large task's curves figure is taken as given with its metrics: the committed figure
# stays, since the curves it is drawn from are run files (not committed).
LARGE_CURVES_GIVEN = (
    LARGE_TASK in TASKS
    and LARGE_TASK not in SUMMARISED
    and given(
        [results("figures", f"large_task_curves.{ext}") for ext in ("pdf", "png")],
        [
            results("runs", LARGE_TASK, batch, "curves.csv.gz")
            for batch in batch_sizes(LARGE_TASK)
        ],
    )
)


def report_figures():
    """The figures of the studies that run, in the specification's order."""
    sections = {STUDIES[name].figure_section for name in RUN_STUDIES}
    return [name for name, spec in FIGURES.items() if spec.section in sections]


def figure_input_files():
    """Files of each table a figure may read (the ``inputs`` of figures.spec.FIGURES)."""
    large = LARGE_TASK or []
    return {
        "curves": (
            []
            if LARGE_CURVES_GIVEN
            else expand(
                rules.train.output.curves, task=large, batch=batch_sizes(LARGE_TASK)
            )
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
        "generalization": rules.generalization_tables.output.table,
        "points": expand(
            rules.generalization_points.output.points, task=GENERALIZATION_TASKS
        ),
        "optimizers": rules.optimizers_tables.output.table,
        "optimizers_fit": rules.optimizers_tables.output.fit,
        "optimizers_curvature": rules.optimizers_tables.output.curvature,
    }


def figure_inputs(wildcards):
    """Input function of the plot rule: the figure's inputs, by name (none for a figure taken
    as given with the run files it is drawn from)."""
    inputs = FIGURES[wildcards.figure].inputs
    if "curves" in inputs and LARGE_CURVES_GIVEN:
        return {}
    files = figure_input_files()
    return {name: files[name] for name in inputs}


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


# ---- report.smk ----


def study_tables(wildcards):
    """The tables of every study beyond the paper that runs, by study and table name (the
    report's sections, from the study registry)."""
    return {
        f"{name}__{table}": results("tables", f"{table}.csv")
        for name in RUN_STUDIES
        if STUDIES[name].report_section is not None
        for table in STUDIES[name].tables
    }


def all_run_records(wildcards):
    """run.json of every training job of the suite (none of a task whose metrics are given)."""
    return [
        results("runs", task, batch, "run.json")
        for task in SUMMARISED
        for batch in batch_sizes(task)
    ]


# ---- optimizers.smk ----


def optimizer_batch_sizes(task):
    """Batch sizes of the optimizer study on a task (the config's list, or powers then full)."""
    return study_batch_sizes(OPTIMIZERS, n_train_bound(task))


def optimizer_section(wildcards):
    """The search's settings of one optimizer: the study's budget and that optimizer's entry
    alone (so that adding or changing another optimizer reruns none of its searches)."""
    budget = ("trials", "max_epochs", "max_widenings", "patience")
    label = wildcards.optimizer
    return {key: OPTIMIZERS[key] for key in budget} | {
        "optimizers": {label: OPTIMIZERS["optimizers"][label]}
    }


def reuses_scaling(task, label, batch):
    """Whether this search of the optimizer study is the scaling study's own (plain SGD, the
    same settings and batch size), read from there instead of repeated."""
    return (
        task in SCALING_TASKS
        and batch in scaling_batch_sizes(task)
        and reuses_scaling_search(config["training"], SCALING, OPTIMIZERS, label, task)
    )


def optimizer_search_file(task, label, batch, name):
    """One file of a rate search of the optimizer study: the scaling study's where the search
    would repeat it, else the study's own."""
    if reuses_scaling(task, label, batch):
        return results("scaling", task, batch, name)
    return results("optimizers", task, label, batch, name)


def optimizer_searches():
    """(task, optimizer label, batch size) of every rate search of the optimizer study."""
    return [
        (task, label, batch)
        for task in OPTIMIZER_TASKS
        for label in run_labels(OPTIMIZERS)
        for batch in optimizer_batch_sizes(task)
    ]


def optimizer_files(name):
    """One file of every rate search of the optimizer study (search.json, trials.csv)."""
    return [optimizer_search_file(*search, name) for search in optimizer_searches()]


def online_reference_file(name):
    """Input function: a file of the reference optimizer's on-line search on a task."""
    return lambda wildcards: optimizer_search_file(
        wildcards.task, OPTIMIZERS["reference"], "1", name
    )


OPTIMIZER_CURVATURE = [
    results("optimizers", task, "curvature.csv") for task in OPTIMIZER_TASKS
]
OPTIMIZERS_GIVEN = study_given(
    "optimizer",
    [
        results("optimizers", *search, "best_weights.npz")
        for search in optimizer_searches()
        if not reuses_scaling(*search)
    ],
    metrics=optimizer_files("search.json")
    + optimizer_files("rates.csv")
    + optimizer_files("trials.csv")
    + OPTIMIZER_CURVATURE,
)
