# Adapter: snakemake.* -> batch_inefficiency.figures.make_figure; stderr -> log.
import sys

from batch_inefficiency.figures import make_figure
from batch_inefficiency.pipeline.jobs import start_job

start_job(snakemake)  # stderr -> log; a failure ends in one line there (jobs.py)
make_figure(
    snakemake.wildcards.figure,
    inputs=dict(snakemake.input.items()),
    pdf=snakemake.output.pdf,
    png=snakemake.output.png,
    **snakemake.params.options,
)
print(f"wrote {snakemake.output.pdf} and {snakemake.output.png}", file=sys.stderr)
