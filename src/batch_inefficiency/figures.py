"""Publication figures of the replication (DESIGN.md §7).

One plain function per figure: it takes the tables the workflow already wrote (as
pandas DataFrames) and returns a matplotlib Figure; nothing here trains or re-derives
a measure that ``metrics``/``stats`` compute, so a figure rebuilds in seconds from
existing results. :func:`make_figure` is the file-level entry point used by the
Snakemake rules: it reads the named input CSVs, looks the figure up in
:data:`FIGURES` and writes a PDF and a 300-dpi PNG with fixed metadata, so building
a figure twice gives the same bytes.

The figures (Wilson & Martinez 2003):

* ``large_task_curves``: hold-out accuracy vs epoch per batch size on the large task
  (standing in for the paper's speech-task batch-size experiment);
* ``large_task_grid``: batch size x learning rate test accuracy and epochs needed;
* ``speedup_vs_size``: speed-up of on-line over batch vs training-set size;
* ``accuracy_online_vs_batch``: on-line vs batch accuracy per task;
* ``epochs_to_target_vs_batch_size``: epochs and weight updates to the common target;
* ``best_rate_vs_batch_size``: the best learning rate of each batch size;
* ``critical_difference``: Nemenyi critical-difference diagram of batch sizes;
* ``error_surface_illustration``: the paper's argument on a toy
  2-D error surface with a curved valley.

Every figure is drawn inside :func:`figure_style`, the one place the seaborn style,
colour-blind palette and font sizes are set.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from typing import Any

import matplotlib as mpl
import numpy as np
import pandas as pd
import scikit_posthocs as sp
import seaborn as sns
import statsmodels.api as sm
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter

from batch_inefficiency.metrics import FULL, ONLINE, batch_order, filled_matrix

SINGLE = 3.5  # inches: one journal column
DOUBLE = 7.0  # inches: two columns (two-panel figures)
DPI = 300
PALETTE = "colorblind"
RC = {
    "font.size": 8,
    "axes.labelsize": 8,
    "axes.titlesize": 8,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
    "legend.fontsize": 7,
    "legend.title_fontsize": 7,
    "lines.linewidth": 1.2,
    "lines.markersize": 4,
    "axes.linewidth": 0.6,
    "xtick.major.width": 0.6,
    "ytick.major.width": 0.6,
    "xtick.minor.width": 0.4,
    "ytick.minor.width": 0.4,
    "legend.frameon": False,
    "pdf.fonttype": 42,  # TrueType in the PDF: editable text
    "ps.fonttype": 42,
    "svg.hashsalt": "batch-inefficiency",  # stable ids should anyone save SVG
    "savefig.dpi": DPI,
    "image.cmap": "viridis",
}
PDF_METADATA = {"Creator": "batch_inefficiency.figures", "CreationDate": None}
PNG_METADATA = {"Software": None}
NO_LARGE_TASK = "No large task in this suite"
FAINT = "0.55"  # grey of reference lines
FAINT_MARK = "0.72"  # lighter grey of context marks (rates tried)
DASHES = ["-", "--", "-.", ":", (0, (5, 1, 1, 1, 1, 1))]  # per batch size, with the colour


@contextmanager
def figure_style() -> Iterator[None]:
    """The one seaborn theme of every figure, undone on exit (global state untouched)."""
    with mpl.rc_context():
        sns.set_theme(context="paper", style="ticks", palette=PALETTE, rc=RC)
        yield


def styled(draw: Callable[..., Figure]) -> Callable[..., Figure]:
    """Draw a figure inside :func:`figure_style`."""

    @wraps(draw)
    def wrapper(*args, **kwargs) -> Figure:
        with figure_style():
            return draw(*args, **kwargs)

    return wrapper


# --------------------------------------------------------------------------- helpers


def new_figure(width: float, height: float, ncols: int = 1, **kwargs) -> tuple[Figure, Any]:
    """A figure with constrained layout and one row of axes, outside pyplot (no global state)."""
    fig = Figure(figsize=(width, height), layout="constrained")
    return fig, fig.subplots(1, ncols, **kwargs)


def sorted_batches(batch_sizes: Sequence[str] | pd.Series) -> list[str]:
    """Distinct batch sizes, numeric ascending, ``full`` last."""
    unique = pd.Series(pd.unique(pd.Series(batch_sizes, dtype=str)))
    return list(unique.iloc[np.argsort(batch_order(unique).to_numpy(), kind="stable")])


def batch_label(batch_size: str) -> str:
    """Legend text of a batch size: ``1 (on-line)``, ``full (batch)``, ``100``."""
    if batch_size == ONLINE:
        return "1 (on-line)"
    return "full (batch)" if batch_size == FULL else batch_size


def batch_colours(batch_sizes: Sequence[str]) -> dict[str, tuple]:
    """One colour-blind-palette colour per batch size, in batch order (same in every figure)."""
    palette = sns.color_palette(PALETTE, n_colors=max(len(batch_sizes), 1))
    return dict(zip(sorted_batches(batch_sizes), palette, strict=False))


def batch_dashes(batch_sizes: Sequence[str]) -> dict[str, Any]:
    """One line style per batch size, in batch order (curves that coincide stay visible)."""
    ordered = sorted_batches(batch_sizes)
    return {b: DASHES[i % len(DASHES)] for i, b in enumerate(ordered)}


def batch_position(batch_sizes: pd.Series, train_size: int) -> pd.Series:
    """Instances per update: the number, or the training-set size for ``full``."""
    return batch_sizes.map(lambda b: float(train_size) if b == FULL else float(b))


def batch_axis(ax: Axes, batches: list[str], train_size: int) -> None:
    """Log x axis with one tick per batch size (``full`` at the training-set size)."""
    ax.set_xscale("log")
    ticks = batch_position(pd.Series(batches), train_size)
    ax.set_xticks(ticks.to_numpy())
    ax.set_xticks([], minor=True)
    ax.set_xticklabels(["full" if b == FULL else b for b in batches])
    ax.set_xlim(ticks.min() / 2.5, ticks.max() * 2.5)
    ax.set_xlabel(f"Batch size (instances; full = {train_size:,})")


def plain_number(value: float, _position: object = None) -> str:
    """Tick text without powers of ten: 0.001, 1, 12,000."""
    return f"{value:,.0f}" if value >= 1 else f"{value:g}"


def plain_log_ticks(axis: Any) -> None:
    """Plain-number labels on a log axis; 1-2-3-5 ticks when it spans little more than a decade."""
    low, high = axis.get_view_interval()
    axis.set_major_locator(LogLocator(subs=(1.0,) if high / low > 30 else (1.0, 2.0, 3.0, 5.0)))
    axis.set_major_formatter(FuncFormatter(plain_number))
    axis.set_minor_formatter(NullFormatter())


def panel_letters(axes: Sequence[Axes]) -> None:
    """Bold a, b, ... in the upper left corner of each panel (outside the data area)."""
    for letter, ax in zip("abcdefgh", axes, strict=False):
        ax.set_title(letter, loc="left", fontweight="bold", pad=2)


def large_train_size(tasks: pd.DataFrame, task: str) -> int:
    """Training-set size of the large task (tasks.csv ``train_size``)."""
    sizes = tasks.set_index("task")["train_size"]
    if task not in sizes.index:
        raise ValueError(f"large task {task!r} is not in the tasks table")
    return int(sizes[task])


def best_rates(rates: pd.DataFrame) -> pd.Series:
    """``batch_size -> best learning rate`` (rates.csv ``best``)."""
    best = rates[rates["best"].astype(bool)]
    return best.set_index("batch_size")["lr"]


def rate_label(lr: float) -> str:
    """A learning rate as compact text (0.1, 0.0001, 1e-05)."""
    return f"{lr:g}"


def empty_panel(ax: Axes, message: str) -> None:
    """An axes with no data that says why."""
    ax.set_axis_off()
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes, wrap=True)


# --------------------------------------------------------------------------- figures


@styled
def large_task_curves(curves: pd.DataFrame, rates: pd.DataFrame, points: int = 300) -> Figure:
    """Hold-out accuracy vs epoch (log x) per batch size at its best rate; band = min-max.

    ``curves``: the large task's curves of every batch size (one row per replica and
    epoch); ``rates``: its rates.csv. A replica that stopped keeps its last accuracy
    (as in ``metrics``). Epoch 0 is left out (log axis); long curves are drawn at about
    ``points`` log-spaced epochs. A dot marks each method's epochs needed.
    """
    fig, ax = new_figure(SINGLE, 3.1)
    if rates.empty:
        empty_panel(ax, NO_LARGE_TASK)
        return fig
    best = best_rates(rates)
    needed = rates[rates["best"].astype(bool)].set_index("batch_size")["epochs_needed"]
    batches = sorted_batches(best.index)
    colours, dashes = batch_colours(batches), batch_dashes(batches)
    for batch in batches:
        group = curves[(curves["batch_size"] == batch) & np.isclose(curves["lr"], best[batch])]
        if group.empty:
            continue
        last = int(group["epoch"].max())
        hold = 100 * filled_matrix(group, "hold_acc", last)  # [epoch, trial]
        shown = np.unique(np.geomspace(1, max(last, 1), points).round().astype(int))
        shown = shown[shown <= last]
        mean, low, high = hold.mean(axis=1), hold.min(axis=1), hold.max(axis=1)
        colour = colours[batch]
        ax.fill_between(shown, low[shown], high[shown], color=colour, alpha=0.2, lw=0)
        label = f"{batch_label(batch)}, η = {best[batch]:g}"
        ax.plot(shown, mean[shown], color=colour, ls=dashes[batch], label=label)
        epoch = int(needed[batch])
        if 1 <= epoch <= last:
            ax.plot(epoch, mean[epoch], "o", color=colour, ms=3.5, mec="white", mew=0.5)
    ax.set_xscale("log")
    plain_log_ticks(ax.xaxis)
    ax.set_ylim(0, 100)
    ax.set_xlabel("Epoch (passes over the training set)")
    ax.set_ylabel("Hold-out accuracy (%)")
    fig.legend(
        title="Batch size, best rate η",
        loc="outside lower center",
        ncol=2,
        handlelength=2.2,
        columnspacing=1.0,
    )
    sns.despine(fig)
    return fig


def cell_contrast(value: float, cmap: Any, norm: Any) -> str:
    """Black or white: whichever reads on the heatmap colour of ``value`` (as seaborn picks)."""
    if not np.isfinite(value):
        return "k"
    return "k" if sns.utils.relative_luminance(cmap(norm(value))) > 0.408 else "w"


@styled
def large_task_grid(grid: pd.DataFrame) -> Figure:
    """Test accuracy (colour) per batch size x rate, annotated with the epochs needed.

    ``grid``: tables/large_task_grid.csv. ``†`` and hatching mark cells where some trials
    diverged; a second line ``c k/n`` counts the trials censored (never reached the
    common target within the budget); a frame and bold text mark each batch size's best rate.
    """
    fig, ax = new_figure(SINGLE, 3.0)
    if grid.empty:
        empty_panel(ax, NO_LARGE_TASK)
        return fig
    rows = sorted_batches(grid["batch_size"])
    cols = sorted(grid["lr"].unique())
    cells = grid.set_index(["batch_size", "lr"]).reindex(pd.MultiIndex.from_product([rows, cols]))
    accuracy = (100 * cells["test_acc"]).unstack().reindex(index=rows, columns=cols)  # [batch, lr]
    notes = np.full(accuracy.shape, "", dtype=object)
    for (batch, lr), cell in cells.dropna(subset=["epochs_needed"]).iterrows():
        text = f"{int(cell['epochs_needed'])}" + ("†" if cell["diverged_share"] > 0 else "")
        if cell["censored_trials"] > 0:
            text += f"\nc {int(cell['censored_trials'])}/{int(cell['trials'])}"
        notes[rows.index(batch), cols.index(lr)] = text
    sns.heatmap(
        accuracy,
        ax=ax,
        annot=notes,
        fmt="",
        cmap="viridis",
        linewidths=0.6,
        linecolor="white",
        annot_kws={"fontsize": 6, "linespacing": 1.05},
        cbar_kws={"label": "Test accuracy (%)", "pad": 0.03},
    )
    mesh = ax.collections[0]
    for (batch, lr), cell in cells.dropna(subset=["epochs_needed"]).iterrows():
        i, j = rows.index(batch), cols.index(lr)
        contrast = cell_contrast(accuracy.iloc[i, j], mesh.cmap, mesh.norm)
        if cell["diverged_share"] > 0:
            ax.add_patch(
                Rectangle((j, i), 1, 1, fill=False, hatch="////", ec=contrast, lw=0, alpha=0.5)
            )
        if bool(cell["best"]):
            ax.add_patch(
                Rectangle((j + 0.06, i + 0.06), 0.88, 0.88, fill=False, ec=contrast, lw=1.2)
            )
            for text in ax.texts:
                if text.get_position() == (j + 0.5, i + 0.5):
                    text.set_fontweight("bold")
    ax.set_xticklabels([rate_label(lr) for lr in cols], rotation=0)
    ax.set_yticklabels([batch_label(b).replace(" (", "\n(") for b in rows], rotation=0)
    ax.set_xlabel("Learning rate η")
    ax.annotate(
        "number: epochs needed    c k/n: trials censored\n"
        "†: some trials diverged    frame: best rate",
        xy=(0.5, 0),
        xycoords="axes fraction",
        xytext=(0, -26),
        textcoords="offset points",
        ha="center",
        va="top",
        fontsize=6,
        color="0.3",
        annotation_clip=False,
    )
    ax.set_ylabel("Batch size (instances)")
    ax.tick_params(length=0)
    return fig


@styled
def speedup_vs_size(tasks: pd.DataFrame) -> Figure:
    """Speed-up (batch ÷ on-line epochs needed) vs training-set size, log-log, OLS + 95% CI.

    ``tasks``: tables/tasks.csv. Open markers: tasks where some of the batch method's
    trials were censored. The largest task is labelled; the fit is OLS of log10 speed-up
    on log10 size (statsmodels), with the 95% confidence band of its mean.
    """
    fig, ax = new_figure(SINGLE, 3.0)
    data = tasks[np.isfinite(tasks["speedup"]) & (tasks["speedup"] > 0)]
    colour = sns.color_palette(PALETTE)[0]
    x = np.log10(data["train_size"].to_numpy(float))
    y = np.log10(data["speedup"].to_numpy(float))
    equal = ax.axhline(1, color=FAINT, lw=0.8, ls=":", zorder=0)
    handles, labels = [], []
    if len(data) >= 3 and np.ptp(x) > 0:
        fit = sm.OLS(y, sm.add_constant(x)).fit()
        line = np.linspace(x.min(), x.max(), 100)
        band = fit.get_prediction(sm.add_constant(line)).summary_frame(alpha=0.05)
        ci = ax.fill_between(
            10**line,
            10 ** band["mean_ci_lower"],
            10 ** band["mean_ci_upper"],
            color=colour,
            alpha=0.2,
            lw=0,
        )
        label = f"OLS fit, slope {fit.params[1]:.2f}".replace("-", "\N{MINUS SIGN}")
        (mean,) = ax.plot(10**line, 10 ** band["mean"], color=colour, label=label)
        handles.append((ci, mean))
        labels.append(f"{label} (95% CI)")
    censored = (data["batch_censored"] > 0).to_numpy()
    sizes, speedups = data["train_size"].to_numpy(float), data["speedup"].to_numpy(float)
    filled = ax.plot(sizes[~censored], speedups[~censored], "o", color="k", ms=4)
    hollow = ax.plot(sizes[censored], speedups[censored], "o", mfc="none", mec="k", ms=4)
    handles += [equal, filled[0], hollow[0]]
    labels += ["equal epochs", "task", "task, batch trials censored"]
    if not data.empty:
        largest = data.loc[data["train_size"].idxmax()]
        ax.annotate(
            largest["task"],
            (largest["train_size"], largest["speedup"]),
            xytext=(-5, 0),
            textcoords="offset points",
            ha="right",
            va="center",
            fontsize=7,
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    plain_log_ticks(ax.xaxis)
    plain_log_ticks(ax.yaxis)
    ax.set_xlabel("Training-set size (instances)")
    ax.set_ylabel("Speed-up of on-line\n(batch ÷ on-line epochs needed)")
    fig.legend(handles, labels, loc="outside upper center", ncol=2, columnspacing=1.0)
    sns.despine(fig)
    return fig


@styled
def accuracy_online_vs_batch(tasks: pd.DataFrame) -> Figure:
    """On-line vs batch test accuracy per task (±sd over trials) around y = x, equal aspect.

    ``tasks``: tables/tasks.csv. Tasks off the diagonal by more than twice their
    combined sd are labelled.
    """
    fig, ax = new_figure(SINGLE, 3.3)
    x, y = (100 * tasks[c].to_numpy(float) for c in ("online_acc", "batch_acc"))  # [task]
    xerr, yerr = (
        100 * tasks[c].fillna(0).to_numpy(float) for c in ("online_acc_sd", "batch_acc_sd")
    )
    values = np.concatenate([x - xerr, x + xerr, y - yerr, y + yerr])
    values = values[np.isfinite(values)]
    low = max(0.0, 10 * np.floor(values.min() / 10)) if len(values) else 0.0
    high = min(100.0, 10 * np.ceil(values.max() / 10)) if len(values) else 100.0
    ax.plot([low, high], [low, high], color=FAINT, lw=0.8, ls="--", zorder=0)
    colour = sns.color_palette(PALETTE)[0]
    ax.errorbar(
        x, y, xerr=xerr, yerr=yerr, fmt="o", color=colour, ms=4, elinewidth=0.7, capsize=1.5
    )
    apart = np.abs(y - x) > 2 * np.hypot(xerr, yerr)
    for task, xi, yi in zip(tasks["task"].to_numpy()[apart], x[apart], y[apart], strict=True):
        ax.annotate(task, (xi, yi), xytext=(5, 0), textcoords="offset points", va="center")
    # which side is which, in the two far corners, each only where no task lies near it
    px, py = (x - low) / (high - low), (y - low) / (high - low)  # [task] axes fractions
    side = {"color": FAINT, "fontsize": 6.5, "transform": ax.transAxes}
    if not np.any((px < 0.6) & (py > 0.85)):
        ax.text(0.03, 0.97, "batch more accurate", ha="left", va="top", **side)
    if not np.any((px > 0.3) & (py < 0.15)):
        ax.text(0.97, 0.03, "on-line more accurate", ha="right", va="bottom", **side)
    ax.set_xlim(low, high)
    ax.set_ylim(low, high)
    ax.set_aspect("equal")
    ax.set_xlabel("On-line test accuracy (%)")
    ax.set_ylabel("Batch test accuracy (%)")
    sns.despine(fig)
    return fig


def trial_offsets(n: int, spread: float = 0.25) -> np.ndarray:
    """Multiplicative x jitter spreading ``n`` trials over ``spread`` decades, centred."""
    return 10 ** ((np.arange(n) - (n - 1) / 2) * spread / max(n - 1, 1))


@styled
def epochs_to_target_vs_batch_size(
    trials: pd.DataFrame, rates: pd.DataFrame, tasks: pd.DataFrame, task: str | None
) -> Figure:
    """Epochs (a) and weight updates (b) to the common target vs batch size, at each best rate.

    ``trials``/``rates``: the large task's metrics; ``tasks``: tables/tasks.csv (for the
    training-set size of ``task``, where ``full`` is drawn). Points are trials (open:
    censored, the target never reached: the value is the epochs run); the line joins
    the medians. Perfect data-parallel scaling (epochs constant, updates ∝ 1/batch size)
    is drawn from the on-line median.
    """
    fig, axes = new_figure(DOUBLE, 2.7, ncols=2)
    if task is None or rates.empty:
        for ax in axes:
            empty_panel(ax, NO_LARGE_TASK)
        return fig
    train_size = large_train_size(tasks, task)
    best = best_rates(rates)
    batches = sorted_batches(best.index)
    colours = batch_colours(batches)
    mine = trials.merge(best.rename("lr").reset_index(), on=["batch_size", "lr"])
    panels = (
        ("epochs_to_target", "Epochs to target"),
        ("updates_to_target", "Weight updates to target"),
    )
    for ax, (column, label) in zip(axes, panels, strict=True):
        medians = {}
        for batch in batches:
            group = mine[mine["batch_size"] == batch].sort_values("trial")
            if group.empty:
                continue
            position = float(batch_position(pd.Series([batch]), train_size).iloc[0])
            xs = position * trial_offsets(len(group))
            censored = group["censored"].astype(bool).to_numpy()
            values = group[column].to_numpy(float)
            colour = colours[batch]
            ax.plot(xs[~censored], values[~censored], "o", color=colour, ms=3.5, alpha=0.9)
            ax.plot(xs[censored], values[censored], "o", mfc="none", mec=colour, ms=3.5)
            medians[position] = float(np.median(values))
        ax.plot(list(medians), list(medians.values()), color="0.2", lw=1, zorder=1)
        if ONLINE in batches and 1.0 in medians:
            sizes = np.geomspace(1, train_size, 50)
            scale = np.ones_like(sizes) if column == "epochs_to_target" else 1 / sizes
            ax.plot(sizes, medians[1.0] * scale, color=FAINT, ls="--", lw=0.9, zorder=0)
        ax.set_yscale("log")
        batch_axis(ax, batches, train_size)
        plain_log_ticks(ax.yaxis)
        ax.set_ylabel(label)
    panel_letters(axes)
    handles = [
        Line2D([], [], ls="", marker="o", color="0.3", ms=3.5, label="trial, reached target"),
        Line2D([], [], ls="", marker="o", mfc="none", mec="0.3", ms=3.5, label="trial, censored"),
        Line2D([], [], color="0.2", lw=1, label="median"),
        Line2D([], [], color=FAINT, ls="--", lw=0.9, label="perfect scaling (from on-line)"),
    ]
    fig.legend(handles=handles, loc="outside upper center", ncol=4)
    sns.despine(fig)
    return fig


@styled
def best_rate_vs_batch_size(rates: pd.DataFrame, tasks: pd.DataFrame, task: str | None) -> Figure:
    """Best learning rate vs batch size (log-log); every rate tried as a faint mark.

    ``rates``: the large task's rates.csv; ``tasks``: tables/tasks.csv (for the
    training-set size of ``task``, where ``full`` is drawn). Tried rates where some
    trials diverged are drawn as crosses.
    """
    fig, ax = new_figure(SINGLE, 2.7)
    if task is None or rates.empty:
        empty_panel(ax, NO_LARGE_TASK)
        return fig
    train_size = large_train_size(tasks, task)
    batches = sorted_batches(rates["batch_size"])
    x = batch_position(rates["batch_size"], train_size).to_numpy()
    lr = rates["lr"].to_numpy(float)
    diverged = (rates["diverged_share"] > 0).to_numpy()
    tried = {"color": FAINT_MARK, "ls": ""}
    ax.plot(x[~diverged], lr[~diverged], marker="_", ms=9, mew=1.2, **tried)
    ax.plot(x[diverged], lr[diverged], marker="x", ms=4, mew=0.9, **tried)
    best = best_rates(rates)
    order = sorted_batches(best.index)
    xs = batch_position(pd.Series(order), train_size).to_numpy()
    colours = batch_colours(batches)
    ax.plot(xs, best[order].to_numpy(), color="0.2", lw=1, zorder=1)
    for xi, batch in zip(xs, order, strict=True):
        ax.plot(xi, best[batch], "o", color=colours[batch], ms=5, mec="white", mew=0.5, zorder=2)
    ax.set_yscale("log")
    ax.set_ylim(lr.min() / 3, lr.max() * 3)
    batch_axis(ax, batches, train_size)
    plain_log_ticks(ax.yaxis)
    ax.set_ylabel("Learning rate η")
    handles = [
        Line2D([], [], ls="-", marker="o", color="0.2", ms=4, label="best rate"),
        Line2D([], [], ls="", marker="_", color=FAINT_MARK, ms=9, mew=1.2, label="rate tried"),
    ]
    if diverged.any():
        handles.append(
            Line2D([], [], ls="", marker="x", color=FAINT_MARK, ms=4, label="tried, diverged")
        )
    fig.legend(handles=handles, loc="outside upper center", ncol=len(handles))
    sns.despine(fig)
    return fig


@styled
def critical_difference(cd: pd.DataFrame, alpha: float = 0.05) -> Figure:
    """Critical-difference diagram of batch sizes (average rank of epochs to target).

    ``cd``: tables/critical_difference.csv (batch_size, average_rank,
    critical_difference, p_vs_<batch>...). Batch sizes joined by a bar are not
    significantly different (Nemenyi p >= ``alpha``); the bar above the axis is the
    critical difference. An empty table gives a panel that says it was not computable.
    """
    fig, ax = new_figure(SINGLE, 1.7)
    if cd.empty or "average_rank" not in cd:
        empty_panel(ax, "Critical-difference diagram not computable\n(see tests.csv, claim C4)")
        return fig
    batches = sorted_batches(cd["batch_size"])
    table = cd.set_index("batch_size").loc[batches]
    labels = {b: batch_label(b) for b in batches}
    ranks = table["average_rank"].rename(index=labels)
    pvalues = table[[f"p_vs_{b}" for b in batches]]
    pvalues = pd.DataFrame(pvalues.to_numpy(), index=ranks.index, columns=ranks.index)
    colours = {labels[b]: c for b, c in batch_colours(batches).items()}
    artists = sp.critical_difference_diagram(
        ranks,
        pvalues,
        ax=ax,
        alpha=alpha,
        color_palette=colours,
        label_fmt_left="{label}",
        label_fmt_right="{label}",
        label_props={"fontsize": 7},
        marker_props={"s": 14, "zorder": 3},
        elbow_props={"linewidth": 0.8},
        crossbar_props={"color": "k", "linewidth": 1.6},
        text_h_margin=0.1,
    )
    for bar in artists["crossbars"]:  # a bar's points come from a set: fix their order
        for line in bar:
            x, y = line.get_data()
            line.set_data(np.sort(np.asarray(x)), y)
    width = float(table["critical_difference"].iloc[0])
    start = float(ranks.min())
    ax.plot([start, start + width], [1.3, 1.3], color="k", lw=1.2, solid_capstyle="butt")
    ax.plot([start, start], [1.15, 1.45], color="k", lw=0.8)
    ax.plot([start + width, start + width], [1.15, 1.45], color="k", lw=0.8)
    ax.text(start + width / 2, 1.5, f"critical difference = {width:.2f}", ha="center", fontsize=7)
    ax.set_ylim(top=2.1)
    ax.set_xlim(0.8, len(batches) + 0.2)
    ax.set_xticks(range(1, len(batches) + 1))
    ax.set_xlabel("Average rank of epochs to target (1 = fastest)")
    ax.xaxis.set_label_position("bottom")
    return fig


def error_surface(
    centres: np.ndarray, along: float = 1.0, across: float = 2.0
) -> tuple[Callable[[np.ndarray, np.ndarray], np.ndarray], Callable[[np.ndarray, int], np.ndarray]]:
    """A 2-D per-instance error with a curved valley, and its per-instance gradient.

    Instance i: ``E_i(w) = along/2 (w1 - c_i)^2 + across/2 (w2 - w1^2)^2``: its minimum
    ``(c_i, c_i^2)`` lies on the parabola ``w2 = w1^2``; the sum is a curved (banana)
    valley, steep across and shallow along. Returns (total error on a grid, gradient of
    one instance at a point).
    """

    def total(w1: np.ndarray, w2: np.ndarray) -> np.ndarray:
        valley = 0.5 * across * (w2 - w1**2) ** 2
        return sum(0.5 * along * (w1 - c) ** 2 + valley for c in centres)

    def gradient(w: np.ndarray, i: int) -> np.ndarray:
        off = w[1] - w[0] ** 2
        return np.array([along * (w[0] - centres[i]) - 2 * across * off * w[0], across * off])

    return total, gradient


def descent_paths(
    learning_rate: float, epochs: int, instances: int, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """On-line and batch gradient descent on :func:`error_surface` from the same start.

    Returns (on-line weights after each epoch ``[epochs+1, 2]``, on-line weights after
    each instance ``[epochs*instances+1, 2]``, batch weights after each epoch ``[epochs+1, 2]``).
    """
    centres = np.linspace(0.4, 1.6, instances)
    _, gradient = error_surface(centres)
    start = np.array([-1.0, 1.5])
    order = np.random.default_rng(seed)
    online, steps, batch = [start], [start], [start]
    w = start
    for _ in range(epochs):
        for i in order.permutation(instances):  # one step per instance, shuffled each epoch
            w = w - learning_rate * gradient(w, i)
            steps.append(w)
        online.append(w)
    w = start
    for _ in range(epochs):  # one step per epoch along the summed gradient
        w = w - learning_rate * sum(gradient(w, i) for i in range(instances))
        batch.append(w)
    return np.array(online), np.array(steps), np.array(batch)


@styled
def error_surface_illustration(
    learning_rate: float = 0.05, epochs: int = 20, instances: int = 8, seed: int = 0
) -> Figure:
    """On-line vs batch gradient descent on a curved 2-D error surface (the paper's argument).

    Same rate, same start: on-line takes one step per instance (shuffled each epoch,
    seeded) and follows the valley; batch takes one step per epoch along the summed
    gradient, which points off the curved valley and overshoots across it. (a) the
    contours and both paths (dots = end of each epoch); (b) total error per epoch.
    """
    total, _ = error_surface(np.linspace(0.4, 1.6, instances))
    online, steps, batch = descent_paths(learning_rate, epochs, instances, seed)
    fig, (left, right) = new_figure(DOUBLE, 3.0, ncols=2, width_ratios=[1.15, 1])
    w1, w2 = np.meshgrid(np.linspace(-1.5, 1.8, 300), np.linspace(-0.4, 2.4, 300))
    surface = total(w1, w2)  # [300, 300]
    levels = np.geomspace(surface.min() * 1.05, surface.max(), 14)
    left.contour(w1, w2, surface, levels=levels, colors="0.8", linewidths=0.6)
    minimum = np.unravel_index(surface.argmin(), surface.shape)
    palette = sns.color_palette(PALETTE)
    on_colour, batch_colour = palette[0], palette[3]
    left.plot(steps[:, 0], steps[:, 1], color=on_colour, lw=0.7)
    left.plot(online[:, 0], online[:, 1], "o", color=on_colour, ms=2.8)
    left.plot(batch[:, 0], batch[:, 1], "s-", color=batch_colour, ms=2.8, lw=0.9)
    left.plot(*online[0], "k^", ms=5)
    left.plot(w1[minimum], w2[minimum], "k*", ms=7)
    left.set_xlabel("Weight $w_1$")
    left.set_ylabel("Weight $w_2$")
    epoch = np.arange(epochs + 1)
    right.plot(epoch, total(*online.T), "o-", color=on_colour, ms=2.8)
    right.plot(epoch, total(*batch.T), "s-", color=batch_colour, ms=2.8)
    right.axhline(surface.min(), color=FAINT, ls=":", lw=0.8)
    right.set_yscale("log")
    plain_log_ticks(right.yaxis)
    right.xaxis.set_major_locator(MaxNLocator(integer=True, steps=[1, 2, 5, 10]))
    right.annotate(
        "minimum",
        (0, surface.min()),
        xytext=(0, 2),
        textcoords="offset points",
        va="bottom",
        fontsize=6.5,
        color=FAINT,
    )
    right.set_xlabel("Epoch")
    right.set_ylabel("Total error (sum over instances)")
    panel_letters((left, right))
    handles = [
        Line2D(
            [], [], color=on_colour, marker="o", ms=2.8, lw=0.7, label="on-line (step per instance)"
        ),
        Line2D(
            [], [], color=batch_colour, marker="s", ms=2.8, lw=0.9, label="batch (step per epoch)"
        ),
        Line2D([], [], ls="", marker="^", color="k", ms=5, label="start"),
        Line2D([], [], ls="", marker="*", color="k", ms=7, label="minimum"),
    ]
    fig.legend(handles=handles, loc="outside upper center", ncol=4)
    sns.despine(fig)
    return fig


# --------------------------------------------------------------------------- entry point

FIGURES: dict[str, Callable[..., Figure]] = {
    "large_task_curves": large_task_curves,
    "large_task_grid": large_task_grid,
    "speedup_vs_size": speedup_vs_size,
    "accuracy_online_vs_batch": accuracy_online_vs_batch,
    "epochs_to_target_vs_batch_size": epochs_to_target_vs_batch_size,
    "best_rate_vs_batch_size": best_rate_vs_batch_size,
    "critical_difference": critical_difference,
    "error_surface_illustration": error_surface_illustration,
}


def read_table(paths: str | Path | Sequence[str | Path]) -> pd.DataFrame:
    """One CSV (or several, concatenated); batch sizes as strings; an empty file -> empty frame."""
    files = [paths] if isinstance(paths, str | Path) else list(paths)
    frames = []
    for path in files:
        try:
            frames.append(pd.read_csv(path, dtype={"batch_size": str}))
        except pd.errors.EmptyDataError:
            frames.append(pd.DataFrame())
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def save_figure(fig: Figure, pdf: str | Path | None = None, png: str | Path | None = None) -> None:
    """PDF and 300-dpi PNG with fixed metadata (no dates: same input, same bytes)."""
    with figure_style():
        if pdf is not None:
            fig.savefig(pdf, format="pdf", metadata=PDF_METADATA)
        if png is not None:
            fig.savefig(png, format="png", dpi=DPI, metadata=PNG_METADATA)


def make_figure(
    name: str,
    inputs: Mapping[str, str | Path | Sequence[str | Path]],
    pdf: str | Path | None,
    png: str | Path | None,
    **params,
) -> Figure:
    """Read the named input CSVs, draw figure ``name`` (see :data:`FIGURES`), write both files.

    ``inputs`` keys are the figure function's DataFrame arguments (e.g. ``rates``,
    ``curves``); ``params`` its other keyword arguments (e.g. ``task``).
    """
    if name not in FIGURES:
        raise KeyError(f"unknown figure {name!r}; known: {', '.join(FIGURES)}")
    tables = {key: read_table(paths) for key, paths in inputs.items()}
    fig = FIGURES[name](**tables, **params)
    save_figure(fig, pdf, png)
    return fig
