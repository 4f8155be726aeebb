# Publication figures: one rule for every figure of batch_inefficiency.figures.FIGURES
# (the figure specification: inputs, options, title, caption), each its own target
# (`snakemake results/figures/<name>.pdf`), drawn from existing results via
# workflow/scripts/plot_figure.py. The large-task figures take no input (and say so in
# the panel) when the suite has no large task.


rule plot_figure:
    """One figure of the specification, as PDF and 300-dpi PNG."""
    input:
        unpack(figure_inputs),
    output:
        pdf=report(
            results("figures", "{figure}.pdf"),
            caption="../report/figure.rst",
            category="Figures",
            labels=figure_labels("PDF"),
        ),
        png=report(
            results("figures", "{figure}.png"),
            caption="../report/figure.rst",
            category="Figures",
            labels=figure_labels("PNG"),
        ),
    log:
        results("logs", "figures", "{figure}.log"),
    conda:
        "../../environment.yml"
    params:
        caption=figure_caption,
        options=figure_options,
    script:
        "../scripts/plot_figure.py"
