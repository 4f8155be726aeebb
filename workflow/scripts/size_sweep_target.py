# Adapter: snakemake.* -> batch_inefficiency.studies.size_sweep.runs.write_target; stderr -> log.
import json
import sys

from batch_inefficiency.pipeline.jobs import start_job
from batch_inefficiency.studies.size_sweep.runs import write_target

start_job(snakemake)  # stderr -> log; a failure ends in one line there (jobs.py)
info = write_target(
    split=snakemake.input.split,
    out=snakemake.output.target,
    task=snakemake.wildcards.task,
    training=snakemake.params.training,
    sweep=snakemake.params.sweep,
    scaling=snakemake.params.scaling,
    seed=snakemake.params.seed,
    threads=snakemake.threads,
)
print(json.dumps(info, indent=2), file=sys.stderr)
