# Beyond the paper (docs/design.md §12): the optimizer study, the scaling study repeated per
# optimizer. Per task x optimizer x batch size the scaling study's rate search with that
# update rule (one job, the rounds run inside it; plain SGD's are the scaling study's own
# searches where its settings are the same, inputs.smk); then the tables, the S(B) fits per
# optimizer and claims C7, C7b and C1 per optimizer; the curvature where on-line SGD reached
# the target (Hessian spectrum, B_noise) against each optimizer's gain. Target: `optimizers`.


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


rule optimizer_curvature:
    """The Hessian's spectrum, B_simple and B_noise where on-line SGD reached the target."""
    input:
        split=rules.prepare_split.output.npz,
        weights=online_reference_file("best_weights.npz"),
        rates=online_reference_file("rates.csv"),
        trials=online_reference_file("trials.csv"),
    output:
        csv=results("optimizers", "{task}", "curvature.csv"),
    log:
        results("logs", "optimizer_curvature", "{task}.log"),
    benchmark:
        results("benchmarks", "optimizer_curvature", "{task}.tsv")
    conda:
        "../../environment.yml"
    params:
        model=config["training"]["model"],
        trials=min(OPTIMIZERS["curvature_trials"], OPTIMIZERS["trials"]),
    script:
        "../scripts/optimizer_curvature.py"


rule optimizers_tables:
    """Steps and epochs to target per task x optimizer x batch size; fits; C7, C7b, C1."""
    input:
        unless_given(
            OPTIMIZERS_GIVEN,
            optimizer_files("search.json")
            + optimizer_files("rates.csv")
            + optimizer_files("trials.csv")
            + OPTIMIZER_CURVATURE,
        ),
    output:
        table=results("tables", "optimizers.csv"),
        table_md=results("tables", "optimizers.md"),
        table_tex=results("tables", "optimizers.tex"),
        fit=results("tables", "optimizers_fit.csv"),
        fit_md=results("tables", "optimizers_fit.md"),
        fit_tex=results("tables", "optimizers_fit.tex"),
        curvature=results("tables", "optimizers_curvature.csv"),
        curvature_md=results("tables", "optimizers_curvature.md"),
        curvature_tex=results("tables", "optimizers_curvature.tex"),
        mechanism=results("tables", "optimizers_mechanism.csv"),
        mechanism_md=results("tables", "optimizers_mechanism.md"),
        mechanism_tex=results("tables", "optimizers_mechanism.tex"),
        claim=results("tables", "optimizers_claim.csv"),
    log:
        results("logs", "optimizers_tables.log"),
    conda:
        "../../environment.yml"
    params:
        searches=optimizer_files("search.json"),
        curvature=OPTIMIZER_CURVATURE,
        labels=[label for _, label, _ in optimizer_searches()],
        reference=OPTIMIZERS["reference"],
        level=OPTIMIZERS["level"],
        alpha=config["statistics"]["alpha"],
    script:
        "../scripts/optimizers_tables.py"


rule optimizers:
    """The optimizer study alone: its tables and figures (`snakemake --cores all optimizers`)."""
    input:
        study_outputs("optimizers"),
