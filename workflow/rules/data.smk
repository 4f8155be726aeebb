rule prepare_split:
    """Per-trial stratified 60/20/20 splits of one task, min-max scaled on the training split."""
    input:
        data=dataset_file,
        manifest=DATASETS_ROOT / "manifest.csv",
    output:
        npz=results("splits", "{task}.npz"),
    log:
        results("logs", "prepare_split", "{task}.log"),
    priority: split_priority
    conda:
        "../../environment.yml"
    params:
        root=DATASETS_ROOT,
        trials=config["trials"],
        seed=config["seed"],
        nominal=config["datasets"]["nominal"],
    script:
        "../scripts/prepare_split.py"
