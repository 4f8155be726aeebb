# Adapter: snakemake.* -> batch_inefficiency.data.splits.write_splits; stderr -> log.
import sys

from batch_inefficiency.data.splits import write_splits
from batch_inefficiency.pipeline.jobs import start_job

start_job(snakemake)  # stderr -> log; a failure ends in one line there (jobs.py)
data = write_splits(
    name=snakemake.wildcards.task,
    root=snakemake.params.root,
    trials=snakemake.params.trials,
    base_seed=snakemake.params.seed,
    nominal=snakemake.params.nominal,
    out=snakemake.output.npz,
)
print(f"{snakemake.wildcards.task}: {len(data.trials)} trials, train {data.x_train.shape}", file=sys.stderr)
