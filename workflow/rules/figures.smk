# Publication figures (DESIGN.md section 7): one rule per figure, each its own target
# (`snakemake results/figures/<name>.pdf`), drawn from existing results by
# batch_inefficiency.figures via workflow/scripts/make_figure.py. The large-task
# figures take no input (and say so in the panel) when the suite has no large task.


rule plot_large_task_curves:
    """Large task: hold-out accuracy vs epoch per batch size at its best rate."""
    input:
        curves=expand(
            rules.train.output.curves,
            task=LARGE_TASK or [],
            batch=batch_sizes(LARGE_TASK),
        ),
        rates=expand(rules.summarise_task.output.rates, task=LARGE_TASK or []),
    output:
        pdf=report(
            results("figures", "large_task_curves.pdf"),
            caption="../report/large_task_curves.rst",
            category="Figures",
            labels={
                "figure": "large task: hold-out accuracy vs epoch",
                "format": "PDF",
            },
        ),
        png=report(
            results("figures", "large_task_curves.png"),
            caption="../report/large_task_curves.rst",
            category="Figures",
            labels={
                "figure": "large task: hold-out accuracy vs epoch",
                "format": "PNG",
            },
        ),
    log:
        results("logs", "figures", "large_task_curves.log"),
    conda:
        "../../environment.yml"
    params:
        figure="large_task_curves",
    script:
        "../scripts/make_figure.py"


rule plot_large_task_grid:
    """Large task: batch size x learning rate test accuracy and epochs needed."""
    input:
        grid=rules.make_tables.output.grid,
    output:
        pdf=report(
            results("figures", "large_task_grid.pdf"),
            caption="../report/large_task_grid.rst",
            category="Figures",
            labels={"figure": "large task: batch size x rate grid", "format": "PDF"},
        ),
        png=report(
            results("figures", "large_task_grid.png"),
            caption="../report/large_task_grid.rst",
            category="Figures",
            labels={"figure": "large task: batch size x rate grid", "format": "PNG"},
        ),
    log:
        results("logs", "figures", "large_task_grid.log"),
    conda:
        "../../environment.yml"
    params:
        figure="large_task_grid",
    script:
        "../scripts/make_figure.py"


rule plot_speedup_vs_size:
    """Speed-up of on-line over batch vs training-set size, with the OLS fit."""
    input:
        tasks=rules.make_tables.output.tasks,
    output:
        pdf=report(
            results("figures", "speedup_vs_size.pdf"),
            caption="../report/speedup_vs_size.rst",
            category="Figures",
            labels={"figure": "speed-up vs training-set size", "format": "PDF"},
        ),
        png=report(
            results("figures", "speedup_vs_size.png"),
            caption="../report/speedup_vs_size.rst",
            category="Figures",
            labels={"figure": "speed-up vs training-set size", "format": "PNG"},
        ),
    log:
        results("logs", "figures", "speedup_vs_size.log"),
    conda:
        "../../environment.yml"
    params:
        figure="speedup_vs_size",
    script:
        "../scripts/make_figure.py"


rule plot_accuracy_online_vs_batch:
    """On-line vs batch test accuracy per task."""
    input:
        tasks=rules.make_tables.output.tasks,
    output:
        pdf=report(
            results("figures", "accuracy_online_vs_batch.pdf"),
            caption="../report/accuracy_online_vs_batch.rst",
            category="Figures",
            labels={"figure": "on-line vs batch accuracy", "format": "PDF"},
        ),
        png=report(
            results("figures", "accuracy_online_vs_batch.png"),
            caption="../report/accuracy_online_vs_batch.rst",
            category="Figures",
            labels={"figure": "on-line vs batch accuracy", "format": "PNG"},
        ),
    log:
        results("logs", "figures", "accuracy_online_vs_batch.log"),
    conda:
        "../../environment.yml"
    params:
        figure="accuracy_online_vs_batch",
    script:
        "../scripts/make_figure.py"


rule plot_epochs_to_target_vs_batch_size:
    """Large task: epochs and weight updates to the common target vs batch size."""
    input:
        trials=expand(rules.summarise_task.output.trials, task=LARGE_TASK or []),
        rates=expand(rules.summarise_task.output.rates, task=LARGE_TASK or []),
        tasks=rules.make_tables.output.tasks,
    output:
        pdf=report(
            results("figures", "epochs_to_target_vs_batch_size.pdf"),
            caption="../report/epochs_to_target_vs_batch_size.rst",
            category="Figures",
            labels={
                "figure": "large task: epochs to target vs batch size",
                "format": "PDF",
            },
        ),
        png=report(
            results("figures", "epochs_to_target_vs_batch_size.png"),
            caption="../report/epochs_to_target_vs_batch_size.rst",
            category="Figures",
            labels={
                "figure": "large task: epochs to target vs batch size",
                "format": "PNG",
            },
        ),
    log:
        results("logs", "figures", "epochs_to_target_vs_batch_size.log"),
    conda:
        "../../environment.yml"
    params:
        figure="epochs_to_target_vs_batch_size",
        task=LARGE_TASK,
    script:
        "../scripts/make_figure.py"


rule plot_best_rate_vs_batch_size:
    """Large task: best learning rate vs batch size, with every rate tried."""
    input:
        rates=expand(rules.summarise_task.output.rates, task=LARGE_TASK or []),
        tasks=rules.make_tables.output.tasks,
    output:
        pdf=report(
            results("figures", "best_rate_vs_batch_size.pdf"),
            caption="../report/best_rate_vs_batch_size.rst",
            category="Figures",
            labels={"figure": "large task: best rate vs batch size", "format": "PDF"},
        ),
        png=report(
            results("figures", "best_rate_vs_batch_size.png"),
            caption="../report/best_rate_vs_batch_size.rst",
            category="Figures",
            labels={"figure": "large task: best rate vs batch size", "format": "PNG"},
        ),
    log:
        results("logs", "figures", "best_rate_vs_batch_size.log"),
    conda:
        "../../environment.yml"
    params:
        figure="best_rate_vs_batch_size",
        task=LARGE_TASK,
    script:
        "../scripts/make_figure.py"


rule plot_critical_difference:
    """Large task: critical-difference diagram of batch sizes (Nemenyi)."""
    input:
        cd=rules.run_statistics.output.critical_difference,
    output:
        pdf=report(
            results("figures", "critical_difference.pdf"),
            caption="../report/critical_difference.rst",
            category="Figures",
            labels={
                "figure": "large task: critical-difference diagram",
                "format": "PDF",
            },
        ),
        png=report(
            results("figures", "critical_difference.png"),
            caption="../report/critical_difference.rst",
            category="Figures",
            labels={
                "figure": "large task: critical-difference diagram",
                "format": "PNG",
            },
        ),
    log:
        results("logs", "figures", "critical_difference.log"),
    conda:
        "../../environment.yml"
    params:
        figure="critical_difference",
        alpha=config["statistics"]["alpha"],
    script:
        "../scripts/make_figure.py"


rule plot_error_surface_illustration:
    """The paper's argument on a toy 2-D error surface (computed, no results needed)."""
    output:
        pdf=report(
            results("figures", "error_surface_illustration.pdf"),
            caption="../report/error_surface_illustration.rst",
            category="Figures",
            labels={"figure": "error-surface illustration", "format": "PDF"},
        ),
        png=report(
            results("figures", "error_surface_illustration.png"),
            caption="../report/error_surface_illustration.rst",
            category="Figures",
            labels={"figure": "error-surface illustration", "format": "PNG"},
        ),
    log:
        results("logs", "figures", "error_surface_illustration.log"),
    conda:
        "../../environment.yml"
    params:
        figure="error_surface_illustration",
    script:
        "../scripts/make_figure.py"
