# Adapter: snakemake.* -> batch_inefficiency.studies.optimizers.runs.search_optimizer.
import json
import sys
from pathlib import Path

from batch_inefficiency.pipeline.jobs import start_job
from batch_inefficiency.studies.optimizers.runs import search_optimizer

start_job(snakemake)  # stderr -> log; a failure ends in one line there (jobs.py)
info = search_optimizer(
    split=snakemake.input.split,
    out_dir=Path(snakemake.output.search).parent,
    task=snakemake.wildcards.task,
    batch_size=snakemake.wildcards.batch,
    label=snakemake.wildcards.optimizer,
    training=snakemake.params.training,
    scaling=snakemake.params.scaling,
    section=snakemake.params.section,
    seed=snakemake.params.seed,
    threads=snakemake.threads,
)
print(json.dumps(info, indent=2), file=sys.stderr)
