"""environment.yml describes the same environment as pyproject.toml."""

import tomllib

import yaml
from packaging.requirements import Requirement


def test_environment_yml_has_every_runtime_dependency(repo):
    pyproject = tomllib.loads((repo / "pyproject.toml").read_text())
    needed = {str(Requirement(r)) for r in pyproject["project"]["dependencies"]}
    environment = yaml.safe_load((repo / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in environment["dependencies"] if isinstance(d, dict))
    listed = {str(Requirement(r)) for r in pip_section if not r.startswith("-e")}
    assert needed <= listed, f"missing from environment.yml: {sorted(needed - listed)}"
    assert "python=3.11" in environment["dependencies"]
    assert "-e ." in pip_section  # the package itself


def test_torch_is_pinned(repo):
    pyproject = tomllib.loads((repo / "pyproject.toml").read_text())
    torch = [Requirement(r) for r in pyproject["project"]["dependencies"] if r.startswith("torch")]
    assert [str(t.specifier) for t in torch] == ["==2.13.0"]
