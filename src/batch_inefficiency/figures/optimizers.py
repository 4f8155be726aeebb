"""Figures of the optimizer study (beyond the paper; docs/design.md §12).

Steps to target against batch size per task, one line per optimizer, with each one's S(B)
fit; S_min and B_crit per optimizer and task with their CIs (optimizers.csv,
optimizers_fit.csv; batch sizes are drawn at their rows, ``full`` at the training-set size);
each optimizer's gain in B_crit against the effective condition number, and B_crit against
B_simple and B_noise (optimizers_curvature.csv).
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


def _label_points(ax, x: np.ndarray, y: np.ndarray, names: pd.Series) -> None:
    for xi, yi, name in zip(x, y, names, strict=True):
        if np.isfinite(xi) and np.isfinite(yi) and xi > 0 and yi > 0:
            ax.annotate(name, (xi, yi), xytext=(3, 2), textcoords="offset points", fontsize=6)


@styled
def gain_vs_condition(optimizers_curvature: pd.DataFrame) -> Figure:
    """(a) each optimizer's B_crit over SGD's against κ_eff; (b) B_crit against B_simple and
    B_noise, the line y = x; one point per task, log-log."""
    fig = Figure(figsize=(DOUBLE, 2.8), layout="constrained")
    gain_ax, noise_ax = fig.subplots(1, 2)
    table = optimizers_curvature
    gains = [c for c in table if c.startswith("gain_")]
    if table.empty or not gains:
        for ax in (gain_ax, noise_ax):
            empty_panel(ax, NO_STUDY)
        return fig
    colours = optimizer_colours([g.removeprefix("gain_") for g in gains])
    for column in gains:
        label = column.removeprefix("gain_")
        gain_ax.scatter(table["kappa_eff"], table[column], s=14, color=colours[label],
                        label=label)  # fmt: skip
        _label_points(gain_ax, table["kappa_eff"].to_numpy(), table[column].to_numpy(),
                      table["task"])  # fmt: skip
    gain_ax.axhline(1, color="0.6", lw=0.7)
    gain_ax.axhline(1.5, color="0.6", lw=0.7, ls=":")
    log_axes(gain_ax, "effective condition number κ_eff (on-line SGD's target)")
    gain_ax.set_ylabel("B_crit / SGD's B_crit")
    gain_ax.set_title("(a) gain against curvature", fontsize=8)
    gain_ax.legend(fontsize=7, frameon=False)
    for name, marker in (("b_simple", "o"), ("b_noise", "s")):
        noise_ax.scatter(table[name], table["b_crit"], s=14, marker=marker, label=name)
    _label_points(noise_ax, table["b_noise"].to_numpy(), table["b_crit"].to_numpy(),
                  table["task"])  # fmt: skip
    known = table[["b_simple", "b_noise", "b_crit"]].to_numpy(float)
    known = known[np.isfinite(known) & (known > 0)]
    if len(known):
        span = np.array([known.min() / 2, known.max() * 2])
        noise_ax.plot(span, span, color="0.6", lw=0.7)
    log_axes(noise_ax, "noise scale (examples)")
    noise_ax.set_ylabel("SGD's B_crit (examples)")
    noise_ax.set_title("(b) B_crit against B_simple and B_noise", fontsize=8)
    noise_ax.legend(fontsize=7, frameon=False)
    for ax in (gain_ax, noise_ax):
        plain_log_ticks(ax.yaxis)
    sns.despine(fig)
    return fig
