# Adapter: snakemake.* -> batch_inefficiency.studies.replication.tables.write_tables; stderr -> log.
import sys

from batch_inefficiency.pipeline.jobs import start_job
from batch_inefficiency.studies.replication.tables import write_tables

start_job(snakemake)  # stderr -> log; a failure ends in one line there (jobs.py)
table = write_tables(
    tasks=snakemake.params.tasks,
    rates=snakemake.input.rates,
    trials=snakemake.input.trials,
    splits=snakemake.input.splits,
    large_task=snakemake.params.large_task,
    out=dict(snakemake.output.items()),
    budget_hit=snakemake.params.budget_hit,
)
print(table.to_string(), file=sys.stderr)
