# Adapter: snakemake.* -> batch_inefficiency.report.build_report; stderr -> log.
import sys

from batch_inefficiency.jobs import start_job
from batch_inefficiency.report import build_report

start_job(snakemake)  # stderr -> log; a failure ends in one line there (jobs.py)
names = snakemake.params.figures
build_report(
    config=snakemake.params.config,
    tables={k: snakemake.input[k] for k in ("claims", "tasks", "large_task_grid", "tests")},
    figures=dict(zip(names, snakemake.input.figures)),
    captions=dict(zip(names, snakemake.input.captions)),
    run_files=snakemake.input.runs,
    quick=snakemake.params.quick,
    command=snakemake.params.command,
    out=snakemake.output.html,
)
print(f"wrote {snakemake.output.html}", file=sys.stderr)
