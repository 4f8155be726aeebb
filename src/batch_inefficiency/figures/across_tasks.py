"""Figures across tasks: the speed-up against training-set size, on-line vs batch accuracy."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import seaborn as sns
import statsmodels.api as sm
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from .style import (
    FAINT,
    PALETTE,
    SINGLE,
    new_figure,
    plain_log_ticks,
    styled,
)  # fmt: skip

# How a task's speed-up is drawn, by its bound in tasks.csv (speedup.py): exact, at least
# (batch did not finish, or is censored), at most (on-line did not).
MARKERS = (
    ("", "o", "task"),
    ("at least", "^", "task, at least"),
    ("at most", "v", "task, at most"),
)


def ols_band(ax: Axes, x: np.ndarray, y: np.ndarray, colour: Any) -> tuple[list, list[str]]:
    """Draw the OLS fit of log10 y on log10 x (``x``, ``y``: the logs) with the 95% confidence
    band of its mean; return its legend handle and label."""
    fit = sm.OLS(y, sm.add_constant(x)).fit()
    line = np.linspace(x.min(), x.max(), 100)
    band = fit.get_prediction(sm.add_constant(line)).summary_frame(alpha=0.05)
    ci = ax.fill_between(
        10**line, 10 ** band["mean_ci_lower"], 10 ** band["mean_ci_upper"], color=colour,
        alpha=0.2, lw=0,
    )  # fmt: skip
    label = f"OLS fit, slope {fit.params[1]:.2f}".replace("-", "\N{MINUS SIGN}")
    (mean,) = ax.plot(10**line, 10 ** band["mean"], color=colour, label=label)
    return [(ci, mean)], [f"{label} (95% CI)"]


@styled
def speedup_vs_size(tasks: pd.DataFrame) -> Figure:
    """Speed-up (batch ÷ on-line epochs needed) vs training-set size, log-log, OLS + 95% CI.

    ``tasks``: tables/tasks.csv. Open triangles: speed-ups that are bounds, exactly where
    ``speedup_bound`` says so (a task whose ratio is unknown is not drawn). The largest task
    is labelled; the fit is OLS of log10 speed-up
    on log10 size (statsmodels), with the 95% confidence band of its mean.
    """
    fig, ax = new_figure(SINGLE, 3.0)
    data = tasks[np.isfinite(tasks["speedup"]) & (tasks["speedup"] > 0)]
    colour = sns.color_palette(PALETTE)[0]
    x = np.log10(data["train_size"].to_numpy(float))
    y = np.log10(data["speedup"].to_numpy(float))
    equal = ax.axhline(1, color=FAINT, lw=0.8, ls=":", zorder=0)
    handles, labels = ([], []) if len(data) < 3 or np.ptp(x) == 0 else ols_band(ax, x, y, colour)
    bound = data["speedup_bound"].fillna("").to_numpy(str)
    sizes, speedups = data["train_size"].to_numpy(float), data["speedup"].to_numpy(float)
    handles.append(equal)
    labels.append("equal epochs")
    for word, marker, label in MARKERS:
        mine = bound == word
        if word == "" or mine.any():
            face = "k" if word == "" else "none"
            (points,) = ax.plot(sizes[mine], speedups[mine], marker, mfc=face, mec="k", ms=4)
            handles.append(points)
            labels.append(label)
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
