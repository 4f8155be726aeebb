# Beyond the paper (docs/design.md §12): the optimizer study, the scaling study repeated per
# optimizer. Per task x optimizer x batch size the scaling study's rate search with that
# update rule (one job, the rounds run inside it); then the tables, the S(B) fits per
# optimizer and claims C7, C7b and C1 per optimizer. Target: `optimizers`.


rule optimizer_search:
    """The rate search of one optimizer: the fastest rate to the target, widened until interior."""
    input:
        split=rules.prepare_split.output.npz,
    output:
        search=results("optimizers", "{task}", "{optimizer}", "{batch}", "search.json"),
        rates=results("optimizers", "{task}", "{optimizer}", "{batch}", "rates.csv"),
        trials=results("optimizers", "{task}", "{optimizer}", "{batch}", "trials.csv"),
        weights=results(
            "optimizers", "{task}", "{optimizer}", "{batch}", "best_weights.npz"
        ),
    log:
        results("logs", "optimizer_search", "{task}", "{optimizer}", "{batch}.log"),
    benchmark:
        results(
            "benchmarks", "optimizer_search", "{task}", "{optimizer}", "{batch}.tsv"
        )
    conda:
        "../../environment.yml"
    threads: 1
    resources:
        gpu=gpu_count,
    params:
        training=config["training"],
        scaling=SCALING,
        section=optimizer_section,
        seed=config["seed"],
    script:
        "../scripts/optimizer_search.py"


rule optimizers_tables:
    """Steps and epochs to target per task x optimizer x batch size; fits; C7, C7b, C1."""
    input:
        searches=optimizer_files("search.json"),
        trials=optimizer_files("trials.csv"),
    output:
        table=results("tables", "optimizers.csv"),
        table_md=results("tables", "optimizers.md"),
        table_tex=results("tables", "optimizers.tex"),
        fit=results("tables", "optimizers_fit.csv"),
        fit_md=results("tables", "optimizers_fit.md"),
        fit_tex=results("tables", "optimizers_fit.tex"),
        claim=results("tables", "optimizers_claim.csv"),
    log:
        results("logs", "optimizers_tables.log"),
    conda:
        "../../environment.yml"
    params:
        reference=OPTIMIZERS["reference"],
        level=OPTIMIZERS["level"],
    script:
        "../scripts/optimizers_tables.py"


rule optimizers:
    """The optimizer study alone: its tables and figures (`snakemake --cores all optimizers`)."""
    input:
        study_outputs("optimizers"),
