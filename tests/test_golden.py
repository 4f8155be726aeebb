"""The tables of the tiny workflow, byte for byte, against the committed ones in tests/golden/.

Columns of measured seconds are left out. A change that moves a number on purpose (the
statistics, a study, the engine) regenerates them with the command in ``REGENERATE``; the
reference results (``results/``) then need a rerun too (README, "How long it takes").
"""

import difflib
import os
from pathlib import Path

import pandas as pd
import pytest

GOLDEN = Path(__file__).parent / "golden" / "tables"
REGENERATE = "REGENERATE_GOLDEN=1 pytest -n 0 tests/test_golden.py"


def stable_text(path: Path) -> str:
    """A table's CSV text as written, less the columns of measured seconds (an empty table,
    one with no columns, as it is)."""
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        return path.read_text()
    measured = [c for c in frame.columns if "seconds" in c]
    return frame.drop(columns=measured).to_csv(index=False, lineterminator="\n")


def test_tables_of_the_tiny_run_are_the_golden_ones(tiny_run):
    produced = {p.name: stable_text(p) for p in sorted((tiny_run / "tables").glob("*.csv"))}
    if os.environ.get("REGENERATE_GOLDEN"):
        GOLDEN.mkdir(parents=True, exist_ok=True)
        for old in GOLDEN.glob("*.csv"):
            old.unlink()
        for name, text in produced.items():
            (GOLDEN / name).write_text(text)
        pytest.skip(f"regenerated {len(produced)} tables in {GOLDEN}: commit them")
    golden = {p.name: p.read_text() for p in sorted(GOLDEN.glob("*.csv"))}
    differ = sorted(n for n in produced.keys() | golden.keys() if produced.get(n) != golden.get(n))
    first = differ[0] if differ else ""
    diff = difflib.unified_diff(
        golden.get(first, "").splitlines(), produced.get(first, "").splitlines(), lineterm=""
    )
    assert not differ, (
        f"the tiny run's tables differ from {GOLDEN}: {', '.join(differ)}. If that is intended, "
        f"regenerate them with `{REGENERATE}`, commit tests/golden/, and rerun the reference "
        f"results (snakemake --cores all). First lines of the diff of {first}:\n"
        + "\n".join(list(diff)[:12])
    )
