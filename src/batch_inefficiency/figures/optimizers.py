"""Figures of the optimizer study (beyond the paper; docs/design.md §12).

Steps to target against batch size per task, one line per optimizer, with each one's S(B)
fit; S_min and B_crit per optimizer and task with their CIs. Both read optimizers.csv or
optimizers_fit.csv; batch sizes are drawn at their rows (``full`` at the training-set size).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from batch_inefficiency.figures.scaling import COLUMNS, _medians_with_ci

from .style import DOUBLE, SINGLE, empty_panel, log_axes, plain_log_ticks, styled, task_colours

NO_STUDY = "No optimizer study in this run"


def optimizer_colours(labels: list[str]) -> dict[str, tuple]:
    """One colour per optimizer label (the task palette, by label)."""
    return task_colours(labels)


def _grid(n: int, height: float) -> tuple[Figure, np.ndarray]:
    rows = max(1, math.ceil(n / COLUMNS))
    ncols = min(max(n, 1), COLUMNS)
    fig = Figure(
        figsize=(DOUBLE if ncols > 1 else SINGLE, height * rows + 0.6), layout="constrained"
    )
    return fig, fig.subplots(rows, ncols, squeeze=False)


@styled
def steps_by_optimizer(optimizers: pd.DataFrame, optimizers_fit: pd.DataFrame) -> Figure:
    """Steps to target vs batch size per task (log-log), one colour per optimizer, with S(B)."""
    tasks = list(dict.fromkeys(optimizers["task"])) if not optimizers.empty else []
    fig, grid = _grid(len(tasks), 2.1)
    if not tasks:
        empty_panel(grid[0, 0], NO_STUDY)
        return fig
    labels = list(dict.fromkeys(optimizers["optimizer"]))
    colours = optimizer_colours(labels)
    fits = optimizers_fit.set_index(["task", "optimizer"])
    for ax, task in zip(grid.flat, tasks, strict=False):
        mine = optimizers[optimizers["task"] == task]
        x = np.geomspace(mine["batch_rows"].min(), mine["batch_rows"].max(), 100)
        for label in labels:
            rows = mine[mine["optimizer"] == label].sort_values("batch_rows")
            _medians_with_ci(ax, rows, "steps", colours[label])
            done = rows[np.isfinite(rows["steps"])]
            ax.plot(done["batch_rows"], done["steps"], color=colours[label], lw=0.6, alpha=0.5)
            fit = fits.loc[(task, label)] if (task, label) in fits.index else None
            if fit is not None and math.isfinite(fit["b_crit"]):
                ax.plot(x, fit["s_min"] * (1 + fit["b_crit"] / x), color=colours[label], lw=1.2)
                ax.axvline(fit["b_crit"], color=colours[label], ls=":", lw=0.8)
        log_axes(ax, "Batch size")
        ax.set_title(f"{task} (target {mine['target'].iloc[0]:.0%})", fontsize=7)
    for ax in list(grid.flat)[len(tasks) :]:
        ax.set_axis_off()
    for ax in grid[:, 0]:
        ax.set_ylabel("Steps to target")
    handles = [Line2D([], [], color=colours[label], marker="o", ms=3.5, label=label)
               for label in labels]  # fmt: skip
    handles += [
        Line2D([], [], marker="^", color="0.3", mfc="white", ls="", label="censored (≥)"),
        Line2D([], [], color="0.3", ls=":", label="B_crit"),
    ]
    fig.legend(handles=handles, loc="outside lower center", ncol=min(len(handles), 5))
    sns.despine(fig)
    return fig


@styled
def fit_by_optimizer(optimizers_fit: pd.DataFrame) -> Figure:
    """S_min and B_crit per task, one marker per optimizer, with the fits' CIs (log scale)."""
    fig = Figure(figsize=(DOUBLE, 2.6), layout="constrained")
    axes = fig.subplots(1, 2)
    fitted = optimizers_fit.dropna(subset=["b_crit"])
    if fitted.empty:
        for ax in axes:
            empty_panel(ax, NO_STUDY)
        return fig
    tasks = list(dict.fromkeys(optimizers_fit["task"]))
    labels = list(dict.fromkeys(optimizers_fit["optimizer"]))
    colours = optimizer_colours(labels)
    width = 0.7 / len(labels)
    for ax, name, title in zip(
        axes, ("s_min", "b_crit"), ("S_min (steps)", "B_crit (examples)"), strict=True
    ):
        for i, label in enumerate(labels):
            rows = fitted[fitted["optimizer"] == label]
            x = (
                np.array([tasks.index(t) for t in rows["task"]])
                + (i - (len(labels) - 1) / 2) * width
            )
            y = rows[name].to_numpy(float)
            low = np.where(np.isfinite(rows[f"{name}_low"]), rows[f"{name}_low"], y)
            high = np.where(np.isfinite(rows[f"{name}_high"]), rows[f"{name}_high"], y)
            ax.errorbar(x, y, yerr=[y - low, high - y], fmt="o", ms=3.5, capsize=2, lw=0.8,
                        color=colours[label], label=label)  # fmt: skip
        ax.set_yscale("log")
        plain_log_ticks(ax.yaxis)
        ax.set_xticks(range(len(tasks)), tasks, rotation=30 if len(tasks) > 3 else 0, fontsize=7)
        ax.set_xlim(-0.6, len(tasks) - 0.4)
        ax.set_title(title, fontsize=8)
    axes[0].legend(fontsize=7, frameon=False)
    sns.despine(fig)
    return fig
