"""Publication figures of the replication (docs/design.md §7).

One plain function per figure: it takes the tables the workflow already wrote (as
pandas DataFrames) and returns a matplotlib Figure; nothing here trains or re-derives
a measure that ``metrics``/``stats`` compute, so a figure rebuilds in seconds from
existing results. Every figure is declared once, in :data:`spec.FIGURES` (name,
function, inputs, options, title, caption). :func:`make_figure` is the file-level
entry point of the workflow's plot rule: it reads the named input CSVs, draws the
figure and writes a PDF and a 300-dpi PNG with fixed metadata, so building a figure
twice gives the same bytes.

Modules: style.py (the look, shared helpers, saving), large_task.py (the batch-size
experiment), across_tasks.py (speed-up and accuracy over tasks), illustration.py
(the paper's argument on a toy error surface), spec.py (the specification).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from matplotlib.figure import Figure

from .across_tasks import accuracy_online_vs_batch, speedup_vs_size
from .illustration import descent_paths, error_surface, error_surface_illustration
from .large_task import (
    best_rate_vs_batch_size,
    critical_difference,
    epochs_to_target_vs_batch_size,
    large_task_curves,
    large_task_grid,
)
from .spec import FIGURES, FigureSpec
from .style import NO_LARGE_TASK, read_table, save_figure

__all__ = [
    "FIGURES",
    "NO_LARGE_TASK",
    "FigureSpec",
    "accuracy_online_vs_batch",
    "best_rate_vs_batch_size",
    "critical_difference",
    "descent_paths",
    "epochs_to_target_vs_batch_size",
    "error_surface",
    "error_surface_illustration",
    "large_task_curves",
    "large_task_grid",
    "make_figure",
    "read_table",
    "save_figure",
    "speedup_vs_size",
]


def make_figure(
    name: str,
    inputs: Mapping[str, str | Path | Sequence[str | Path]],
    pdf: str | Path | None,
    png: str | Path | None,
    **options,
) -> Figure:
    """Read the named input CSVs, draw figure ``name`` (see :data:`FIGURES`), write both files.

    ``inputs`` keys are the figure's inputs (its DataFrame arguments, e.g. ``rates``,
    ``curves``); ``options`` its other keyword arguments (e.g. ``task``).
    """
    if name not in FIGURES:
        raise KeyError(f"unknown figure {name!r}; known: {', '.join(FIGURES)}")
    tables = {key: read_table(paths) for key, paths in inputs.items()}
    fig = FIGURES[name].draw(**tables, **options)
    save_figure(fig, pdf, png)
    return fig
