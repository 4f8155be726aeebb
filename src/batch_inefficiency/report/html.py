"""The paper-style report: one self-contained HTML file from the results (docs/design.md §7).

Every number comes from the pipeline's tables and run records; methods are
filled in from the resolved config; figures are embedded as PNG data. The
template (templates/report.html.j2) is rendered with StrictUndefined, so a
missing field is an error, never a blank in the report. report/pdf.py prints the same
page to PDF.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from importlib.resources import files
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd
from markupsafe import Markup

from batch_inefficiency import __version__
from batch_inefficiency.provenance import git_commit, library_versions, machine, now
from batch_inefficiency.report.blocks import counted, section_figures, table_html
from batch_inefficiency.stats.verdicts import __doc__ as VERDICT_RULES
from batch_inefficiency.studies.registry import STUDIES

TABLES = {
    "claims": "The paper's claims and our verdicts",
    "verdict_stability": "Verdict stability under alternative analyses",
    "tasks": "Per-task results",
    "time_to_target": "Epochs to target as censored times (Kaplan-Meier)",
    "large_task_grid": "The large task: batch size x learning rate",
    "tests": "Every statistical test",
}
DEVIATIONS = [
    "Data: KEEL's copies of the UCI data sets (crx 653 of 690, housevotes 232 of 435, breast "
    "277 of 286, wisconsin 683 of 699 instances: rows with missing values dropped; some numeric "
    "columns rescaled), not the paper's files; the task list is ours (the paper's 26 task names "
    "are not at hand), chosen to mirror its mostly small tasks.",
    "The 20,000-instance speech task is replaced by letter (20,000 instances, 16 inputs, 26 "
    "classes).",
    "Network details the paper's text does not give us (hidden units, activation, output "
    "coding, error function, initialisation, input scaling) are assumptions, listed in Methods.",
    "Nominal inputs are coded as integers and scaled like numeric inputs (ordinal) unless the "
    "config asks for one-hot coding.",
    "'Epochs needed' is the epoch where the trial-averaged hold-out accuracy peaks (our reading "
    "of the paper); we add epochs to a common target accuracy, with censoring, as a second view.",
    "A method whose best hold-out accuracy is not above the majority share (it did not learn), or "
    "whose trials mostly stalled, has its epochs needed censored at its budget rather than taken "
    "at its chance 'peak'.",
]
THREATS = [
    "With sigmoid outputs and squared error the loss is bounded, so the divergence rule rarely "
    "fires; too large a rate saturates the units instead. Such runs are marked 'stalled' by a "
    "stated rule and censored, but a method that learns a little above the majority share still "
    "counts as having learned.",
    "Epoch budgets cap the measured epochs: trials that never reach the target are censored at "
    "their budget, and two methods are compared up to the shorter of their budgets (the common "
    "horizon), which understates the slower method's epochs (conservative for claim C1).",
    "Speed is measured in epochs (and weight updates), as in the paper; wall-clock time depends "
    "on the hardware and the engine, and on parallel hardware larger batches cost less per "
    "epoch.",
    "One architecture and one loss are studied; the conclusions may not carry over to deep "
    "networks, adaptive optimisers or momentum.",
    "Results with few trials or tasks (such as the quick profile) have little statistical "
    "power; 'not computable' or 'partly supported' there says nothing about the paper.",
]
BIBTEX = """@article{wilson2003general,
  author  = {Wilson, D. Randall and Martinez, Tony R.},
  title   = {The general inefficiency of batch training for gradient descent learning},
  journal = {Neural Networks}, volume = {16}, number = {10}, pages = {1429--1451},
  year    = {2003}, doi = {10.1016/S0893-6080(03)00138-2}
}
@article{alcala2011keel,
  author  = {Alcal{\\'a}-Fdez, J. and others},
  title   = {{KEEL} data-mining software tool: data set repository, integration of
             algorithms and experimental analysis framework},
  journal = {Journal of Multiple-Valued Logic and Soft Computing},
  volume  = {17}, pages = {255--287}, year = {2011}
}
@article{demsar2006statistical,
  author  = {Dem{\\v{s}}ar, Janez},
  title   = {Statistical comparisons of classifiers over multiple data sets},
  journal = {Journal of Machine Learning Research}, volume = {7}, pages = {1--30}, year = {2006}
}"""


def run_summary(run_files: list[Path]) -> tuple[pd.DataFrame, dict[str, Any], pd.DataFrame]:
    """Per training job: task, batch size, path, device, seconds; one run's environment; and
    the machines that trained (:func:`training_machines`)."""
    rows, environment, machines = [], {}, []
    columns = ["task", "batch_size", "replicas", "path", "device", "dtype", "seconds"]
    for path in run_files:
        info = json.loads(Path(path).read_text())
        environment = info["environment"] | {"threads": info["resolved"]["threads_torch"]}
        rows.append(
            {
                "task": info["context"]["task"],
                "batch_size": info["context"]["batch_size"],
                "replicas": info["resolved"]["replicas"],
                "path": info["resolved"]["path"],
                "device": info["resolved"]["device"],
                "dtype": info["resolved"]["dtype"],
                "seconds": info["timing"]["setup_seconds"] + info["timing"]["train_seconds"],
            }
        )
        machines.append(training_machine(info))
    return pd.DataFrame(rows, columns=columns), environment, training_machines(machines)


def training_machine(info: Mapping) -> dict[str, Any]:
    """The machine, device and commit that trained one run (its run.json ``environment``)."""
    environment = info["environment"]
    machine = environment.get("machine", {})
    return {
        "host": machine.get("host", "unknown"),
        "cpu": machine.get("cpu", "unknown"),
        "cpus": machine.get("cpu_count", "unknown"),
        "os": machine.get("os", "unknown"),
        "python": machine.get("python", "unknown"),
        "device": environment.get("device_name", "unknown"),
        "commit": environment.get("git_commit", "unknown"),
    }


def training_machines(machines: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per distinct training machine (host, CPU, OS, device, commit), with its job count."""
    frame = pd.DataFrame(machines).astype(str)
    if frame.empty:
        return pd.DataFrame(columns=["host", "cpu", "cpus", "os", "python", "device", "commit"])
    return frame.value_counts(sort=False).rename("jobs").reset_index()


def short_verdicts(claims: pd.DataFrame) -> str:
    """``C1: supported; C2: partly supported (fragile: 2 alternatives disagree)``: never a
    fragile verdict without saying so (the abstract; section 4 gives what flips it)."""
    parts = []
    for row in claims.to_dict("records"):
        stability = row.get("stability")
        note = ""
        if isinstance(stability, str) and stability.startswith("fragile"):
            flips = stability.removeprefix("fragile:").split(" (not computable")[0].split(";")
            disagree = counted(len(flips), "alternative disagrees", "alternatives disagree")
            note = f" (fragile: {disagree})"
        parts.append(f"{row['claim']}: {row['verdict']}{note}")
    return "; ".join(parts)


def abstract(
    tasks: pd.DataFrame,
    claims: pd.DataFrame,
    config: Mapping,
    beyond: Sequence[str] = (),
) -> str:
    """The abstract, with this run's numbers; ``beyond``: the studies' sentences, if run."""
    speedup = tasks["speedup"].median()
    text = (
        f"We re-ran Wilson and Martinez's (2003) comparison of on-line and batch gradient descent "
        f"on {len(tasks)} classification tasks with {config['trials']} trials each, learning "
        f"rates {', '.join(map(str, config['training']['learning_rates']))} and epoch budgets "
        f"{', '.join(map(str, config['training']['epochs']))}. Batch training needed a median of "
        f"{speedup:.3g} times the epochs of on-line training to reach its best hold-out accuracy "
        f"(median test accuracy {tasks['online_acc'].median():.3f} on-line, "
        f"{tasks['batch_acc'].median():.3f} batch). Verdicts on the paper's claims "
        f"(section 4 gives each with its evidence and the alternative analyses): "
        f"{short_verdicts(claims)}."
    )
    return " ".join([text, *beyond])


def report_template() -> jinja2.Template:
    """The report's Jinja template (package data), strict about undefined fields."""
    return jinja2.Environment(
        loader=jinja2.FunctionLoader(
            lambda name: files("batch_inefficiency.report").joinpath("templates", name).read_text()
        ),
        undefined=jinja2.StrictUndefined,
        autoescape=jinja2.select_autoescape(default=True),
    ).get_template("report.html.j2")


def study_inputs(inputs: Mapping[str, Any]) -> dict[str, dict[str, Path]]:
    """The studies' tables among a report job's named inputs (``<study>__<table>``, as the
    workflow names them), by study and table name."""
    studies: dict[str, dict[str, Path]] = {}
    for key, path in inputs.items():
        if "__" in key:
            study, table = key.split("__", 1)
            studies.setdefault(study, {})[table] = Path(path)
    return studies


def study_sections(
    studies: Mapping[str, Mapping[str, Path]], figures: Mapping[str, Path], first_figure: int
) -> list[dict[str, Any]]:
    """The report sections of the studies beyond the paper that ran, in the registry's order:
    ``studies`` maps a study's name to its tables (name -> CSV path). Tables come as HTML,
    and each section knows the number of its first figure."""
    sections = []
    for name, study in STUDIES.items():
        if name not in studies:
            continue
        section = study.section(studies[name], figures)
        section["tables"] = [(title, Markup(table_html(f))) for title, f in section["tables"]]
        section["first_figure"] = first_figure
        first_figure += len(section["figures"])
        sections.append(section)
    return sections


def build_report(
    config: Mapping,
    tables: Mapping[str, Path],
    figures: Mapping[str, Path],
    run_files: list[Path],
    quick: bool,
    command: str,
    out: Path,
    studies: Mapping[str, Mapping[str, Path]] | None = None,
    given_tasks: int = 0,
) -> str:
    """Render the report to ``out`` and return the HTML.

    ``tables``: CSV paths by table name (TABLES); ``figures``: PNG paths by figure name
    (titles and captions from the figure specification, FIGURES); ``studies``: per study
    beyond the paper that ran (the registry, STUDIES), its tables by name.
    """
    paper_figures = section_figures(figures, "paper")
    sections = study_sections(studies or {}, figures, len(paper_figures) + 1)
    # "n/a" (an analysis that does not apply) is a verdict cell's text, not a missing value.
    read = {"keep_default_na": False, "na_values": [""]}
    frames = {name: pd.read_csv(tables[name], **read) for name in TABLES}
    runs, environment, machines = run_summary(run_files)
    page = report_template().render(
        quick=quick,
        abstract=abstract(
            frames["tasks"], frames["claims"], config, [s["sentence"] for s in sections]
        ),
        claims=frames["claims"].fillna("").to_dict("records"),
        config=config,
        config_yaml=json.dumps(config, indent=2),
        datasets=Markup(table_html(frames["tasks"][["task", "classes", "inputs", "train_size"]])),
        deviations=DEVIATIONS,
        threats=THREATS,
        verdict_rules=VERDICT_RULES.split("\n\n", 1)[1].strip(),
        tables={n: (t, Markup(table_html(frames[n]))) for n, t in TABLES.items()},
        figures=paper_figures,
        studies=sections,
        runs=Markup(table_html(runs)),
        machines=Markup(table_html(machines)),
        total_hours=runs["seconds"].sum() / 3600,
        environment=environment,
        versions=library_versions(),
        package_version=__version__,
        commit=git_commit(),
        host=machine(),
        alternative=config["statistics"].get("alternative", "two-sided"),
        generated=now(),
        command=command,
        given_tasks=given_tasks,
        bibtex=BIBTEX,
    )
    Path(out).write_text(page)
    return page
