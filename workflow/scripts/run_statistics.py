# Adapter: snakemake.* -> batch_inefficiency.studies.replication.statistics.write_statistics; stderr -> log.
import sys

from batch_inefficiency.pipeline.jobs import start_job
from batch_inefficiency.studies.replication.statistics import write_statistics

start_job(snakemake)  # stderr -> log; a failure ends in one line there (jobs.py)
claims = write_statistics(
    tasks=snakemake.params.tasks,
    tasks_table=snakemake.input.tasks,
    rates=snakemake.input.rates,
    trials=snakemake.input.trials,
    large_task=snakemake.params.large_task,
    statistics=snakemake.params.statistics,
    target_tolerance=snakemake.params.target_tolerance,
    out=dict(snakemake.output.items()),
    study_claims=snakemake.input.study_claims,
)
print(claims.to_string(), file=sys.stderr)
