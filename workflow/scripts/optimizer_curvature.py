# Adapter: snakemake.* -> batch_inefficiency.studies.optimizers.curvature.curvature_task.
import sys

from batch_inefficiency.pipeline.jobs import start_job
from batch_inefficiency.studies.optimizers.curvature import curvature_task

start_job(snakemake)  # stderr -> log; a failure ends in one line there (jobs.py)
frame = curvature_task(
    split=snakemake.input.split,
    weights=snakemake.input.weights,
    rates=snakemake.input.rates,
    trials=snakemake.input.trials,
    out=snakemake.output.csv,
    task=snakemake.wildcards.task,
    model=snakemake.params.model,
    n_trials=snakemake.params.trials,
)
print(frame.to_string(), file=sys.stderr)
