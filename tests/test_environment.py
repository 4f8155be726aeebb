"""environment.yml describes the same environment as pyproject.toml and requirements.lock."""

import tomllib

import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from batch_inefficiency.pipeline.locked_versions import read_lock


def pip_section(repo) -> list[str]:
    """environment.yml's pip entries."""
    environment = yaml.safe_load((repo / "environment.yml").read_text())
    return next(d["pip"] for d in environment["dependencies"] if isinstance(d, dict))


def listed_requirements(repo) -> list[Requirement]:
    """environment.yml's pip requirements, without its options (-c, -e)."""
    return [Requirement(r) for r in pip_section(repo) if not r.startswith("-")]


def test_environment_yml_has_every_runtime_dependency(repo):
    pyproject = tomllib.loads((repo / "pyproject.toml").read_text())
    needed = {str(Requirement(r)) for r in pyproject["project"]["dependencies"]}
    listed = {str(r) for r in listed_requirements(repo)}
    assert needed <= listed, f"missing from environment.yml: {sorted(needed - listed)}"
    environment = yaml.safe_load((repo / "environment.yml").read_text())
    assert "python=3.11" in environment["dependencies"]
    assert "-e ." in pip_section(repo)  # the package itself


def test_environment_yml_installs_with_the_lock_as_constraints(repo):
    # conda writes the pip entries to a requirements file beside environment.yml, so the
    # constraint's path is relative to the repository root, like -e . is.
    assert pip_section(repo)[0] == "-c requirements.lock"
    assert (repo / "requirements.lock").is_file()


def test_environment_yml_agrees_with_the_lock(repo):
    locked = read_lock(repo / "requirements.lock")
    for requirement in listed_requirements(repo):
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{name} is in environment.yml, not in requirements.lock"
        assert requirement.specifier.contains(locked[name], prereleases=True), (
            f"environment.yml's {requirement} excludes the locked {name}=={locked[name]}"
        )
        for specifier in requirement.specifier:
            if specifier.operator == "==":  # a version environment.yml names is the lock's
                assert specifier.version == locked[name], (requirement, locked[name])


def test_torch_is_pinned(repo):
    pyproject = tomllib.loads((repo / "pyproject.toml").read_text())
    torch = [Requirement(r) for r in pyproject["project"]["dependencies"] if r.startswith("torch")]
    assert [str(t.specifier) for t in torch] == ["==2.13.0"]
