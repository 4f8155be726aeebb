rule summarise_task:
    """Epochs needed, accuracies, epochs to target (censored) for every method and rate of a task."""
    input:
        curves=run_files("curves"),
        replicas=run_files("replicas"),
    output:
        rates=results("metrics", "{task}", "rates.csv"),
        trials=results("metrics", "{task}", "trials.csv"),
    log:
        results("logs", "summarise_task", "{task}.log"),
    conda:
        "../../environment.yml"
    params:
        tolerance=config["metrics"]["target_tolerance"],
    script:
        "../scripts/summarise_task.py"
