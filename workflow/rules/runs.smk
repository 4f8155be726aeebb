rule train:
    """All learning rates x trials of one task and batch size, trained together."""
    input:
        split=rules.prepare_split.output.npz,
    output:
        curves=results("runs", "{task}", "{batch}", "curves.csv.gz"),
        replicas=results("runs", "{task}", "{batch}", "replicas.csv"),
        records=results("runs", "{task}", "{batch}", "records.npz"),
        audit=results("runs", "{task}", "{batch}", "audit.npz"),
        final=results("runs", "{task}", "{batch}", "final_weights.npz"),
        metadata=results("runs", "{task}", "{batch}", "run.json"),
    log:
        results("logs", "train", "{task}", "{batch}.log"),
    benchmark:
        results("benchmarks", "train", "{task}", "{batch}.tsv")
    priority: train_priority
    conda:
        "../../environment.yml"
    threads: 1
    resources:
        gpu=gpu_count,
        runtime=train_runtime,
        mem_mb=train_mem,
    params:
        training=config["training"],
        seed=config["seed"],
    script:
        "../scripts/train.py"
