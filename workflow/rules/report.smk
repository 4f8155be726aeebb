rule write_report:
    """The paper-style HTML report, every number and figure from this run's results."""
    input:
        unpack(study_tables),
        claims=rules.run_statistics.output.claims,
        tests=rules.run_statistics.output.tests,
        verdict_stability=rules.run_statistics.output.stability,
        time_to_target=rules.run_statistics.output.time_to_target,
        tasks=rules.make_tables.output.tasks,
        large_task_grid=rules.make_tables.output.grid,
        figures=expand(rules.plot_figure.output.png, figure=report_figures()),
        runs=all_run_records,
    output:
        html=report(
            results("report", "report.html"),
            caption="../report/report.rst",
            category="Report",
        ),
    log:
        results("logs", "write_report.log"),
    conda:
        "../../environment.yml"
    params:
        config=config,
        quick=config["quick"],
        command=COMMAND,
        figures=report_figures(),
        given_tasks=len(TASKS) - len(SUMMARISED),
    script:
        "../scripts/write_report.py"


rule write_report_pdf:
    """The report printed to PDF (WeasyPrint; in rule all where pango is installed)."""
    input:
        html=rules.write_report.output.html,
    output:
        pdf=report(
            results("report", "report.pdf"),
            caption="../report/report.rst",
            category="Report",
        ),
    log:
        results("logs", "write_report_pdf.log"),
    conda:
        "../../environment.yml"
    script:
        "../scripts/write_report_pdf.py"
