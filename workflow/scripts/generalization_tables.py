# Adapter: snakemake.* -> generalization.tables.write_generalization_tables; stderr -> log.
import sys

from batch_inefficiency.pipeline.jobs import start_job
from batch_inefficiency.studies.generalization.tables import write_generalization_tables

start_job(snakemake)  # stderr -> log; a failure ends in one line there (jobs.py)
write_generalization_tables(
    points=snakemake.params.points,
    out=dict(snakemake.output.items()),
    small_tasks=snakemake.params.small,
    margin=snakemake.params.margin,
    alpha=snakemake.params.alpha,
    tolerances=snakemake.params.tolerances,
    level=snakemake.params.level,
)
print(f"wrote {snakemake.output.table}", file=sys.stderr)
