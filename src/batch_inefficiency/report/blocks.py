"""Pieces of the report that every section uses: tables as HTML, embedded figures, counts."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from batch_inefficiency.figures.spec import FIGURES

# Tables with more columns than this are printed on landscape pages in report.pdf.
WIDE_TABLE_COLUMNS = 10


def table_html(frame: pd.DataFrame) -> str:
    """A compact HTML table (numbers to 4 significant digits); ``wide`` if it has many columns."""
    classes = ["table", "wide"] if frame.shape[1] > WIDE_TABLE_COLUMNS else "table"
    return frame.to_html(
        index=False, float_format=lambda v: f"{v:.4g}", na_rep="", border=0, classes=classes
    )


def embed_png(path: Path) -> str:
    """A PNG as a data URI."""
    return "data:image/png;base64," + base64.b64encode(Path(path).read_bytes()).decode()


def caption_text(caption: str) -> str:
    """A figure caption (reStructuredText) as one paragraph of plain text (the template
    escapes it)."""
    return " ".join(caption.split())


def section_figures(figures: Mapping[str, Path], section: str) -> list[tuple[str, str, str]]:
    """(title, embedded PNG, caption) of each figure of a report ``section`` that was drawn."""
    return [
        (spec.title, embed_png(figures[name]), caption_text(spec.caption))
        for name, spec in FIGURES.items()
        if spec.section == section and name in figures
    ]


def counted(n: int, singular: str, plural: str) -> str:
    """``1 task``, ``3 tasks``."""
    return f"{n} {singular if n == 1 else plural}"


def number_range(values: pd.Series) -> str:
    """``3.1`` or ``3.1 to 16`` (3 significant figures): the span of a per-task quantity."""
    low, high = values.min(), values.max()
    return f"{low:.3g}" if f"{low:.3g}" == f"{high:.3g}" else f"{low:.3g} to {high:.3g}"
