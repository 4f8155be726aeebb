# Adapter: snakemake.* -> batch_inefficiency.report.build_report; stderr -> log.
import sys

from batch_inefficiency.jobs import start_job
from batch_inefficiency.report import TABLES, build_report

start_job(snakemake)  # stderr -> log; a failure ends in one line there (jobs.py)
build_report(
    config=snakemake.params.config,
    tables={name: snakemake.input[name] for name in TABLES},
    figures=dict(zip(snakemake.params.figures, snakemake.input.figures)),
    run_files=snakemake.input.runs,
    quick=snakemake.params.quick,
    command=snakemake.params.command,
    out=snakemake.output.html,
    scaling={k: snakemake.input[f"scaling_{k}"] for k in ("scaling", "fit", "claim")},
    size_sweep={
        k: snakemake.input[f"size_sweep_{k}"]
        for k in ("sweep", "fit", "claim")
        if f"size_sweep_{k}" in snakemake.input.keys()
    }
    or None,
)
print(f"wrote {snakemake.output.html}", file=sys.stderr)
