"""The report printed to PDF by WeasyPrint, where its system library (pango) is installed.

Apart from report.py so that the workflow can ask whether a PDF can be printed
(:func:`pdf_unavailable`, at every Snakemake start) without loading the report's
dependencies.
"""

from __future__ import annotations

from pathlib import Path

from batch_inefficiency.errors import UserError

PANGO_HINT = "install pango (Debian/Ubuntu: apt install libpango-1.0-0; macOS: brew install pango)"


def pdf_unavailable() -> str | None:
    """Why report.pdf cannot be printed on this machine, or None when it can."""
    try:
        import weasyprint  # noqa: F401  (loads pango through cffi)
    except (ImportError, OSError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        return f"WeasyPrint cannot load ({reason}); {PANGO_HINT}"
    return None


def write_pdf(html_path: Path, pdf_path: Path) -> None:
    """Print the HTML report to PDF (A4, the page's print styles)."""
    reason = pdf_unavailable()
    if reason is not None:
        raise UserError(f"cannot write {pdf_path}: {reason}")
    import weasyprint

    weasyprint.HTML(filename=str(html_path)).write_pdf(str(pdf_path))
