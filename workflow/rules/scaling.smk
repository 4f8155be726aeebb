# Beyond the paper (issue 12; docs/design.md §9): the scaling study. Per task x batch size a
# rate search that widens its grid until the best rate is interior (one job, the rounds run
# inside it); per task the gradient noise scale where on-line training reaches the target and
# the seconds per step of each batch size; then the tables and claim C5. Target: `scaling`.


rule search_rates:
    """Rates tried until the fastest to the target is interior; every replica stops at the target."""
    input:
        split=rules.prepare_split.output.npz,
    output:
        search=results("scaling", "{task}", "{batch}", "search.json"),
        rates=results("scaling", "{task}", "{batch}", "rates.csv"),
        trials=results("scaling", "{task}", "{batch}", "trials.csv"),
        weights=results("scaling", "{task}", "{batch}", "best_weights.npz"),
    log:
        results("logs", "search_rates", "{task}", "{batch}.log"),
    benchmark:
        results("benchmarks", "search_rates", "{task}", "{batch}.tsv")
    conda:
        "../../environment.yml"
    threads: 1
    resources:
        gpu=gpu_count,
    params:
        training=config["training"],
        scaling=SCALING,
        seed=config["seed"],
    script:
        "../scripts/search_rates.py"


rule noise_scale:
    """B_simple = tr(Sigma) / |G|^2, exactly, where on-line training reached the target."""
    input:
        split=rules.prepare_split.output.npz,
        weights=results("scaling", "{task}", "1", "best_weights.npz"),
        rates=results("scaling", "{task}", "1", "rates.csv"),
        trials=results("scaling", "{task}", "1", "trials.csv"),
    output:
        csv=results("scaling", "{task}", "noise_scale.csv"),
    log:
        results("logs", "noise_scale", "{task}.log"),
    conda:
        "../../environment.yml"
    params:
        model=config["training"]["model"],
        trials=SCALING["trials"],
        seed=config["seed"],
    script:
        "../scripts/noise_scale.py"


rule step_cost:
    """Seconds per step of one model at every batch size of the task (torch path, no evaluation)."""
    input:
        split=rules.prepare_split.output.npz,
    output:
        csv=results("scaling", "{task}", "step_cost.csv"),
    log:
        results("logs", "step_cost", "{task}.log"),
    conda:
        "../../environment.yml"
    threads: 1
    params:
        sizes=lambda wildcards: scaling_batch_sizes(wildcards.task),
        training=config["training"],
        min_seconds=SCALING["step_seconds"],
    script:
        "../scripts/step_cost.py"


rule scaling_tables:
    """Steps, epochs and seconds to target per task x batch size; the S(B) fits; claim C5."""
    input:
        searches=scaling_inputs(scaling_files("search.json")),
        trials=scaling_inputs(scaling_files("trials.csv")),
        step_costs=scaling_inputs(
            expand(rules.step_cost.output.csv, task=SCALING_TASKS)
        ),
        noise=scaling_inputs(expand(rules.noise_scale.output.csv, task=SCALING_TASKS)),
    output:
        scaling=report(
            results("tables", "scaling.csv"),
            caption="../report/scaling_table.rst",
            category="Beyond the paper",
        ),
        scaling_md=results("tables", "scaling.md"),
        scaling_tex=results("tables", "scaling.tex"),
        fit=results("tables", "scaling_fit.csv"),
        fit_md=results("tables", "scaling_fit.md"),
        fit_tex=results("tables", "scaling_fit.tex"),
        claim=results("tables", "scaling_claim.csv"),
    log:
        results("logs", "scaling_tables.log"),
    conda:
        "../../environment.yml"
    params:
        level=SCALING["level"],
    script:
        "../scripts/scaling_tables.py"


rule scaling:
    """The scaling study alone: its tables and figures (`snakemake --cores all scaling`)."""
    input:
        study_outputs("scaling"),
