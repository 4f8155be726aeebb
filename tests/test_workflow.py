"""The Snakemake workflow: dry run of the full configuration, a tiny real run, validation."""

import html
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from batch_inefficiency import report
from batch_inefficiency.data import load_trial_data, prepare_trials
from batch_inefficiency.datasets import load_dataset
from batch_inefficiency.errors import UserError
from batch_inefficiency.report import FIGURES, TABLES, pdf_unavailable

SNAKEMAKE = [sys.executable, "-m", "snakemake", "--cores", "1"]


def snakemake(*args, cwd):
    return subprocess.run([*SNAKEMAKE, *args], cwd=cwd, capture_output=True, text=True)


TRAINING = {
    "learning_rates": [0.5, 0.05],
    "epochs": [6, 9],
    "batch_sizes": ["1", "full"],
    "large_task_batch_sizes": ["1", "7", "full"],
    "reduction": "sum",
    "patience": None,
    "divergence_factor": 1000,
    "model": {
        "activation": "sigmoid",
        "loss": "squared_error",
        "init": "uniform",
        "init_scale": 0.1,
        "hidden": "twice_inputs",
    },
    "engine": {"device": "cpu", "dtype": "float32", "matmul_precision": "highest", "path": "auto"},
}

# The scaling study on the tiny suite: on-line and full batch, two trials, a few epochs.
SCALING = yaml.safe_load((Path(__file__).parents[1] / "config" / "config.yaml").read_text())[
    "scaling"
] | {
    "suite": "tiny",
    "trials": 2,
    "targets": {"iris": 0.6, "wine": 0.6},
    "batch_sizes": ["1", "full"],
    "max_epochs": 8,
    "max_widenings": 1,
    "step_seconds": 0.01,
}


def tiny_config(tmp_path: Path, results: str = "results", **overrides) -> Path:
    """Two tiny tasks (iris; wine as the large task), two trials, a few epochs."""
    sheet = tmp_path / "datasets.tsv"
    sheet.write_text("name\tsuites\trole\niris\ttiny\tstandard\nwine\ttiny\tlarge\n")
    config = {
        "results": str(tmp_path / results),
        "seed": 5,
        "trials": 2,
        "datasets": {
            "root": "resources/datasets",
            "sheet": str(sheet),
            "suite": "tiny",
            "nominal": "ordinal",
        },
        "training": TRAINING,
        "metrics": {"target_tolerance": 0.01},
        "scaling": SCALING,
        "statistics": {"alpha": 0.05, "equivalence_margin": 0.01, "bootstrap_seed": 1},
        "quick": True,
    } | overrides
    path = tmp_path / f"{results}.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_dry_run_of_full_config_lists_every_job(repo, tmp_path):
    """The default config into an empty results folder: the whole replication's job list."""
    result = snakemake("-n", "--quiet", "rules", "--config", f"results={tmp_path}", cwd=repo)
    assert result.returncode == 0, result.stderr
    counts = dict(re.findall(r"^(\w+)\s+(\d+)$", result.stdout, flags=re.MULTILINE))
    # 27 tasks of the paper suite, and magic and penbased of the scaling suite
    assert counts["prepare_split"] == "29" and counts["summarise_task"] == "27"
    assert counts["train"] == str(27 * 2 + 3)  # on-line and batch everywhere, 3 more on letter
    # the scaling study: powers of 4 then full on letter, magic, penbased (8 each), satimage,
    # segment (7 each) and vehicle (6); one noise scale and one step cost per task
    assert counts["search_rates"] == "44" and counts["noise_scale"] == counts["step_cost"] == "6"
    assert counts["write_report"] == "1"


@pytest.fixture(scope="module")
def tiny_run(repo, tmp_path_factory):
    """One uninterrupted run of the tiny configuration."""
    tmp_path = tmp_path_factory.mktemp("tiny")
    result = snakemake("--configfile", str(tiny_config(tmp_path)), cwd=repo)
    assert result.returncode == 0, result.stdout + result.stderr
    return tmp_path / "results"


def test_tiny_run_writes_the_splits_that_the_library_computes(repo, tiny_run):
    written = load_trial_data(tiny_run / "splits" / "iris.npz")
    direct = prepare_trials(load_dataset("iris", repo / "resources" / "datasets"), [0, 1], 5)
    assert written.trials == (0, 1)
    np.testing.assert_array_equal(written.x_train, direct.x_train)
    np.testing.assert_array_equal(written.y_test, direct.y_test)


def test_tables_agree_with_metrics_computed_from_the_records(tiny_run):
    tasks = pd.read_csv(tiny_run / "tables" / "tasks.csv").set_index("task")
    assert list(tasks.index) == ["iris", "wine"]  # ordered by training size
    assert tasks.loc["iris", "train_size"] == 90 and tasks.loc["wine", "inputs"] == 13
    for task in ("iris", "wine"):
        best = {}
        for batch in ("1", "full"):
            with np.load(tiny_run / "runs" / task / batch / "records.npz") as rec:
                hold, test, lr, budget = (rec[k] for k in ("hold_acc", "test_acc", "lr", "budget"))
            by_rate = {}
            for rate in np.unique(lr):
                runs = hold[lr == rate][:, : int(budget[lr == rate][0]) + 1]
                mean = runs.mean(axis=0)  # no replica stops before its budget here
                epoch = int(np.nanargmax(mean))
                by_rate[rate] = (mean[epoch], -epoch, test[lr == rate, epoch].mean(), epoch)
            rate = max(by_rate, key=lambda r: (*by_rate[r][:2], r))  # ties: the larger rate
            best[batch] = (rate, by_rate[rate][2], by_rate[rate][3])
        online, batch = best["1"], best["full"]
        row = tasks.loc[task]
        assert (row["online_lr"], row["batch_lr"]) == (online[0], batch[0])
        assert row["online_acc"] == pytest.approx(online[1])
        assert row["batch_acc"] == pytest.approx(batch[1])
        assert (row["online_epochs"], row["batch_epochs"]) == (online[2], batch[2])
        assert row["speedup"] == pytest.approx(max(batch[2], 1) / max(online[2], 1))
    grid = pd.read_csv(tiny_run / "tables" / "large_task_grid.csv", dtype={"batch_size": str})
    assert sorted(set(grid["batch_size"])) == ["1", "7", "full"]
    assert len(grid) == 3 * 2 and grid["best"].sum() == 3


def test_runs_record_provenance_and_progress(tiny_run):
    info = json.loads((tiny_run / "runs" / "wine" / "7" / "run.json").read_text())
    assert info["context"]["task"] == "wine" and info["context"]["batch_size"] == "7"
    assert info["environment"]["versions"]["torch"].startswith("2.13.0")
    assert info["started"] <= info["finished"]
    assert (tiny_run / "benchmarks" / "train" / "wine" / "7.tsv").is_file()
    log = (tiny_run / "logs" / "train" / "wine" / "7.log").read_text()
    assert "wine: 100%" in log and "9/9" in log  # the job's progress bar went to its log


def test_report_has_every_table_and_figure_and_no_unfilled_field(tiny_run):
    page = html.unescape((tiny_run / "report" / "report.html").read_text())
    assert page.count('<img src="data:image/png;base64,') == len(FIGURES)
    for title in [*TABLES.values(), *(spec.title for spec in FIGURES.values())]:
        assert title in page
    assert "Quick profile: not the replication" in page
    assert "{{ " not in page and "{%" not in page and "nan%" not in page
    claims = pd.read_csv(tiny_run / "tables" / "claims.csv")
    for evidence in claims["evidence"]:
        assert evidence in page


@pytest.mark.skipif(pdf_unavailable() is not None, reason=str(pdf_unavailable()))
def test_report_pdf_is_printed_with_every_figure(tiny_run):
    from pypdf import PdfReader

    reader = PdfReader(tiny_run / "report" / "report.pdf")
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert len(reader.pages) >= 5
    assert "a replication" in text and "Quick profile: not the replication" in text
    images = {image.data for page in reader.pages for image in page.images}
    assert len(images) == len(FIGURES)


def test_without_pango_the_pdf_is_left_out_with_a_note(repo, tmp_path, monkeypatch):
    monkeypatch.setattr(report, "pdf_unavailable", lambda: "WeasyPrint cannot load (test)")
    with pytest.raises(UserError, match=r"cannot write .*report.pdf: WeasyPrint cannot load"):
        report.write_pdf(tmp_path / "report.html", tmp_path / "report.pdf")
    env = os.environ | {"PYTHONPATH": str(tmp_path)}
    (tmp_path / "weasyprint.py").write_text("raise OSError('cannot load library pango')\n")
    result = subprocess.run(
        [*SNAKEMAKE, "-n", "--config", f"results={tmp_path / 'r'}"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "Note: report.pdf skipped: WeasyPrint cannot load (cannot load library pango)" in (
        result.stderr
    )
    assert "write_report" in result.stdout + result.stderr
    assert "write_report_pdf" not in result.stdout + result.stderr


def test_killed_run_resumes_to_the_same_tables(repo, tmp_path, tiny_run):
    config = tiny_config(tmp_path, results="killed", training=TRAINING | {"epochs": [6, 9]})
    command = [*SNAKEMAKE, "--configfile", str(config)]
    job = subprocess.Popen(
        command,
        cwd=repo,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    logs = tmp_path / "killed" / "logs" / "train"
    deadline = time.monotonic() + 120
    while not any(logs.rglob("*.log")) and time.monotonic() < deadline and job.poll() is None:
        time.sleep(0.05)
    os.killpg(job.pid, signal.SIGKILL)  # a hard kill, mid-training
    job.wait()
    assert not (tmp_path / "killed" / "tables" / "tasks.csv").exists()
    assert snakemake("--unlock", "--configfile", str(config), cwd=repo).returncode == 0
    resumed = snakemake("--configfile", str(config), cwd=repo)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    timing = ["seconds_needed"]
    for table in ("tasks.csv", "large_task_grid.csv"):
        expected = pd.read_csv(tiny_run / "tables" / table)
        got = pd.read_csv(tmp_path / "killed" / "tables" / table)
        pd.testing.assert_frame_equal(
            got.drop(columns=timing, errors="ignore"),
            expected.drop(columns=timing, errors="ignore"),
        )
    for task in ("iris", "wine"):
        expected = pd.read_csv(tiny_run / "metrics" / task / "trials.csv")
        got = pd.read_csv(tmp_path / "killed" / "metrics" / task / "trials.csv")
        pd.testing.assert_frame_equal(
            got.drop(columns="seconds_to_target"), expected.drop(columns="seconds_to_target")
        )


def test_bad_config_stops_before_any_job_naming_the_key(repo, tmp_path):
    result = snakemake("-n", "--configfile", str(tiny_config(tmp_path, trials="ten")), cwd=repo)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "schema['properties']['trials']" in output
    assert "'ten' is not of type 'integer'" in output
    assert "Traceback" not in output


def test_mismatched_budgets_stop_before_any_job(repo, tmp_path):
    training = TRAINING | {"epochs": [5]}
    result = snakemake(
        "-n", "--configfile", str(tiny_config(tmp_path, training=training)), cwd=repo
    )
    assert result.returncode != 0
    assert (
        "training.epochs has 1 budget(s) for 2 training.learning_rates"
        in result.stdout + result.stderr
    )


def test_scaling_study_writes_its_tables_claim_and_report_section(tiny_run):
    table = pd.read_csv(tiny_run / "tables" / "scaling.csv", dtype={"batch_size": str})
    assert list(zip(table["task"], table["batch_size"], strict=True)) == [
        ("iris", "1"), ("iris", "full"), ("wine", "1"), ("wine", "full")
    ]  # fmt: skip
    assert set(table["search"]) <= {"interior", "edge", "censored"} and (table["trials"] == 2).all()
    np.testing.assert_allclose(table["best_lr_mean"], table["best_lr_sum"] * table["batch_rows"])
    assert (table["seconds_per_step_cpu"] > 0).all()
    noise = pd.read_csv(tiny_run / "scaling" / "iris" / "noise_scale.csv")
    assert len(noise) == 2 and (noise["b_simple"] > 0).all()
    claim = pd.read_csv(tiny_run / "tables" / "scaling_claim.csv").iloc[0]
    assert claim["claim"] == "C5" and claim["verdict"] == "not computable"  # two tasks
    page = html.unescape((tiny_run / "report" / "report.html").read_text())
    assert "Beyond the paper" in page and claim["evidence"] in page


def test_a_target_above_the_best_accuracy_seen_is_refused_naming_the_key(repo, tmp_path):
    seen = tmp_path / "seen.tsv"
    seen.write_text("task\tbest_hold_acc\tsource\niris\t0.9\ttest\n")
    scaling = SCALING | {"accuracy_seen": str(seen), "targets": {"iris": 0.95, "wine": 0.6}}
    result = snakemake("-n", "--configfile", str(tiny_config(tmp_path, scaling=scaling)), cwd=repo)
    assert result.returncode != 0
    assert "scaling.targets.iris = 0.95 is above the best hold-out accuracy seen on iris" in (
        result.stdout + result.stderr
    )
