rule make_tables:
    """The per-task table and the large task's batch size x rate grid (CSV, Markdown, LaTeX)."""
    input:
        rates=expand(rules.summarise_task.output.rates, task=TASKS),
        trials=expand(rules.summarise_task.output.trials, task=TASKS),
        splits=expand(rules.prepare_split.output.npz, task=TASKS),
    output:
        tasks=report(
            results("tables", "tasks.csv"),
            caption="../report/tasks.rst",
            category="Tables",
        ),
        tasks_md=results("tables", "tasks.md"),
        tasks_tex=results("tables", "tasks.tex"),
        grid=report(
            results("tables", "large_task_grid.csv"),
            caption="../report/large_task_grid_table.rst",
            category="Tables",
        ),
        grid_md=results("tables", "large_task_grid.md"),
        grid_tex=results("tables", "large_task_grid.tex"),
    log:
        results("logs", "make_tables.log"),
    conda:
        "../../environment.yml"
    params:
        tasks=TASKS,
        large_task=LARGE_TASK,
        budget_hit=config["statistics"]["stability"]["budget_hit"],
    script:
        "../scripts/make_tables.py"
