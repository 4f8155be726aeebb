# Adapter: snakemake.* -> batch_inefficiency.step_cost.step_cost_task; stderr -> log.
import sys

from batch_inefficiency.step_cost import step_cost_task

sys.stderr = open(snakemake.log[0], "w")
frame = step_cost_task(
    split=snakemake.input.split,
    out=snakemake.output.csv,
    task=snakemake.wildcards.task,
    sizes=snakemake.params.sizes,
    training=snakemake.params.training,
    threads=snakemake.threads,
    min_seconds=snakemake.params.min_seconds,
)
print(frame.to_string(), file=sys.stderr)
