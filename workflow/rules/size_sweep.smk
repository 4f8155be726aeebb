# Beyond the paper (issue 13; docs/design.md §10): claim C2 inside a task. Per task one target
# (the full-size target, lowered to what on-line training reaches on the smallest subset);
# per task x method every size of nested stratified training subsets, at the tuned rate and
# the paper's rates; then the tables, the log-log slopes and C2's within-task verdict.
# Target: `size_sweep`.


rule size_sweep_target:
    """The task's one target: the full-size target, lowered to on-line's reach at the smallest size."""
    input:
        split=rules.prepare_split.output.npz,
    output:
        target=results("size_sweep", "{task}", "target.json"),
    log:
        results("logs", "size_sweep_target", "{task}.log"),
    conda:
        "../../environment.yml"
    threads: 1
    params:
        training=config["training"],
        sweep=SIZE_SWEEP,
        scaling=SCALING,
        seed=config["seed"],
    script:
        "../scripts/size_sweep_target.py"


rule size_sweep_runs:
    """Every size of one method: the rate search and the paper's rates, each replica stopping at the target."""
    input:
        split=rules.prepare_split.output.npz,
        target=rules.size_sweep_target.output.target,
    output:
        trials=results("size_sweep", "{task}", "{batch}", "trials.csv"),
        searches=results("size_sweep", "{task}", "{batch}", "searches.json"),
    log:
        results("logs", "size_sweep_runs", "{task}", "{batch}.log"),
    benchmark:
        results("benchmarks", "size_sweep_runs", "{task}", "{batch}.tsv")
    conda:
        "../../environment.yml"
    threads: 1
    resources:
        gpu=gpu_count,
    params:
        training=config["training"],
        sweep=SIZE_SWEEP,
        scaling=SCALING,
        seed=config["seed"],
    script:
        "../scripts/size_sweep_runs.py"


rule size_sweep_tables:
    """Epochs and steps to target per size and method, speed-ups, log-log slopes, C2 within tasks."""
    input:
        searches=size_sweep_inputs("searches.json"),
        trials=size_sweep_inputs("trials.csv"),
        targets=size_sweep_inputs("target.json"),
    output:
        sweep=report(
            results("tables", "size_sweep.csv"),
            caption="../report/size_sweep_table.rst",
            category="Beyond the paper",
        ),
        sweep_md=results("tables", "size_sweep.md"),
        sweep_tex=results("tables", "size_sweep.tex"),
        fit=results("tables", "size_sweep_fit.csv"),
        fit_md=results("tables", "size_sweep_fit.md"),
        fit_tex=results("tables", "size_sweep_fit.tex"),
        claim=results("tables", "size_sweep_claim.csv"),
    log:
        results("logs", "size_sweep_tables.log"),
    conda:
        "../../environment.yml"
    params:
        mini_batch=SIZE_SWEEP["mini_batch"],
        level=SIZE_SWEEP["level"],
    script:
        "../scripts/size_sweep_tables.py"


rule size_sweep:
    """The size sweep alone: its tables and figures (`snakemake size_sweep --cores all`)."""
    input:
        study_outputs("size_sweep"),
