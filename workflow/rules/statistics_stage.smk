rule run_statistics:
    """Every test of the four claims, and a verdict per claim (docs/design.md §6)."""
    input:
        tasks=rules.make_tables.output.tasks,
        rates=expand(rules.summarise_task.output.rates, task=TASKS),
        trials=expand(rules.summarise_task.output.trials, task=TASKS),
    output:
        tests=report(
            results("tables", "tests.csv"),
            caption="../report/tests.rst",
            category="Statistics",
        ),
        tests_md=results("tables", "tests.md"),
        tests_tex=results("tables", "tests.tex"),
        claims=report(
            results("tables", "claims.csv"),
            caption="../report/claims.rst",
            category="Statistics",
        ),
        claims_md=results("tables", "claims.md"),
        claims_tex=results("tables", "claims.tex"),
        critical_difference=results("tables", "critical_difference.csv"),
    log:
        results("logs", "run_statistics.log"),
    conda:
        "../../environment.yml"
    params:
        tasks=TASKS,
        large_task=LARGE_TASK,
        settings=config["statistics"],
    script:
        "../scripts/run_statistics.py"
