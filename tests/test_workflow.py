"""The Snakemake workflow: dry run of the full configuration, a tiny real run, validation."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import yaml

from batch_inefficiency.data import load_trial_data, prepare_trials
from batch_inefficiency.datasets import load_dataset

SNAKEMAKE = [sys.executable, "-m", "snakemake", "--cores", "1"]


def snakemake(*args, cwd):
    return subprocess.run([*SNAKEMAKE, *args], cwd=cwd, capture_output=True, text=True)


def tiny_config(tmp_path: Path, **overrides) -> Path:
    config = {
        "results": str(tmp_path / "results"),
        "seed": 5,
        "trials": 2,
        "datasets": {
            "root": "resources/datasets",
            "sheet": "config/datasets.tsv",
            "suite": "quick",
            "nominal": "ordinal",
        },
    } | overrides
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_dry_run_of_full_config_lists_every_paper_task(repo):
    result = snakemake("-n", "--quiet", "rules", cwd=repo)
    assert result.returncode == 0, result.stderr
    assert "prepare_split        27" in result.stdout or "prepare_split 27" in " ".join(
        result.stdout.split()
    )


def test_tiny_run_writes_the_splits_that_the_library_computes(repo, tmp_path):
    result = snakemake("--configfile", str(tiny_config(tmp_path)), cwd=repo)
    assert result.returncode == 0, result.stderr
    written = load_trial_data(tmp_path / "results" / "splits" / "iris.npz")
    direct = prepare_trials(load_dataset("iris", repo / "resources" / "datasets"), [0, 1], 5)
    assert written.trials == (0, 1)
    np.testing.assert_array_equal(written.x_train, direct.x_train)
    np.testing.assert_array_equal(written.y_test, direct.y_test)
    assert (tmp_path / "results" / "logs" / "prepare_split" / "letter.log").is_file()


def test_bad_config_stops_before_any_job_naming_the_key(repo, tmp_path):
    result = snakemake("-n", "--configfile", str(tiny_config(tmp_path, trials="ten")), cwd=repo)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "schema['properties']['trials']" in output
    assert "'ten' is not of type 'integer'" in output
    assert "Traceback" not in output
