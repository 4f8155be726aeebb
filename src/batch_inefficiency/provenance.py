"""What a run was computed with: versions, git commit, machine (docs/design.md §7).

Captured once per training call, in run.json's ``environment`` (engine/records.py);
the report reads it from there to name the machines that trained.
"""

from __future__ import annotations

import os
import platform
import subprocess
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

LIBRARIES = (
    "batch-inefficiency", "torch", "numpy", "numba", "triton", "scipy", "pandas", "snakemake",
)  # fmt: skip


def now() -> str:
    """The current UTC time, ISO 8601 to the second."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def library_versions() -> dict[str, str]:
    """Installed versions of the libraries that shape the numbers."""
    versions = {}
    for name in LIBRARIES:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = "not installed"
    return versions


# Outputs, not code: the workflow rewrites the committed reference results under results/,
# which must not mark the code as changed.
OUTPUTS = ":(exclude)results"


def git(directory: Path | None, *args: str) -> str:
    """A git command's output in ``directory`` (default: the working directory)."""
    return subprocess.run(
        ["git", *args],
        cwd=directory or Path.cwd(),
        capture_output=True,
        text=True,
        timeout=10,
        check=True,
    ).stdout.strip()


def git_commit(directory: Path | None = None) -> str:
    """The checked-out commit (``-dirty``: tracked files outside results/ changed), or unknown."""
    try:
        commit = git(directory, "rev-parse", "HEAD")
        changed = git(
            directory, "status", "--porcelain", "--untracked-files=no", "--", ".", OUTPUTS
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{commit}-dirty" if changed else commit


def cpu_model() -> str:
    """The processor's model name (Linux /proc/cpuinfo), else what ``platform`` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict[str, object]:
    """Host, OS, CPU model and count, Python version."""
    return {
        "host": platform.node(),
        "os": platform.platform(),
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
    }


def provenance() -> dict[str, object]:
    """Everything above in one record, for a run's metadata file."""
    return {"versions": library_versions(), "git_commit": git_commit(), "machine": machine()}
