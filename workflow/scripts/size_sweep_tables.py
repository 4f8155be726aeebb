# Adapter: snakemake.* -> batch_inefficiency.studies.size_sweep.tables.write_size_sweep_tables; stderr -> log.
import sys

from batch_inefficiency.pipeline.jobs import start_job
from batch_inefficiency.studies.size_sweep.tables import write_size_sweep_tables

start_job(snakemake)  # stderr -> log; a failure ends in one line there (jobs.py)
table = write_size_sweep_tables(
    searches=snakemake.input.searches,
    targets=snakemake.input.targets,
    mini_batch=snakemake.params.mini_batch,
    out=dict(snakemake.output.items()),
    level=snakemake.params.level,
)
print(f"wrote {snakemake.output.sweep}: {len(table)} rows", file=sys.stderr)
