# Adapter: snakemake.* -> generalization.points.task_points; stderr -> log.
import sys
from pathlib import Path

from batch_inefficiency.pipeline.jobs import start_job
from batch_inefficiency.studies.generalization.points import task_points

start_job(snakemake)  # stderr -> log; a failure ends in one line there (jobs.py)
task_points(
    split=snakemake.input.split,
    runs={Path(p).parent.name: Path(p).parent for p in snakemake.input.searches},
    decay=Path(snakemake.input.decay[0]).parent if snakemake.input.decay else None,
    out=snakemake.output.points,
    task=snakemake.wildcards.task,
    training=snakemake.params.training,
    section=snakemake.params.section,
    seed=snakemake.params.seed,
    threads=snakemake.threads,
)
print(f"wrote {snakemake.output.points}", file=sys.stderr)
