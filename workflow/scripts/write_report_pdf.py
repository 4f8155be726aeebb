# Adapter: snakemake.* -> batch_inefficiency.report.pdf.write_pdf; stderr -> log.
import sys

from batch_inefficiency.pipeline.jobs import start_job
from batch_inefficiency.report.pdf import write_pdf

start_job(snakemake)  # stderr -> log; a failure ends in one line there (jobs.py)
write_pdf(snakemake.input.html, snakemake.output.pdf)
print(f"wrote {snakemake.output.pdf}", file=sys.stderr)
