# Adapter: snakemake.* -> batch_inefficiency.report.write_pdf; stderr -> log.
import sys

from batch_inefficiency.report import write_pdf

sys.stderr = open(snakemake.log[0], "w")
write_pdf(snakemake.input.html, snakemake.output.pdf)
print(f"wrote {snakemake.output.pdf}", file=sys.stderr)
