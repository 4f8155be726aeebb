# Adapter: snakemake.* -> batch_inefficiency.scaling.search_task; stderr -> log.
import json
import sys
from pathlib import Path

from batch_inefficiency.scaling import search_task

sys.stderr = open(snakemake.log[0], "w")
info = search_task(
    split=snakemake.input.split,
    out_dir=Path(snakemake.output.search).parent,
    task=snakemake.wildcards.task,
    batch_size=snakemake.wildcards.batch,
    training=snakemake.params.training,
    scaling=snakemake.params.scaling,
    seed=snakemake.params.seed,
    threads=snakemake.threads,
)
print(json.dumps(info, indent=2), file=sys.stderr)
