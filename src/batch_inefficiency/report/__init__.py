"""The paper-style report: HTML from the run's tables and figures, printed to PDF."""
