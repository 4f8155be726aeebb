# Replication of Wilson & Martinez (2003), "The general inefficiency of batch training
# for gradient descent learning". The full replication: `snakemake --cores all`;
# a five-minute first look: `snakemake --cores all --configfile config/quick.yaml`.
from snakemake.utils import min_version

from batch_inefficiency.pipeline.locked_versions import warn_if_versions_differ

min_version("9.0")


configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/resources.smk"
include: "workflow/rules/targets.smk"
include: "workflow/rules/inputs.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/runs.smk"
include: "workflow/rules/metrics.smk"
include: "workflow/rules/tables.smk"
include: "workflow/rules/scaling.smk"
include: "workflow/rules/size_sweep.smk"
include: "workflow/rules/generalization.smk"
include: "workflow/rules/optimizers.smk"
include: "workflow/rules/statistics.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/report.smk"


onstart:
    # One line on stderr where the installed versions are not requirements.lock's.
    warn_if_versions_differ()


rule all:
    default_target: True
    input:
        final_outputs(),
