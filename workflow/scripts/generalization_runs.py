# Adapter: snakemake.* -> batch_inefficiency.studies.generalization.runs.run_task; stderr -> log.
import json
import sys
from pathlib import Path

from batch_inefficiency.pipeline.jobs import start_job
from batch_inefficiency.studies.generalization.runs import run_task

start_job(snakemake)  # stderr -> log; a failure ends in one line there (jobs.py)
info = run_task(
    split=snakemake.input.split,
    out_dir=Path(snakemake.output.search).parent,
    task=snakemake.wildcards.task,
    batch_size=snakemake.wildcards.batch,
    training=snakemake.params.training,
    section=snakemake.params.section,
    seed=snakemake.params.seed,
    threads=snakemake.threads,
)
print(json.dumps(info, indent=2), file=sys.stderr)
