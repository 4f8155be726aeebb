"""Figures of the generalization study (beyond the paper; docs/design.md §11).

Test accuracy against batch size per task under each control; the generalization gap
against batch size; sharpness against batch size and against the gap; training loss
against test accuracy along the runs of the curve tasks. They read generalization.csv
(and the tasks' points.csv); batch sizes are drawn at even steps, labelled.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from batch_inefficiency import batch_sizes

from .style import (
    DOUBLE,
    FAINT,
    SINGLE,
    batch_colours,
    empty_panel,
    panel_letters,
    plain_log_ticks,
    styled,
    task_colours,
)

NO_STUDY = "No generalization study in this run"
DECAY = "full+wd"
CONTROLS = {
    "a": "(a) early-stopped",
    "b": "(b) matched training loss",
    "c": "(c) equal epochs",
    "d": "(d) equal updates",
}
MARKERS = {"a": "o", "b": "s", "c": "^", "d": "v"}
COLUMNS = 4


def _grid(rows: int, cols: int, height: float, width: float = DOUBLE) -> tuple[Figure, list[Axes]]:
    fig = Figure(figsize=(width, height), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False)
    return fig, list(axes.ravel())


def _plain(table: pd.DataFrame) -> pd.DataFrame:
    """The rows of the batch sizes (not the weight-decay arm), in batch order."""
    rows = table[table["batch_size"] != DECAY]
    return rows.assign(_k=batch_sizes.sort_key(rows["batch_size"])).sort_values("_k")


def _positions(batches: list[str]) -> dict[str, int]:
    return {b: i for i, b in enumerate(batch_sizes.ordered(batches))}


def _batch_ticks(ax: Axes, positions: dict[str, int]) -> None:
    ax.set_xticks(list(positions.values()))
    ax.set_xticklabels(list(positions))
    ax.set_xlim(-0.5, len(positions) - 0.5)


def _errorbar(ax: Axes, x: np.ndarray, rows: pd.DataFrame, column: str, **style) -> None:
    """Medians with CI bars; runs that did not finish as open markers."""
    y = rows[column].to_numpy(float) * 100
    low = rows[f"{column}_low"].to_numpy(float) * 100
    high = rows[f"{column}_high"].to_numpy(float) * 100
    done = rows["finished"].to_numpy(bool)
    for mask, face in ((done, style.get("color")), (~done, "white")):
        if mask.any():
            ax.errorbar(
                x[mask], y[mask], yerr=[y[mask] - low[mask], high[mask] - y[mask]],
                fmt=style["marker"], color=style["color"], mfc=face, ms=3.5, capsize=1.5,
                lw=0.7, ls="none",
            )  # fmt: skip


@styled
def test_accuracy_controls(generalization: pd.DataFrame) -> Figure:
    """Test accuracy (median, CI) against batch size per task under (a)-(d)."""
    if generalization.empty:
        fig, ax = _grid(1, 1, 2.0)
        empty_panel(ax[0], NO_STUDY)
        return fig
    tasks = list(dict.fromkeys(generalization["task"]))
    rows = math.ceil(len(tasks) / COLUMNS)
    fig, axes = _grid(rows, min(COLUMNS, len(tasks)), 1.75 * rows + 0.5)
    colours = dict(zip(CONTROLS, task_colours(list(CONTROLS)).values(), strict=True))
    for ax, task in zip(axes, tasks, strict=False):
        mine = generalization[generalization["task"] == task]
        plain = _plain(mine)
        positions = _positions(list(plain["batch_size"]))
        x = plain["batch_size"].map(positions).to_numpy(float)
        for i, letter in enumerate(CONTROLS):
            if f"{letter}_test_acc" in plain:
                offset = (i - 1.5) * 0.12
                style = {"marker": MARKERS[letter], "color": colours[letter]}
                _errorbar(ax, x + offset, plain, f"{letter}_test_acc", **style)
        decay = mine[mine["batch_size"] == DECAY]
        if not decay.empty:
            xd = np.full(len(decay), positions[batch_sizes.FULL] + 0.32)
            _errorbar(ax, xd, decay, "a_test_acc", marker="*", color="black")
        _batch_ticks(ax, positions)
        ax.set_title(task, fontsize=7, pad=2)
        ax.tick_params(labelsize=6)
    for ax in axes[len(tasks) :]:
        ax.set_axis_off()
    handles = [
        Line2D([], [], marker=MARKERS[k], color=colours[k], ls="none", label=label)
        for k, label in CONTROLS.items()
    ]
    handles += [
        Line2D([], [], marker="*", color="black", ls="none", label="full + weight decay, (a)"),
        Line2D([], [], marker="o", color=FAINT, mfc="white", ls="none", label="not finished"),
    ]
    fig.legend(handles=handles, loc="outside lower center", ncols=3)
    fig.supylabel("Test accuracy (%)", fontsize=8)
    for ax in axes[len(tasks) - min(COLUMNS, len(tasks)) : len(tasks)]:
        ax.set_xlabel("Batch size", fontsize=7)
    return fig


def _per_task_lines(ax: Axes, table: pd.DataFrame, column: str, scale: float = 1.0) -> None:
    """One line per task of ``column`` (median) against batch size; open: not finished."""
    plain = _plain(table)
    positions = _positions(list(plain["batch_size"].unique()))
    colours = task_colours(list(dict.fromkeys(plain["task"])))
    for task, rows in plain.groupby("task", sort=False):
        x = rows["batch_size"].map(positions).to_numpy(float)
        y = rows[column].to_numpy(float) * scale
        ax.plot(x, y, color=colours[task], lw=0.8, label=task)
        done = rows["finished"].to_numpy(bool)
        ax.plot(x[done], y[done], "o", color=colours[task], ms=3)
        ax.plot(x[~done], y[~done], "o", color=colours[task], mfc="white", ms=3)
    _batch_ticks(ax, positions)
    ax.set_xlabel("Batch size")


@styled
def generalization_gap(generalization: pd.DataFrame) -> Figure:
    """Accuracy and loss gaps at (a) and (b) against batch size, one line per task."""
    fig, axes = _grid(2, 2, 4.6)
    if generalization.empty:
        for ax in axes:
            empty_panel(ax, NO_STUDY)
        return fig
    panels = (
        ("a_gap_acc", 100, "(a) train - test accuracy (points)"),
        ("b_gap_acc", 100, "(b) train - test accuracy (points)"),
        ("a_gap_loss", 1, "(a) test - training loss"),
        ("b_gap_loss", 1, "(b) test - training loss"),
    )
    for ax, (column, scale, label) in zip(axes, panels, strict=True):
        _per_task_lines(ax, generalization, column, scale)
        ax.axhline(0, color=FAINT, lw=0.6, ls=":")
        ax.set_ylabel(label)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside right center", fontsize=6)
    return fig


@styled
def sharpness_figure(generalization: pd.DataFrame) -> Figure:
    """Sharpness at (b) against batch size, and against the accuracy gap at (b)."""
    fig, axes = _grid(1, 2, 2.9)
    if generalization.empty or "sharpness" not in generalization:
        for ax in axes:
            empty_panel(ax, NO_STUDY)
        return fig
    _per_task_lines(axes[0], generalization, "sharpness")
    axes[0].set_yscale("log")
    plain_log_ticks(axes[0].yaxis)
    axes[0].set_ylabel("Sharpness at (b): top Hessian eigenvalue")
    plain = _plain(generalization)
    colours = batch_colours(list(plain["batch_size"].unique()))
    for batch, rows in plain.groupby("batch_size", sort=False):
        axes[1].plot(
            rows["sharpness"], rows["b_gap_acc"] * 100, "o", ms=3.5, color=colours[batch],
            label=batch_sizes.label(batch),
        )  # fmt: skip
    axes[1].set_xscale("log")
    plain_log_ticks(axes[1].xaxis)
    axes[1].set_xlabel("Sharpness at (b)")
    axes[1].set_ylabel("Train - test accuracy at (b) (points)")
    axes[1].legend(title="Batch size", fontsize=6)
    panel_letters(axes)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=6, fontsize=6)
    return fig


@styled
def loss_vs_test_accuracy(points: pd.DataFrame) -> Figure:
    """Training loss against test accuracy along each run of the curve tasks (medians)."""
    curves = points[points["point"].str.startswith("curve_")] if not points.empty else points
    tasks = list(dict.fromkeys(curves["task"])) if not curves.empty else []
    fig, axes = _grid(1, max(len(tasks), 1), 2.8, min(DOUBLE, SINGLE * max(len(tasks), 1)))
    if not tasks:
        empty_panel(axes[0], "No curve tasks in this run")
        return fig
    colours = batch_colours([b for b in curves["batch_size"].unique() if b != DECAY])
    for ax, task in zip(axes, tasks, strict=True):
        mine = curves[(curves["task"] == task) & (curves["batch_size"] != DECAY)]
        for batch, rows in mine.groupby("batch_size", sort=False):
            medians = rows.groupby("epoch")[["train_loss", "test_acc"]].median().sort_index()
            ax.plot(
                medians["train_loss"], medians["test_acc"] * 100, "-o", ms=2.5, lw=0.9,
                color=colours[batch], label=batch_sizes.label(batch),
            )  # fmt: skip
        ax.set_xscale("log")
        plain_log_ticks(ax.xaxis)
        ax.invert_xaxis()
        ax.set_title(task, fontsize=8, pad=2)
        ax.set_xlabel("Training loss (training runs left to right)")
        ax.set_ylabel("Test accuracy (%)")
    axes[0].legend(title="Batch size", fontsize=6)
    return fig
