# Adapter: snakemake.* -> batch_inefficiency.studies.optimizers.tables.write_optimizer_tables.
import sys

from batch_inefficiency.pipeline.jobs import start_job
from batch_inefficiency.studies.optimizers.tables import write_optimizer_tables

start_job(snakemake)  # stderr -> log; a failure ends in one line there (jobs.py)
write_optimizer_tables(
    searches=snakemake.params.searches,
    labels=snakemake.params.labels,
    curvature=snakemake.params.curvature,
    out=dict(snakemake.output.items()),
    reference=snakemake.params.reference,
    level=snakemake.params.level,
    alpha=snakemake.params.alpha,
)
print(f"wrote {snakemake.output.table}", file=sys.stderr)
