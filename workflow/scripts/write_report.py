# Adapter: snakemake.* -> batch_inefficiency.report.build_report; stderr -> log.
import sys

from batch_inefficiency.report import build_report

sys.stderr = open(snakemake.log[0], "w")
build_report(
    config=snakemake.params.config,
    tables={k: snakemake.input[k] for k in ("claims", "tasks", "large_task_grid", "tests")},
    figures=dict(zip(snakemake.params.figures, snakemake.input.figures)),
    run_files=snakemake.input.runs,
    quick=snakemake.params.quick,
    command=snakemake.params.command,
    out=snakemake.output.html,
    scaling={k: snakemake.input[f"scaling_{k}"] for k in ("scaling", "fit", "claim")},
)
print(f"wrote {snakemake.output.html}", file=sys.stderr)
