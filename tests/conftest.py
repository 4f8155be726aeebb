"""Shared fixtures: the repository root and the committed data sets."""

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def repo() -> Path:
    """The repository root."""
    return REPO


@pytest.fixture(scope="session")
def datasets_root() -> Path:
    """The committed vendored data sets."""
    return REPO / "resources" / "datasets"
