rule summarise_task:
    """Epochs needed, accuracies, epochs to target (censored) for every method and rate of a task."""
    input:
        curves=run_files("curves"),
        replicas=run_files("replicas"),
        split=rules.prepare_split.output.npz,
    output:
        rates=results("metrics", "{task}", "rates.csv"),
        trials=results("metrics", "{task}", "trials.csv"),
    log:
        results("logs", "summarise_task", "{task}.log"),
    # Tasks whose metrics are given (they exist and no run file does, e.g. the committed
    # reference metrics) have no rule: the statistics are recomputed from them alone.
    wildcard_constraints:
        task=task_pattern(SUMMARISED),
    conda:
        "../../environment.yml"
    params:
        settings=metrics_settings(),
    script:
        "../scripts/summarise_task.py"
