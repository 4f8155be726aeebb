"""The figures' shared style and helpers: one look for every figure, same bytes every time.

:func:`figure_style` is the one place the seaborn style, colour-blind palette and
font sizes are set; :func:`styled` draws a figure inside it. Batch sizes get one
colour and line style each, in batch order, the same in every figure.
:func:`save_figure` writes PDF and 300-dpi PNG with fixed metadata.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from typing import Any

import matplotlib as mpl
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from batch_inefficiency import batch_sizes

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


def new_figure(width: float, height: float, ncols: int = 1, **kwargs) -> tuple[Figure, Any]:
    """A figure with constrained layout and one row of axes, outside pyplot (no global state)."""
    fig = Figure(figsize=(width, height), layout="constrained")
    return fig, fig.subplots(1, ncols, **kwargs)


def batch_colours(values: Sequence[str]) -> dict[str, tuple]:
    """One colour-blind-palette colour per batch size, in batch order (same in every figure)."""
    palette = sns.color_palette(PALETTE, n_colors=max(len(values), 1))
    return dict(zip(batch_sizes.ordered(values), palette, strict=False))


def batch_dashes(values: Sequence[str]) -> dict[str, Any]:
    """One line style per batch size, in batch order (curves that coincide stay visible)."""
    ordered = batch_sizes.ordered(values)
    return {b: DASHES[i % len(DASHES)] for i, b in enumerate(ordered)}


def batch_axis(ax: Axes, batches: list[str], train_size: int) -> None:
    """Log x axis with one tick per batch size (``full`` at the training-set size)."""
    ax.set_xscale("log")
    ticks = batch_sizes.positions(pd.Series(batches), train_size)
    ax.set_xticks(ticks.to_numpy())
    ax.set_xticks([], minor=True)
    ax.set_xticklabels(batches)
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


def task_colours(tasks: list[str]) -> dict[str, tuple]:
    """One colour-blind-safe colour per task, in the given order."""
    return dict(
        zip(tasks, sns.color_palette("colorblind", n_colors=max(len(tasks), 1)), strict=False)
    )


def log_axes(ax: Axes, x_label: str = "Batch size (instances per update)") -> None:
    """Both axes logarithmic with plain tick labels on x, and the x label."""
    ax.set_xscale("log")
    ax.set_yscale("log")
    plain_log_ticks(ax.xaxis)
    ax.set_xlabel(x_label)


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


def best_rate_by_batch(rates: pd.DataFrame) -> pd.Series:
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
