# Adapter: snakemake.* -> batch_inefficiency.studies.replication.runs.train_task; stderr (progress) -> log.
from pathlib import Path

from batch_inefficiency.pipeline.jobs import start_job
from batch_inefficiency.studies.replication.runs import train_task

start_job(snakemake)  # stderr -> log; a failure ends in one line there (jobs.py)
train_task(
    split=snakemake.input.split,
    out_dir=Path(snakemake.output.metadata).parent,
    task=snakemake.wildcards.task,
    batch_size=snakemake.wildcards.batch,
    training=snakemake.params.training,
    seed=snakemake.params.seed,
    threads=snakemake.threads,
)
