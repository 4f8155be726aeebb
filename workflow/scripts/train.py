# Adapter: snakemake.* -> batch_inefficiency.runs.train_task; stderr (progress) -> log.
import sys
from pathlib import Path

from batch_inefficiency.runs import train_task

sys.stderr = open(snakemake.log[0], "w")
train_task(
    split=snakemake.input.split,
    out_dir=Path(snakemake.output.metadata).parent,
    task=snakemake.wildcards.task,
    batch_size=snakemake.wildcards.batch,
    training=snakemake.params.training,
    seed=snakemake.params.seed,
    threads=snakemake.threads,
)
