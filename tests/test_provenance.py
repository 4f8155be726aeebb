"""The git commit recorded with every run: code changes mark it dirty, outputs do not."""

import subprocess

from batch_inefficiency.provenance import git_commit


def test_rewritten_results_do_not_mark_the_code_dirty(tmp_path):
    """Regression: a reference run rewrites the committed results/, which read as -dirty."""
    for command in (
        ["init", "-q"],
        ["config", "user.email", "a@b.c"],
        ["config", "user.name", "a"],
    ):
        subprocess.run(["git", *command], cwd=tmp_path, check=True)
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "claims.csv").write_text("old\n")
    (tmp_path / "code.py").write_text("x = 1\n")
    subprocess.run(["git", "add", "."], cwd=tmp_path, check=True)
    subprocess.run(["git", "commit", "-qm", "c"], cwd=tmp_path, check=True)
    commit = git_commit(tmp_path)
    assert len(commit) == 40
    (tmp_path / "results" / "claims.csv").write_text("new\n")
    (tmp_path / "untracked.txt").write_text("")
    assert git_commit(tmp_path) == commit
    (tmp_path / "code.py").write_text("x = 2\n")
    assert git_commit(tmp_path) == f"{commit}-dirty"
    assert git_commit(tmp_path / "missing") == "unknown"
