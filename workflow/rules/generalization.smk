# Beyond the paper (docs/design.md §11): does gradient noise generalize better? Per task x
# batch size the rate of best hold-out accuracy, trained until it has finished; per task the
# full-batch arm with weight decay and every control's point, scored (with the sharpness at
# matched training loss); then the tables and the claims C3 without budgets and C6.
# Target: `generalization`.


rule generalization_runs:
    """The rate of best hold-out accuracy (search widened until interior), trained until finished."""
    input:
        split=rules.prepare_split.output.npz,
    output:
        search=results("generalization", "{task}", "{batch}", "search.json"),
        rates=results("generalization", "{task}", "{batch}", "rates.csv"),
        curves=results("generalization", "{task}", "{batch}", "curves.npz"),
        weights=results("generalization", "{task}", "{batch}", "final_weights.npz"),
    log:
        results("logs", "generalization_runs", "{task}", "{batch}.log"),
    benchmark:
        results("benchmarks", "generalization_runs", "{task}", "{batch}.tsv")
    conda:
        "../../environment.yml"
    threads: 1
    resources:
        gpu=gpu_count,
    params:
        training=config["training"],
        section=GENERALIZATION,
        seed=config["seed"],
    script:
        "../scripts/generalization_runs.py"


rule generalization_decay:
    """Full batch with each L2 weight decay at its tuned rate until finished; the best on hold-out."""
    input:
        split=rules.prepare_split.output.npz,
        full=results("generalization", "{task}", "full", "search.json"),
    output:
        info=results("generalization", "{task}", "decay", "decay.json"),
        curves=results("generalization", "{task}", "decay", "curves.npz"),
        weights=results("generalization", "{task}", "decay", "final_weights.npz"),
    log:
        results("logs", "generalization_decay", "{task}.log"),
    benchmark:
        results("benchmarks", "generalization_decay", "{task}.tsv")
    conda:
        "../../environment.yml"
    threads: 1
    params:
        training=config["training"],
        section=GENERALIZATION,
        seed=config["seed"],
    script:
        "../scripts/generalization_decay.py"


rule generalization_points:
    """Every control's epoch of each run, its weights there, scored; sharpness at matched loss."""
    input:
        split=rules.prepare_split.output.npz,
        searches=generalization_runs("search.json"),
        curves=generalization_runs("curves.npz"),
        weights=generalization_runs("final_weights.npz"),
        decay=generalization_decay,
    output:
        points=results("generalization", "{task}", "points.csv"),
    log:
        results("logs", "generalization_points", "{task}.log"),
    benchmark:
        results("benchmarks", "generalization_points", "{task}.tsv")
    conda:
        "../../environment.yml"
    threads: 1
    params:
        training=config["training"],
        section=GENERALIZATION,
        seed=config["seed"],
    script:
        "../scripts/generalization_points.py"


rule generalization_tables:
    """Test accuracy per task x batch size under each control, gaps, sharpness; the claims."""
    input:
        points=unless_given(GENERALIZATION_GIVEN, GENERALIZATION_POINTS),
    output:
        table=results("tables", "generalization.csv"),
        table_md=results("tables", "generalization.md"),
        table_tex=results("tables", "generalization.tex"),
        stability=results("tables", "generalization_stability.csv"),
        stability_md=results("tables", "generalization_stability.md"),
        stability_tex=results("tables", "generalization_stability.tex"),
        claim=results("tables", "generalization_claim.csv"),
    log:
        results("logs", "generalization_tables.log"),
    conda:
        "../../environment.yml"
    params:
        points=GENERALIZATION_POINTS,
        small=GENERALIZATION_SMALL,
        margin=config["statistics"]["equivalence_margin"],
        alpha=config["statistics"]["alpha"],
        tolerances=GENERALIZATION["alternative_tolerances"],
        level=GENERALIZATION["level"],
    script:
        "../scripts/generalization_tables.py"


rule generalization:
    """The generalization study alone: its tables and figures (`snakemake generalization --cores all`)."""
    input:
        study_outputs("generalization"),
