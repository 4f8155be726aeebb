# Adapter: snakemake.* -> batch_inefficiency.figures.make_figure; stderr -> log.
import sys

from batch_inefficiency.figures import make_figure

sys.stderr = open(snakemake.log[0], "w")
make_figure(
    snakemake.wildcards.figure,
    inputs=dict(snakemake.input.items()),
    pdf=snakemake.output.pdf,
    png=snakemake.output.png,
    **snakemake.params.options,
)
print(f"wrote {snakemake.output.pdf} and {snakemake.output.png}", file=sys.stderr)
