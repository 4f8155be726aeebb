# The final targets, from the study registry (batch_inefficiency.studies.registry): every
# study that runs gives its tables and figures, and the report comes last. Each study's own
# target (`snakemake scaling --cores all`) is a rule of its rules file, on study_outputs.
from batch_inefficiency.pipeline.targets import study_outputs as registry_outputs


def study_outputs(name):
    """A study's final tables and figures (none when the config switches it off)."""
    return registry_outputs(STUDIES[name], results) if name in RUN_STUDIES else []


def final_outputs():
    """The final targets of the workflow."""
    report_files = [results("report", "report.html")]
    if PDF_UNAVAILABLE is None:
        report_files.append(results("report", "report.pdf"))
    return [*(f for name in RUN_STUDIES for f in study_outputs(name)), *report_files]
