rule run_statistics:
    """Every test of the four claims, a verdict per claim, and how stable each verdict is (§6)."""
    input:
        tasks=rules.make_tables.output.tasks,
        rates=expand(rules.summarise_task.output.rates, task=TASKS),
        trials=expand(rules.summarise_task.output.trials, task=TASKS),
        study_claims=study_claims,
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
        stability=report(
            results("tables", "verdict_stability.csv"),
            caption="../report/verdict_stability.rst",
            category="Statistics",
        ),
        stability_md=results("tables", "verdict_stability.md"),
        stability_tex=results("tables", "verdict_stability.tex"),
        time_to_target=report(
            results("tables", "time_to_target.csv"),
            caption="../report/time_to_target.rst",
            category="Statistics",
        ),
        time_to_target_md=results("tables", "time_to_target.md"),
        time_to_target_tex=results("tables", "time_to_target.tex"),
        critical_difference=results("tables", "critical_difference.csv"),
    log:
        results("logs", "run_statistics.log"),
    conda:
        "../../environment.yml"
    params:
        tasks=TASKS,
        large_task=LARGE_TASK,
        statistics=config["statistics"],
        target_tolerance=config["metrics"]["target_tolerance"],
    script:
        "../scripts/run_statistics.py"
