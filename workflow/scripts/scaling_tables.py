# Adapter: snakemake.* -> batch_inefficiency.studies.scaling.tables.write_scaling_tables; stderr -> log.
import sys

from batch_inefficiency.pipeline.jobs import start_job
from batch_inefficiency.studies.scaling.tables import write_scaling_tables

start_job(snakemake)  # stderr -> log; a failure ends in one line there (jobs.py)
write_scaling_tables(
    searches=snakemake.input.searches,
    step_costs=snakemake.input.step_costs,
    noise=snakemake.input.noise,
    out=dict(snakemake.output.items()),
    level=snakemake.params.level,
)
print(f"wrote {snakemake.output.scaling}", file=sys.stderr)
