"""The report's provenance and verdict wording, on synthetic run records and claims."""

import json

import pandas as pd

from batch_inefficiency.report.html import run_summary, short_verdicts
from batch_inefficiency.studies.scaling.report import sentence as scaling_sentence
from batch_inefficiency.studies.size_sweep.report import sentence as size_sweep_sentence


def run_json(path, host: str, cpu: str, commit: str) -> None:
    """A minimal run.json as the train rule writes it (docs/run_format.md)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    info = {
        "context": {"task": path.parent.name, "batch_size": "1"},
        "resolved": {
            "replicas": 4,
            "path": "fused",
            "device": "cpu",
            "dtype": "float32",
            "threads_torch": 1,
        },
        "timing": {"setup_seconds": 1.0, "train_seconds": 2.0},
        "environment": {
            "device_name": "NVIDIA H200",
            "git_commit": commit,
            "machine": {
                "host": host,
                "os": "Linux",
                "cpu": cpu,
                "cpu_count": 16,
                "python": "3.11.7",
            },
        },
    }
    path.write_text(json.dumps(info))


def test_provenance_names_the_machines_that_trained_not_the_one_writing(tmp_path):
    """Regression (issue 11): "Host" named the machine that wrote the report."""
    files = [tmp_path / t / "run.json" for t in ("a", "b", "c")]
    run_json(files[0], "node-1", "EPYC", "abc")
    run_json(files[1], "node-1", "EPYC", "abc")
    run_json(files[2], "node-2", "Xeon", "abc")
    runs, _, machines = run_summary(files)
    assert len(runs) == 3
    assert machines[["host", "cpu", "jobs"]].values.tolist() == [
        ["node-1", "EPYC", 2],
        ["node-2", "Xeon", 1],
    ]
    assert set(machines["device"]) == {"NVIDIA H200"} and set(machines["commit"]) == {"abc"}


def test_a_fragile_verdict_is_never_stated_without_saying_so():
    claims = pd.DataFrame(
        {
            "claim": ["C1", "C2"],
            "verdict": ["supported", "partly supported"],
            "stability": ["robust", "fragile: one-sided -> supported"],
        }
    )
    assert short_verdicts(claims) == (
        "C1: supported; C2: partly supported (fragile: 1 alternative disagrees)"
    )


def test_the_abstract_counts_fragile_verdicts_and_states_the_studies_numbers():
    claims = pd.DataFrame(
        {
            "claim": ["C1", "C2"],
            "verdict": ["supported", "partly supported"],
            "stability": ["robust", "fragile: a -> supported; b -> n/a (not computable: c; d)"],
        }
    )
    assert short_verdicts(claims) == (
        "C1: supported; C2: partly supported (fragile: 2 alternatives disagree)"
    )
    fit = pd.DataFrame({"b_crit": [12.2, 30.0, None], "ratio": [7.74, 2.74, None]})
    sentence = scaling_sentence(fit, pd.DataFrame({"verdict": ["partly supported"]}))
    assert "B_crit of 12.2 to 30 examples in 2 tasks" in sentence
    assert "B_simple is 2.74 to 7.74 times B_crit" in sentence
    sweep = pd.DataFrame(
        {
            "quantity": ["speed-up over full batch"] * 2,
            "rates": ["tuned", "grid"],
            "task": ["pooled", "pooled"],
            "slope": [0.58, 0.9],
            "ci_low": [0.4, 0.1],
            "ci_high": [0.76, 1.7],
        }
    )
    sentence = size_sweep_sentence(sweep, pd.DataFrame({"verdict": ["supported"]}))
    assert "size^0.58" in sentence and "0.40 to 0.76" in sentence
    assert sentence.endswith("C2 within tasks: supported).")
