# Adapter: snakemake.* -> batch_inefficiency.report.html.build_report; stderr -> log.
import sys

from batch_inefficiency.pipeline.jobs import start_job
from batch_inefficiency.report.html import TABLES, build_report, study_inputs

start_job(snakemake)  # stderr -> log; a failure ends in one line there (jobs.py)
build_report(
    config=snakemake.params.config,
    tables={name: snakemake.input[name] for name in TABLES},
    figures=dict(zip(snakemake.params.figures, snakemake.input.figures)),
    run_files=snakemake.input.runs,
    quick=snakemake.params.quick,
    command=snakemake.params.command,
    out=snakemake.output.html,
    studies=study_inputs(snakemake.input),
    given_tasks=snakemake.params.given_tasks,
)
print(f"wrote {snakemake.output.html}", file=sys.stderr)
