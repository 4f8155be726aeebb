# Adapter: snakemake.* -> batch_inefficiency.studies.rate_search.search_task; stderr -> log.
import json
import sys
from pathlib import Path

from batch_inefficiency.pipeline.jobs import start_job
from batch_inefficiency.studies.rate_search import search_task

start_job(snakemake)  # stderr -> log; a failure ends in one line there (jobs.py)
info = search_task(
    split=snakemake.input.split,
    out_dir=Path(snakemake.output.search).parent,
    task=snakemake.wildcards.task,
    batch_size=snakemake.wildcards.batch,
    training=snakemake.params.training,
    scaling=snakemake.params.scaling,
    seed=snakemake.params.seed,
    threads=snakemake.threads,
)
print(json.dumps(info, indent=2), file=sys.stderr)
