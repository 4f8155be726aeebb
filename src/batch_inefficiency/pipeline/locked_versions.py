"""The running library versions against requirements.lock, the reference run's exact versions.

requirements.lock (pip-compile, at the repository root) pins every package that
``pip install -e ".[test]"`` installs. Other versions can change results in their last bits,
so the workflow says so, in one line, at its start: :func:`warn_if_versions_differ`.
Only a source checkout (an editable install) has the lock; an installed package says nothing.
"""

from __future__ import annotations

import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TextIO

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

LOCK_NAME = "requirements.lock"
# The repository root, where a source checkout keeps the lock beside pyproject.toml.
ROOT = Path(__file__).resolve().parents[3]
# The most differences the warning names; the rest it counts.
SHOWN = 10


def lock_path() -> Path | None:
    """The checkout's requirements.lock, or None (an installed, non-editable package)."""
    lock = ROOT / LOCK_NAME
    return lock if lock.is_file() and (ROOT / "pyproject.toml").is_file() else None


def read_lock(path: Path) -> dict[str, str]:
    """The lock's pins, canonical name (PEP 503) to version; comments and options skipped.

    Raises ValueError for a line that is not ``name==version``.
    """
    pins = {}
    for number, raw in enumerate(path.read_text().splitlines(), start=1):
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith(("#", "-")):
            continue
        try:
            requirement = Requirement(line)
        except InvalidRequirement as error:
            raise ValueError(f"{path}:{number}: {error}") from error
        specifiers = list(requirement.specifier)
        if len(specifiers) != 1 or specifiers[0].operator != "==":
            raise ValueError(f"{path}:{number}: not pinned with ==: {line}")
        pins[canonicalize_name(requirement.name)] = specifiers[0].version
    return pins


def public(text: str) -> Version | str:
    """A version without its local label (``2.13.0+cpu`` -> ``2.13.0``), as a Version."""
    try:
        return Version(Version(text).public)
    except InvalidVersion:
        return text.split("+", 1)[0]


def installed_version(name: str) -> str | None:
    """The installed version of a distribution, or None where it is not installed."""
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def version_differences(path: Path | None = None) -> dict[str, tuple[str, str]]:
    """Installed packages of the lock at other versions: name to (installed, locked).

    ``path`` defaults to the checkout's lock; without one, there is nothing to compare.
    Packages of the lock that are not installed (the test extra, say) are left out, and
    local version labels (``+cpu``) are ignored.
    """
    path = path or lock_path()
    if path is None:
        return {}
    differences = {}
    for name, locked in sorted(read_lock(path).items()):
        running = installed_version(name)
        if running is not None and public(running) != public(locked):
            differences[name] = (running, locked)
    return differences


def difference_message(differences: dict[str, tuple[str, str]]) -> str:
    """The one-line warning for some differences."""
    shown = [f"{name} {running} vs {locked}" for name, (running, locked) in differences.items()]
    if len(shown) > SHOWN:
        shown = [*shown[:SHOWN], f"and {len(shown) - SHOWN} more"]
    return (
        f"warning: installed versions differ from {LOCK_NAME} ({', '.join(shown)}); "
        "results may differ in their last bits from the reference run"
    )


def warn_if_versions_differ(path: Path | None = None, stream: TextIO | None = None) -> bool:
    """Warn in one line on stderr where installed versions differ from the lock.

    Silent where they agree or where there is no lock. Returns whether it warned.
    """
    try:
        differences = version_differences(path)
    except (OSError, ValueError) as error:
        message = f"warning: {LOCK_NAME} could not be read ({error}); versions not checked"
    else:
        if not differences:
            return False
        message = difference_message(differences)
    print(" ".join(message.split()), file=stream or sys.stderr)
    return True
