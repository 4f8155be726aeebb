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
(the paper's argument on a toy error surface), scaling.py and size_sweep.py (the
studies beyond the paper), spec.py (the specification). Importing the package loads
only the specification (no matplotlib), so the workflow reads it cheaply at start.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from .spec import FIGURES, FigureSpec

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["FIGURES", "FigureSpec", "make_figure"]


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
    from .style import read_table, save_figure  # matplotlib: loaded only to draw

    if name not in FIGURES:
        raise KeyError(f"unknown figure {name!r}; known: {', '.join(FIGURES)}")
    tables = {key: read_table(paths) for key, paths in inputs.items()}
    fig = FIGURES[name].draw(**tables, **options)
    save_figure(fig, pdf, png)
    return fig
