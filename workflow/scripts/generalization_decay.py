# Adapter: snakemake.* -> batch_inefficiency.studies.generalization.runs.decay_task; stderr -> log.
import json
import sys
from pathlib import Path

from batch_inefficiency.pipeline.jobs import start_job
from batch_inefficiency.studies.generalization.runs import decay_task

start_job(snakemake)  # stderr -> log; a failure ends in one line there (jobs.py)
info = decay_task(
    split=snakemake.input.split,
    full_search=snakemake.input.full,
    out_dir=Path(snakemake.output.info).parent,
    task=snakemake.wildcards.task,
    training=snakemake.params.training,
    section=snakemake.params.section,
    seed=snakemake.params.seed,
    threads=snakemake.threads,
)
print(json.dumps(info, indent=2), file=sys.stderr)
