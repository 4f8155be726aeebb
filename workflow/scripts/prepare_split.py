# Adapter: snakemake.* -> batch_inefficiency.data.write_splits; stderr -> log.
import sys

from batch_inefficiency.data import write_splits

sys.stderr = open(snakemake.log[0], "w")
data = write_splits(
    name=snakemake.wildcards.task,
    root=snakemake.params.root,
    trials=snakemake.params.trials,
    base_seed=snakemake.params.seed,
    nominal=snakemake.params.nominal,
    out=snakemake.output.npz,
)
print(f"{snakemake.wildcards.task}: {len(data.trials)} trials, train {data.x_train.shape}", file=sys.stderr)
