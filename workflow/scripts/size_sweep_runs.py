# Adapter: snakemake.* -> batch_inefficiency.studies.size_sweep.runs.write_method; stderr -> log.
import json
import sys

from batch_inefficiency.pipeline.jobs import start_job
from batch_inefficiency.studies.size_sweep.runs import write_method

start_job(snakemake)  # stderr -> log; a failure ends in one line there (jobs.py)
summaries = write_method(
    split=snakemake.input.split,
    target=snakemake.input.target,
    out=dict(snakemake.output.items()),
    task=snakemake.wildcards.task,
    batch_size=snakemake.wildcards.batch,
    training=snakemake.params.training,
    sweep=snakemake.params.sweep,
    scaling=snakemake.params.scaling,
    seed=snakemake.params.seed,
    threads=snakemake.threads,
)
print(json.dumps(summaries, indent=2), file=sys.stderr)
