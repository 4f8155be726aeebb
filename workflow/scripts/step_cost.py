# Adapter: snakemake.* -> batch_inefficiency.studies.scaling.step_cost.step_cost_task; stderr -> log.
import sys

from batch_inefficiency.pipeline.jobs import start_job
from batch_inefficiency.studies.scaling.step_cost import step_cost_task

start_job(snakemake)  # stderr -> log; a failure ends in one line there (jobs.py)
frame = step_cost_task(
    split=snakemake.input.split,
    out=snakemake.output.csv,
    task=snakemake.wildcards.task,
    sizes=snakemake.params.sizes,
    training=snakemake.params.training,
    threads=snakemake.threads,
    min_seconds=snakemake.params.min_seconds,
)
print(frame.to_string(), file=sys.stderr)
