"""Figures of the size sweep (C2 inside a task; docs/design.md §10).

On-line's speed-up over full batch and over the mini-batch against training-set
size, with the fitted log-log slopes; the best summed rate and the epochs to target
against size, against the paper's argument (full batch: rate ∝ 1/n, epochs ∝ n).
Both read size_sweep.csv (and size_sweep_fit.csv).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from batch_inefficiency import batch_sizes
from batch_inefficiency.batch_sizes import FULL, ONLINE
from batch_inefficiency.speedup import USABLE

from .style import (
    DOUBLE,
    FAINT,
    empty_panel,
    log_axes,
    new_figure,
    plain_log_ticks,
    styled,
    task_colours,
)

NO_SWEEP = "No size sweep in this run"
RATE_PANELS = {"tuned": "rates tuned per size", "grid": "the paper's rates"}
SIZE_LABEL = "Training-set size (instances)"


def _method_styles(methods: list[str]) -> dict[str, tuple[str, str]]:
    """(line style, marker) per batch size, in batch order."""
    styles = [("-", "o"), ("--", "s"), (":", "^"), ("-.", "D")]
    return dict(zip(batch_sizes.ordered(methods), styles, strict=False))


def _slope_text(fits: pd.DataFrame, quantity: str, rates: str, task: str) -> str:
    row = fits[(fits["quantity"] == quantity) & (fits["rates"] == rates) & (fits["task"] == task)]
    if row.empty or not np.isfinite(row.iloc[0]["slope"]):
        return "slope n/a"
    r = row.iloc[0]
    ci = f" [{r['ci_low']:.2f}, {r['ci_high']:.2f}]" if np.isfinite(r["ci_low"]) else ""
    return f"slope {r['slope']:.2f}{ci}"


def _speedup_panel(ax: Axes, table: pd.DataFrame, fits: pd.DataFrame, rates: str) -> None:
    """One rate choice: a line per task and slower method, open markers for lower bounds (an
    upper bound or an unknown ratio, where on-line never reached the target, is not drawn)."""
    rows = table[(table["rates"] == rates) & (table["batch_size"] != ONLINE)]
    rows = rows[rows["speedup_bound"].fillna("").isin(USABLE)]
    if not np.isfinite(rows["speedup"].to_numpy(float)).any():
        empty_panel(ax, f"{RATE_PANELS[rates]}:\non-line never reached\nthe target: no speed-up")
        return
    colours = task_colours(list(dict.fromkeys(table["task"])))
    styles = _method_styles(list(dict.fromkeys(table["batch_size"])))
    for (task, method), line in rows.groupby(["task", "batch_size"], sort=False):
        line = line.sort_values("size")
        quantity = "speed-up over full batch" if method == FULL else "speed-up over the mini-batch"
        style, marker = styles[method]
        name = batch_sizes.label(method)
        label = f"{task}, {name}: {_slope_text(fits, quantity, rates, task)}"
        x, y = line["size"].to_numpy(float), line["speedup"].to_numpy(float)
        ax.plot(x, y, ls=style, color=colours[task], lw=1, label=label)
        bound = (line["speedup_bound"] == "at least").to_numpy()
        ax.plot(x[~bound], y[~bound], marker, color=colours[task], ms=3.5)
        ax.plot(x[bound], y[bound], marker, color=colours[task], mfc="white", ms=3.5)
    ax.axhline(1, color=FAINT, lw=0.6)
    log_axes(ax, SIZE_LABEL)
    plain_log_ticks(ax.yaxis)
    ax.set_title(RATE_PANELS[rates], fontsize=7)
    # Below the panel: inside, the lines' labels hid the lines themselves.
    ax.legend(fontsize=5.5, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=1, frameon=False)


@styled
def speedup_vs_size_within(size_sweep: pd.DataFrame, size_sweep_fit: pd.DataFrame) -> Figure:
    """On-line's speed-up over full batch and the mini-batch vs size, per task, with slopes."""
    fig, axes = new_figure(DOUBLE, 4.4, ncols=2, sharey=True)
    if size_sweep.empty:
        empty_panel(axes[0], NO_SWEEP)
        axes[1].set_axis_off()
        return fig
    for ax, rates in zip(axes, RATE_PANELS, strict=True):
        _speedup_panel(ax, size_sweep, size_sweep_fit, rates)
    axes[0].set_ylabel("Speed-up of on-line (epochs to target ratio)")
    sns.despine(fig)
    return fig


def _theory_line(ax: Axes, rows: pd.DataFrame, column: str, power: float) -> None:
    """The paper's argument through full batch's smallest-size point: ∝ size ** power."""
    observed = np.isfinite(rows[column]) & np.isfinite(rows["epochs"])
    batch = rows[(rows["batch_size"] == FULL) & observed].sort_values("size")
    if batch.empty:
        return
    first = batch.iloc[0]
    x = np.geomspace(rows["size"].min(), rows["size"].max(), 20)
    ax.plot(x, first[column] * (x / first["size"]) ** power, color=FAINT, ls="--", lw=0.8)


def _per_method_panel(ax: Axes, table: pd.DataFrame, column: str, power: float) -> None:
    """``column`` vs size, a line per task and method (tuned rates), the theory per task."""
    rows = table[table["rates"] == "tuned"]
    colours = task_colours(list(dict.fromkeys(table["task"])))
    styles = _method_styles(list(dict.fromkeys(rows["batch_size"])))
    for (task, method), line in rows.groupby(["task", "batch_size"], sort=False):
        line = line.sort_values("size")
        style, marker = styles[method]
        x = line["size"].to_numpy(float)
        done = np.isfinite(line["epochs"]).to_numpy()
        shown = (
            line[column].where(done, line["budget_epochs"]) if column == "epochs" else line[column]
        )
        y = shown.to_numpy(float)
        ax.plot(x[done], y[done], ls=style, marker=marker, color=colours[task], lw=1, ms=3.5)
        ax.plot(x[~done], y[~done], ls="", marker=marker, mfc="white", color=colours[task], ms=3.5)
    for _, task_rows in rows.groupby("task", sort=False):
        _theory_line(ax, task_rows, column, power)
    log_axes(ax, SIZE_LABEL)
    plain_log_ticks(ax.yaxis)


@styled
def best_rate_vs_size(size_sweep: pd.DataFrame) -> Figure:
    """Best summed rate and epochs to target vs size (tuned), against rate ∝ 1/n, epochs ∝ n."""
    fig, axes = new_figure(DOUBLE, 3.2, ncols=2)
    if size_sweep.empty:
        empty_panel(axes[0], NO_SWEEP)
        axes[1].set_axis_off()
        return fig
    _per_method_panel(axes[0], size_sweep, "best_lr_sum", -1.0)
    axes[0].set_ylabel("Best rate, summed convention")
    _per_method_panel(axes[1], size_sweep, "epochs", 1.0)
    axes[1].set_ylabel("Median epochs to target")
    tasks = list(dict.fromkeys(size_sweep["task"]))
    colours = task_colours(tasks)
    styles = _method_styles(list(dict.fromkeys(size_sweep["batch_size"])))
    handles = [Line2D([], [], color=colours[t], lw=1, label=t) for t in tasks]
    handles += [
        Line2D([], [], color="0.3", ls=s, marker=m, ms=3.5, label=batch_sizes.label(b))
        for b, (s, m) in styles.items()
    ]
    handles.append(
        Line2D([], [], color=FAINT, ls="--", label="full batch, paper's argument: 1/n, n")
    )
    handles.append(
        Line2D([], [], color="0.3", ls="", marker="o", mfc="white", label="censored (at budget)")
    )
    fig.legend(handles=handles, loc="outside lower center", ncol=min(len(handles), 4))
    sns.despine(fig)
    return fig
