# Adapter: snakemake.* -> batch_inefficiency.scaling_tables.write_scaling_tables; stderr -> log.
import sys

from batch_inefficiency.scaling_tables import write_scaling_tables

sys.stderr = open(snakemake.log[0], "w")
write_scaling_tables(
    searches=snakemake.input.searches,
    step_costs=snakemake.input.step_costs,
    noise=snakemake.input.noise,
    out=dict(snakemake.output.items()),
    level=snakemake.params.level,
)
print(f"wrote {snakemake.output.scaling}", file=sys.stderr)
