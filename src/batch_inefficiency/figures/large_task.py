"""Figures of the large task (the paper's batch-size experiment on its speech task).

Hold-out curves per batch size, the batch size x rate grid, epochs and updates to
the target, the best rate, and the critical-difference diagram of batch sizes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import scikit_posthocs as sp
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle

from batch_inefficiency import batch_sizes
from batch_inefficiency.studies.replication.metrics import filled_matrix

from .style import (
    DOUBLE,
    FAINT,
    FAINT_MARK,
    NO_LARGE_TASK,
    SINGLE,
    batch_axis,
    batch_colours,
    batch_dashes,
    best_rate_by_batch,
    empty_panel,
    large_train_size,
    new_figure,
    panel_letters,
    plain_log_ticks,
    rate_label,
    styled,
)  # fmt: skip


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
    best = best_rate_by_batch(rates)
    needed = rates[rates["best"].astype(bool)].set_index("batch_size")["epochs_needed"]
    batches = batch_sizes.ordered(best.index)
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
        label = f"{batch_sizes.label(batch)}, η = {best[batch]:g}"
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


def mark_grid_cells(ax: Axes, cells: pd.DataFrame, accuracy: pd.DataFrame) -> None:
    """Hatch the grid's cells where trials diverged; frame and embolden each best rate."""
    rows, cols = list(accuracy.index), list(accuracy.columns)
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
    rows = batch_sizes.ordered(grid["batch_size"])
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
    mark_grid_cells(ax, cells, accuracy)
    ax.set_xticklabels([rate_label(lr) for lr in cols], rotation=0)
    ax.set_yticklabels([batch_sizes.label(b).replace(" (", "\n(") for b in rows], rotation=0)
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
    best = best_rate_by_batch(rates)
    batches = batch_sizes.ordered(best.index)
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
            position = float(batch_sizes.positions(pd.Series([batch]), train_size).iloc[0])
            xs = position * trial_offsets(len(group))
            censored = group["censored"].astype(bool).to_numpy()
            values = group[column].to_numpy(float)
            colour = colours[batch]
            ax.plot(xs[~censored], values[~censored], "o", color=colour, ms=3.5, alpha=0.9)
            ax.plot(xs[censored], values[censored], "o", mfc="none", mec=colour, ms=3.5)
            medians[position] = float(np.median(values))
        ax.plot(list(medians), list(medians.values()), color="0.2", lw=1, zorder=1)
        if batch_sizes.ONLINE in batches and 1.0 in medians:
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
    batches = batch_sizes.ordered(rates["batch_size"])
    x = batch_sizes.positions(rates["batch_size"], train_size).to_numpy()
    lr = rates["lr"].to_numpy(float)
    diverged = (rates["diverged_share"] > 0).to_numpy()
    tried = {"color": FAINT_MARK, "ls": ""}
    ax.plot(x[~diverged], lr[~diverged], marker="_", ms=9, mew=1.2, **tried)
    ax.plot(x[diverged], lr[diverged], marker="x", ms=4, mew=0.9, **tried)
    best = best_rate_by_batch(rates)
    order = batch_sizes.ordered(best.index)
    xs = batch_sizes.positions(pd.Series(order), train_size).to_numpy()
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
    batches = batch_sizes.ordered(cd["batch_size"])
    table = cd.set_index("batch_size").loc[batches]
    labels = {b: batch_sizes.label(b) for b in batches}
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
