# Adapter: snakemake.* -> batch_inefficiency.studies.replication.metrics.summarise_task_files; stderr -> log.
import sys

from batch_inefficiency.pipeline.jobs import start_job
from batch_inefficiency.studies.replication.metrics import summarise_task_files

start_job(snakemake)  # stderr -> log; a failure ends in one line there (jobs.py)
rates = summarise_task_files(
    curves=snakemake.input.curves,
    replicas=snakemake.input.replicas,
    split=snakemake.input.split,
    settings=snakemake.params.settings,
    rates_out=snakemake.output.rates,
    trials_out=snakemake.output.trials,
)
print(rates.to_string(), file=sys.stderr)
