"""requirements.lock pins pyproject.toml's dependencies; the running versions are checked."""

from __future__ import annotations

import io
import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from batch_inefficiency.pipeline import locked_versions
from batch_inefficiency.pipeline.locked_versions import (
    lock_path,
    read_lock,
    version_differences,
    warn_if_versions_differ,
)

# The lock is for Linux x86-64 and Python 3.11, where every marker of pyproject.toml holds.
LOCKED_PLATFORM = {"sys_platform": "linux", "platform_machine": "x86_64", "python_version": "3.11"}


def direct_dependencies(repo: Path) -> list[Requirement]:
    """pyproject.toml's dependencies and its test extra's."""
    project = tomllib.loads((repo / "pyproject.toml").read_text())["project"]
    test_extra = project["optional-dependencies"]["test"]
    return [Requirement(r) for r in project["dependencies"] + test_extra]


def pin_lines(lock: Path) -> list[str]:
    """The lock's lines that are neither comments nor blank."""
    lines = (line.strip() for line in lock.read_text().splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def write_lock(directory: Path, *pins: str) -> Path:
    """A lock file holding ``pins``, the way pip-compile writes them."""
    lock = directory / "requirements.lock"
    lock.write_text("# a test's lock\n" + "".join(f"{pin}\n    # via test\n" for pin in pins))
    return lock


def test_lock_parses_one_exact_pin_per_package(repo):
    lock = repo / "requirements.lock"
    pins = read_lock(lock)
    lines = pin_lines(lock)
    assert len(pins) == len(lines) > 50  # every line is name==version, no package twice
    assert all(canonicalize_name(name) == name for name in pins)
    assert all("+" not in locked for locked in pins.values())  # no local labels (+cpu)


def test_every_direct_dependency_is_locked_within_its_range(repo):
    pins = read_lock(repo / "requirements.lock")
    for requirement in direct_dependencies(repo):
        assert requirement.marker is None or requirement.marker.evaluate(LOCKED_PLATFORM)
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is a dependency in pyproject.toml, not in the lock"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"the lock's {name}=={pins[name]} is outside pyproject.toml's {requirement}"
        )


def test_lock_pins_torch_without_a_local_label_and_has_packaging(repo):
    # torch==2.13.0 takes the local CPU wheel (2.13.0+cpu) and PyPI's wheel alike.
    assert "torch==2.13.0" in pin_lines(repo / "requirements.lock")
    # locked_versions compares with packaging, which the runtime dependencies bring.
    assert "packaging" in read_lock(repo / "requirements.lock")


def test_lock_header_says_how_to_regenerate_it(repo):
    header = (repo / "requirements.lock").read_text().split("\n\n", 1)[0]
    assert "pip-compile --allow-unsafe --extra=test --strip-extras" in header
    assert "--output-file=requirements.lock pyproject.toml" in header
    assert "pip install -c requirements.lock" in header


def test_read_lock_rejects_a_range(tmp_path):
    with pytest.raises(ValueError, match="not pinned"):
        read_lock(write_lock(tmp_path, "numpy>=1.26"))


def test_lock_path_is_the_checkouts(repo):
    assert lock_path() == repo / "requirements.lock"


def test_a_differing_version_is_reported(tmp_path):
    lock = write_lock(tmp_path, "numpy==0.0.1", f"packaging=={version('packaging')}")
    assert version_differences(lock) == {"numpy": (version("numpy"), "0.0.1")}


def test_equal_versions_are_not_reported(tmp_path):
    lock = write_lock(
        tmp_path,
        f"numpy=={version('numpy')}",
        f"PyYAML=={version('pyyaml')}",  # names compare normalised (PEP 503)
        f"scikit_posthocs=={version('scikit-posthocs')}",
        f"torch=={version('torch').split('+')[0]}",  # the local label (+cpu) is ignored
        "no-such-package-anywhere==1.0",  # not installed: not compared
    )
    assert version_differences(lock) == {}
    stream = io.StringIO()
    assert not warn_if_versions_differ(lock, stream)
    assert stream.getvalue() == ""


def test_the_checkouts_lock_is_compared_by_default(tmp_path, monkeypatch):
    write_lock(tmp_path, "numpy==0.0.1")
    (tmp_path / "pyproject.toml").write_text("")
    monkeypatch.setattr(locked_versions, "ROOT", tmp_path)
    assert version_differences() == {"numpy": (version("numpy"), "0.0.1")}


def test_the_warning_is_one_line(tmp_path, capsys):
    same = f"packaging=={version('packaging')}"
    lock = write_lock(tmp_path, "numpy==0.0.1", "scipy==0.0.2", same)
    assert warn_if_versions_differ(lock)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        f"warning: installed versions differ from requirements.lock (numpy {version('numpy')}"
        f" vs 0.0.1, scipy {version('scipy')} vs 0.0.2); results may differ in their last bits"
        " from the reference run\n"
    )


def test_many_differences_still_make_one_line(repo, tmp_path):
    names = sorted(read_lock(repo / "requirements.lock"))
    stream = io.StringIO()
    assert warn_if_versions_differ(write_lock(tmp_path, *(f"{n}==0.0.1" for n in names)), stream)
    assert stream.getvalue().count("\n") == 1
    assert " more); results may differ" in stream.getvalue()


def test_an_unreadable_lock_warns_in_one_line(tmp_path):
    stream = io.StringIO()
    assert warn_if_versions_differ(write_lock(tmp_path, "numpy>=1"), stream)
    assert stream.getvalue().startswith("warning: requirements.lock could not be read")
    assert stream.getvalue().count("\n") == 1


def test_no_lock_says_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(locked_versions, "ROOT", tmp_path)  # an installed package: no lock
    assert lock_path() is None
    assert version_differences() == {}
    assert not warn_if_versions_differ()
    assert capsys.readouterr().err == ""
