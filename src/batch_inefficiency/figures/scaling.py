"""Figures of the scaling study (beyond the paper; docs/design.md §9).

Steps to target against batch size per task with the fitted S(B), perfect
scaling and the noise scale; the best mean-reduced rate against batch size;
seconds to target against batch size. All read scaling.csv (and scaling_fit.csv);
batch sizes are drawn at their rows (``full`` at the training-set size).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from batch_inefficiency.studies.scaling.fit import REGIME_FACTOR

from .style import (
    DOUBLE,
    FAINT,
    SINGLE,
    empty_panel,
    log_axes,
    new_figure,
    plain_log_ticks,
    styled,
    task_colours,
)

NO_SCALING = "No scaling study in this run"
PERFECT_SHADE, NO_GAIN_SHADE = "#e8f1fa", "#f6ece4"  # regime backgrounds
COLUMNS = 3  # panels per row of the per-task figure


def _medians_with_ci(ax: Axes, rows: pd.DataFrame, column: str, colour: tuple) -> None:
    """Medians (filled) with CI bars; censored medians as open markers with an arrow up."""
    x, y = rows["batch_rows"].to_numpy(float), rows[column].to_numpy(float)
    low, high = rows[f"{column}_low"].to_numpy(float), rows[f"{column}_high"].to_numpy(float)
    done = np.isfinite(y)
    top = np.where(np.isfinite(high), high, y)
    ax.errorbar(
        x[done], y[done], yerr=[y[done] - low[done], top[done] - y[done]],
        fmt="o", color=colour, ms=3.5, capsize=2, lw=0.8, zorder=3,
    )  # fmt: skip
    if (~done).any():  # censored: at least the budget
        budget = rows.loc[~done, "budget_steps"].to_numpy(float)
        ax.plot(x[~done], budget, "^", mfc="white", color=colour, ms=4, zorder=3)


def _steps_panel(ax: Axes, rows: pd.DataFrame, fit: pd.Series | None, colour: tuple) -> None:
    """One task: medians with CIs, perfect scaling from the smallest batch, S(B), B markers."""
    rows = rows.sort_values("batch_rows")
    _medians_with_ci(ax, rows, "steps", colour)
    done = rows[np.isfinite(rows["steps"])]
    x = np.geomspace(rows["batch_rows"].min(), rows["batch_rows"].max(), 100)
    if not done.empty:
        first = done.iloc[0]
        ax.plot(x, first["steps"] * first["batch_rows"] / x, ls="--", color=FAINT, lw=0.8)
    if fit is not None and math.isfinite(fit["b_crit"]):
        ax.plot(x, fit["s_min"] * (1 + fit["b_crit"] / x), color=colour, lw=1)
        ax.axvline(fit["b_crit"], color=colour, ls=":", lw=0.8)
        ax.axvspan(0.1, fit["b_crit"] / REGIME_FACTOR, color=PERFECT_SHADE, lw=0, zorder=0)
        ax.axvspan(REGIME_FACTOR * fit["b_crit"], 1e9, color=NO_GAIN_SHADE, lw=0, zorder=0)
        ax.set_xlim(x[0] / 2, x[-1] * 2)
    if fit is not None and math.isfinite(fit["b_simple"]):
        ax.axvline(fit["b_simple"], color="0.2", ls="-.", lw=0.8)
    log_axes(ax, "Batch size")
    ax.set_title(f"{rows['task'].iloc[0]} (target {rows['target'].iloc[0]:.0%})", fontsize=7)


@styled
def steps_to_target_scaling(scaling: pd.DataFrame, scaling_fit: pd.DataFrame) -> Figure:
    """Steps to target vs batch size per task (log-log): medians, perfect scaling, S(B), B marks."""
    tasks = list(dict.fromkeys(scaling["task"])) if not scaling.empty else []
    rows_n = max(1, math.ceil(len(tasks) / COLUMNS))
    ncols = min(max(len(tasks), 1), COLUMNS)
    fig = Figure(
        figsize=(DOUBLE if ncols > 1 else SINGLE, 2.0 * rows_n + 0.6), layout="constrained"
    )
    grid = fig.subplots(rows_n, ncols, squeeze=False)
    if not tasks:
        empty_panel(grid[0, 0], NO_SCALING)
        return fig
    fits = scaling_fit.set_index("task")
    colours = task_colours(tasks)
    for ax, task in zip(grid.flat, tasks, strict=False):
        fit = fits.loc[task] if task in fits.index else None
        _steps_panel(ax, scaling[scaling["task"] == task], fit, colours[task])
    for ax in list(grid.flat)[len(tasks) :]:
        ax.set_axis_off()
    for ax in grid[:, 0]:
        ax.set_ylabel("Steps to target")
    fig.legend(
        handles=[
            Line2D([], [], marker="o", color="0.3", ls="", ms=3.5, label="median, CI"),
            Line2D([], [], marker="^", color="0.3", mfc="white", ls="", label="censored (≥)"),
            Line2D([], [], color=FAINT, ls="--", label="perfect scaling"),
            Line2D([], [], color="0.3", label="S(B) fit"),
            Line2D([], [], color="0.3", ls=":", label="B_crit"),
            Line2D([], [], color="0.2", ls="-.", label="B_simple"),
            Patch(color=PERFECT_SHADE, label="perfect scaling (B ≤ B_crit/3)"),
            Patch(color=NO_GAIN_SHADE, label="no further gain (B ≥ 3 B_crit)"),
        ],
        loc="outside lower center",
        ncol=4 if ncols > 1 else 2,
    )
    sns.despine(fig)
    return fig


def _per_task_lines(ax: Axes, scaling: pd.DataFrame, column: str, open_where: str) -> None:
    """One line per task of ``column`` against batch rows; open markers where ``open_where``."""
    tasks = list(dict.fromkeys(scaling["task"]))
    colours = task_colours(tasks)
    for task in tasks:
        rows = scaling[scaling["task"] == task].sort_values("batch_rows")
        x, y = rows["batch_rows"].to_numpy(float), rows[column].to_numpy(float)
        ax.plot(x, y, color=colours[task], lw=1, label=task)
        hollow = rows.eval(open_where).to_numpy(bool)
        ax.plot(x[~hollow], y[~hollow], "o", color=colours[task], ms=3.5)
        ax.plot(x[hollow], y[hollow], "o", color=colours[task], mfc="white", ms=3.5)
    log_axes(ax)


@styled
def best_rate_scaling(scaling: pd.DataFrame) -> Figure:
    """The best mean-reduced rate (η_sum x batch) vs batch size, per task; open: edge."""
    fig, ax = new_figure(SINGLE, 3.0)
    if scaling.empty:
        empty_panel(ax, NO_SCALING)
        return fig
    _per_task_lines(ax, scaling, "best_lr_mean", "search == 'edge' or censored * 2 > trials")
    x = np.geomspace(scaling["batch_rows"].min(), scaling["batch_rows"].max(), 50)
    for rate, style in ((0.1, "--"), (0.0001, ":")):  # the paper's largest and smallest rates
        ax.plot(x, rate * x, color=FAINT, ls=style, lw=0.8, label=f"paper's η = {rate:g}")
    ax.set_ylabel("Best rate, mean convention\n(η x batch size)")
    plain_log_ticks(ax.yaxis)
    fig.legend(loc="outside lower center", ncol=3, title="Task")
    sns.despine(fig)
    return fig


@styled
def seconds_to_target_scaling(scaling: pd.DataFrame) -> Figure:
    """Seconds to target (median steps x seconds per step) vs batch size, per task and device."""
    devices = [
        c.removeprefix("seconds_per_step_") for c in scaling if c.startswith("seconds_per_step_")
    ]
    fig, axes = new_figure(DOUBLE if len(devices) > 1 else SINGLE, 3.0, ncols=max(len(devices), 1))
    axes = np.atleast_1d(axes)
    if scaling.empty or not devices:
        empty_panel(axes[0], NO_SCALING)
        return fig
    colours = task_colours(list(dict.fromkeys(scaling["task"])))
    for ax, device in zip(axes, devices, strict=True):
        done = np.isfinite(scaling["steps"])
        rows = scaling.assign(shown=scaling[f"seconds_{device}"].where(done))
        _per_task_lines(ax, rows, "shown", "censored * 2 > trials")
        for task, cut in scaling[~done].groupby("task", sort=False):  # at least the budget
            bound = cut["budget_steps"] * cut[f"seconds_per_step_{device}"]
            ax.plot(cut["batch_rows"], bound, "^", mfc="white", color=colours[task], ms=4)
        ax.set_ylabel(f"Seconds to target ({device})")
        plain_log_ticks(ax.yaxis)
        name = scaling.get(f"device_name_{device}")
        ax.set_title(device if name is None else f"{device}: {name.iloc[0]}", fontsize=7)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=3, title="Task")
    sns.despine(fig)
    return fig
