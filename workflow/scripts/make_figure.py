# Adapter: snakemake.* -> batch_inefficiency.figures.make_figure; stderr -> log.
import sys

from batch_inefficiency.figures import make_figure
from batch_inefficiency.jobs import start_job

start_job(snakemake)  # stderr -> log; a failure ends in one line there (jobs.py)
params = dict(snakemake.params.items())
make_figure(
    params.pop("figure"),
    inputs=dict(snakemake.input.items()),
    pdf=snakemake.output.pdf,
    png=snakemake.output.png,
    **params,
)
print(f"wrote {snakemake.output.pdf} and {snakemake.output.png}", file=sys.stderr)
