"""The Snakemake workflow: dry run of the full configuration, a tiny real run, validation."""

import html
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from batch_inefficiency.data.datasets import load_dataset
from batch_inefficiency.data.splits import load_trial_data, prepare_trials, write_splits
from batch_inefficiency.errors import UserError
from batch_inefficiency.figures.spec import FIGURES
from batch_inefficiency.report import pdf
from batch_inefficiency.report.html import TABLES
from batch_inefficiency.report.pdf import pdf_unavailable

SNAKEMAKE = [sys.executable, "-m", "snakemake", "--cores", "1"]
KILL_TABLES = ("tasks.csv", "large_task_grid.csv")  # what a killed run is compared on
STATISTICS_TABLES = ("tasks.csv", "tests.csv", "claims.csv", "verdict_stability.csv")


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


# The size sweep on iris alone: three sizes, two trials, a few epochs.
SIZE_SWEEP = yaml.safe_load((Path(__file__).parents[1] / "config" / "config.yaml").read_text())[
    "size_sweep"
] | {
    "suite": "sweep",
    "trials": 2,
    "sizes": [30, 60, "full"],
    "mini_batch": "8",
    "calibration_epochs": 5,
    "max_epochs": 8,
    "max_widenings": 1,
}


# The generalization study on iris alone: on-line and full batch, two trials, short runs,
# no weight-decay arm and no curve figure task.
GENERALIZATION = yaml.safe_load((Path(__file__).parents[1] / "config" / "config.yaml").read_text())[
    "generalization"
] | {
    "suite": "sweep",
    "trials": 2,
    "batch_sizes": ["1", "full"],
    "max_widenings": 1,
    "search_epochs": 8,
    "cap": 20000,
    "weight_decays": [],
    "curve_tasks": [],
}


# The optimizer study on the tiny suite: on-line and full batch, plain SGD and Adam, two trials,
# a few epochs.
OPTIMIZERS = yaml.safe_load((Path(__file__).parents[1] / "config" / "config.yaml").read_text())[
    "optimizers"
] | {
    "suite": "tiny",
    "curvature_trials": 1,
    "trials": 2,
    "batch_sizes": ["1", "full"],
    "max_epochs": 8,
    "max_widenings": 1,
    "run": ["sgd", "adam"],
}


def tiny_config(tmp_path: Path, results: str = "results", **overrides) -> Path:
    """Two tiny tasks (iris; wine as the large task), two trials, a few epochs."""
    sheet = tmp_path / "datasets.tsv"
    sheet.write_text("name\tsuites\trole\niris\ttiny,sweep\tstandard\nwine\ttiny\tlarge\n")
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
        "size_sweep": SIZE_SWEEP,
        "generalization": GENERALIZATION,
        "optimizers": OPTIMIZERS,
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
    # the size sweep: a target and three methods on letter, magic and penbased
    assert counts["size_sweep_target"] == "3" and counts["size_sweep_runs"] == "9"
    assert counts["write_report"] == "1"


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
        split = load_trial_data(tiny_run / "splits" / f"{task}.npz")
        pairs = zip(split.y_train, split.y_hold, strict=True)
        majority = np.mean([np.mean(h == np.bincount(t).argmax()) for t, h in pairs])
        rates = pd.read_csv(tiny_run / "metrics" / task / "rates.csv", dtype={"batch_size": str})
        best = {}
        for batch in ("1", "full"):
            with np.load(tiny_run / "runs" / task / batch / "records.npz") as rec:
                hold, test, lr, budget = (rec[k] for k in ("hold_acc", "test_acc", "lr", "budget"))
            by_rate = {}
            for rate in np.unique(lr):
                runs = hold[lr == rate][:, : int(budget[lr == rate][0]) + 1]
                mean = runs.mean(axis=0)  # no replica stops before its budget here
                epoch = int(np.nanargmax(mean))
                stalled = rates[(rates["batch_size"] == batch) & np.isclose(rates["lr"], rate)]
                learned = mean[epoch] > majority + 0.01
                typical = stalled["stalled_share"].iloc[0] < 0.5  # the stalled rule: test_metrics
                needed = epoch if learned and typical else int(budget[lr == rate][0])
                by_rate[rate] = (mean[epoch], -needed, test[lr == rate, epoch].mean(), needed)
            rate = max(by_rate, key=lambda r: (*by_rate[r][:2], r))  # ties: the larger rate
            # finished: learned, and peaked before 95% of its budget (docs/statistics.md)
            done = by_rate[rate][3] < 0.95 * int(budget[lr == rate][0])
            best[batch] = (rate, by_rate[rate][2], by_rate[rate][3], done)
        online, batch = best["1"], best["full"]
        row = tasks.loc[task]
        assert row["majority_share"] == pytest.approx(majority)
        assert (row["online_lr"], row["batch_lr"]) == (online[0], batch[0])
        assert row["online_acc"] == pytest.approx(online[1])
        assert row["batch_acc"] == pytest.approx(batch[1])
        assert (row["online_epochs"], row["batch_epochs"]) == (online[2], batch[2])
        assert (row["online_finished"], row["batch_finished"]) == (online[3], batch[3])
        word = {(True, True): "", (False, True): "at least", (True, False): "at most"}
        expected = word.get((batch[3], online[3]), "unknown")
        assert str(row["speedup_bound"]).replace("nan", "") == expected
        if expected != "unknown":
            assert row["speedup"] == pytest.approx(max(batch[2], 1) / max(online[2], 1))
        else:
            assert np.isnan(row["speedup"])
    grid = pd.read_csv(tiny_run / "tables" / "large_task_grid.csv", dtype={"batch_size": str})
    assert sorted(set(grid["batch_size"])) == ["1", "7", "full"]
    assert len(grid) == 3 * 2 and grid["best"].sum() == 3


def test_statistics_rerun_from_the_metrics_alone(repo, tmp_path, tiny_run):
    """With the metrics and no run file (what the committed reference results keep), asked
    for, the statistics and the studies' tables come out identical, and nothing is trained;
    not asked for, the tasks are retrained."""
    shutil.copytree(tiny_run / "metrics", tmp_path / "given" / "metrics")
    committed = [  # what the committed reference results keep of each study
        "tables/size_sweep*", "tables/scaling*", "scaling/*/*/search.json",
        "scaling/*/*/rates.csv", "scaling/*/*/trials.csv", "generalization/*/points.csv",
        "optimizers/*/*/*/search.json", "optimizers/*/*/*/rates.csv",
        "optimizers/*/*/*/trials.csv", "optimizers/*/curvature.csv",
    ]  # fmt: skip
    for pattern in committed:
        for file in tiny_run.glob(pattern):
            copy = tmp_path / "given" / file.relative_to(tiny_run)
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(file, copy)
    config = tiny_config(tmp_path, results="given")
    target = str(tmp_path / "given" / "tables" / "claims.csv")
    dry = snakemake(target, "--configfile", str(config), "-n", cwd=repo)
    assert dry.returncode == 0 and "taken as given" not in dry.stderr  # by default: retrain
    assert re.search(r"^train +\d+$", dry.stdout, re.MULTILINE), dry.stdout
    result = snakemake(
        target, "--configfile", str(config), "--config", "statistics_from_metrics=True", cwd=repo
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "metrics of 2 task(s) taken as given" in result.stderr
    assert not (tmp_path / "given" / "runs").exists()
    assert "size sweep study's tables taken as given" in result.stderr
    assert not (tmp_path / "given" / "size_sweep").exists()
    for study in ("generalization", "optimizer"):
        assert f"the {study} study's metrics taken as given" in result.stderr
    assert not list((tmp_path / "given").glob("**/*weights.npz"))  # nothing trained
    study_tables = ("generalization.csv", "optimizers.csv", "optimizers_curvature.csv")
    for table in (*STATISTICS_TABLES, *study_tables):
        expected = pd.read_csv(tiny_run / "tables" / table)
        got = pd.read_csv(tmp_path / "given" / "tables" / table)
        pd.testing.assert_frame_equal(got, expected)


def test_runs_record_provenance_and_progress(tiny_run):
    info = json.loads((tiny_run / "runs" / "wine" / "7" / "run.json").read_text())
    assert info["context"]["task"] == "wine" and info["context"]["batch_size"] == "7"
    assert info["environment"]["versions"]["torch"].startswith("2.13.0")
    assert info["started"] <= info["finished"]
    assert (tiny_run / "benchmarks" / "train" / "wine" / "7.tsv").is_file()
    log = (tiny_run / "logs" / "train" / "wine" / "7.log").read_text()
    assert "wine: 100%" in log and "9/9" in log  # the job's progress bar went to its log


def test_report_has_every_table_and_figure_and_no_unfilled_field(tiny_run):
    raw = (tiny_run / "report" / "report.html").read_text()
    assert "&amp;#" not in raw and "&amp;amp;" not in raw  # nothing escaped twice
    page = html.unescape(raw)
    assert page.count('<img src="data:image/png;base64,') == len(FIGURES)
    for title in [*TABLES.values(), *(spec.title for spec in FIGURES.values())]:
        assert title in page
    for spec in FIGURES.values():  # captions as written, apostrophes and all
        assert " ".join(spec.caption.split()) in page
    assert "Quick profile: not the replication" in page
    assert "{{ " not in page and "{%" not in page and "nan%" not in page
    claims = pd.read_csv(tiny_run / "tables" / "claims.csv")
    for evidence in claims["evidence"]:
        assert evidence in page
    for row in claims.fillna("").itertuples():  # no verdict without its stability
        within = f"<br><em>within tasks:</em> {row.within_task_verdict}" * bool(
            row.within_task_verdict
        )
        assert f'<td class="verdict">{row.verdict}{within}</td><td>{row.stability}</td>' in page
    info = json.loads((tiny_run / "runs" / "iris" / "1" / "run.json").read_text())
    assert f"<td>{info['environment']['git_commit']}</td>" in page  # the training commit


@pytest.mark.skipif(pdf_unavailable() is not None, reason=str(pdf_unavailable()))
def test_report_pdf_is_printed_with_every_figure(tiny_run):
    from pypdf import PdfReader

    reader = PdfReader(tiny_run / "report" / "report.pdf")
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert len(reader.pages) >= 5
    assert "a replication" in text and "Quick profile: not the replication" in text
    images = {  # the PDF's image objects (decoding them all took a minute)
        ref.idnum
        for page in reader.pages
        for ref in page["/Resources"].get("/XObject", {}).values()
        if ref.get_object().get("/Subtype") == "/Image"
    }
    assert len(images) == len(FIGURES)


def test_without_pango_the_pdf_is_left_out_with_a_note(repo, tmp_path, monkeypatch):
    monkeypatch.setattr(pdf, "pdf_unavailable", lambda: "WeasyPrint cannot load (test)")
    with pytest.raises(UserError, match=r"cannot write .*report.pdf: WeasyPrint cannot load"):
        pdf.write_pdf(tmp_path / "report.html", tmp_path / "report.pdf")
    path = os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")]))
    env = os.environ | {"PYTHONPATH": path}  # the fake weasyprint first
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


# Imported by every Python process that has it on PYTHONPATH: in the first summarise_task
# job it writes half of that job's second table and SIGKILLs the job and Snakemake with it.
KILL_MID_WRITE = """
import os, signal, sys
if any(arg.endswith("summarise_task.py") for arg in sys.argv):
    import pandas as pd
    original, calls = pd.DataFrame.to_csv, []
    def to_csv(self, path=None, *args, **kwargs):
        calls.append(path)
        if len(calls) < 2:
            return original(self, path, *args, **kwargs)
        text = original(self, None, *args, **kwargs)
        with open(path, "w") as half:
            half.write(text[: len(text) // 2])
            half.flush()
            os.killpg(os.getpgrp(), signal.SIGKILL)
    pd.DataFrame.to_csv = to_csv
"""


def test_killed_run_resumes_to_the_same_tables(repo, tmp_path, tiny_run):
    """SIGKILL mid-write: every output of the job is there, one half written; the rerun
    (after --unlock, as the README says) redoes that job and gives the same tables. Both
    runs stop at the tables (the kill and what it damages come before them)."""
    config = tiny_config(tmp_path, results="killed", training=TRAINING | {"epochs": [6, 9]})
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(KILL_MID_WRITE)
    path = os.pathsep.join(filter(None, [str(hook), os.environ.get("PYTHONPATH")]))
    targets = [str(tmp_path / "killed" / "tables" / table) for table in KILL_TABLES]
    job = subprocess.run(
        [*SNAKEMAKE, *targets, "--configfile", str(config)],
        cwd=repo,
        env=os.environ | {"PYTHONPATH": path},
        capture_output=True,
        start_new_session=True,
    )
    assert job.returncode == -signal.SIGKILL
    (half,) = (tmp_path / "killed" / "metrics").glob("*/trials.csv")
    assert (half.parent / "rates.csv").is_file()  # all of the job's outputs exist...
    whole = tiny_run / "metrics" / half.parent.name / "trials.csv"
    assert 0 < len(half.read_text()) < len(whole.read_text())  # ...one of them half written
    assert not (tmp_path / "killed" / "tables" / "tasks.csv").exists()
    assert snakemake("--unlock", "--configfile", str(config), cwd=repo).returncode == 0
    resumed = snakemake(*targets, "--configfile", str(config), cwd=repo)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    for table in KILL_TABLES:
        expected = pd.read_csv(tiny_run / "tables" / table)
        got = pd.read_csv(tmp_path / "killed" / "tables" / table)
        pd.testing.assert_frame_equal(got, expected)
    for task in ("iris", "wine"):  # no wall-clock column: the metrics files are byte-identical
        for name in ("rates.csv", "trials.csv"):
            expected = tiny_run / "metrics" / task / name
            assert (
                tmp_path / "killed" / "metrics" / task / name
            ).read_bytes() == expected.read_bytes()


def error_lines(result):
    """The lines of a command's output that report an error, and whether a traceback shows."""
    output = result.stdout + result.stderr
    lines = [line for line in output.splitlines() if re.search(r"error", line, re.IGNORECASE)]
    return lines, "Traceback" in output


@pytest.mark.parametrize(
    ("overrides", "line"),
    [
        ({"trials": "ten"}, "error: config key trials: 'ten' is not of type 'integer'"),
        (
            {"training": TRAINING | {"epochs": [5]}},
            "error: training.epochs has 1 budget(s) for 2 training.learning_rates; give one "
            "budget per rate, in the same order",
        ),
    ],
    ids=["trials", "budgets"],
)
def test_bad_config_stops_before_any_job_in_one_line_naming_the_key(
    repo, tmp_path, overrides, line
):
    result = snakemake("-n", "--configfile", str(tiny_config(tmp_path, **overrides)), cwd=repo)
    assert result.returncode == 2
    assert error_lines(result) == ([line], False)


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
def test_job_that_fails_on_a_user_mistake_prints_one_line(repo, tmp_path):
    """`device: cuda` without CUDA cannot be refused at config time (a cluster's login node
    may have no GPU); the training job says so in one line, with no traceback."""
    training = TRAINING | {"engine": TRAINING["engine"] | {"device": "cuda"}}
    config = tiny_config(tmp_path, training=training)
    split = tmp_path / "results" / "splits" / "iris.npz"
    split.parent.mkdir(parents=True)
    write_splits("iris", repo / "resources" / "datasets", 2, 5, "ordinal", split)
    result = snakemake(
        str(split.parent.parent / "runs/iris/1/run.json"), "--configfile", str(config), cwd=repo
    )
    assert result.returncode != 0
    lines, traceback = error_lines(result)
    assert not traceback
    assert "error: device 'cuda' requested but torch.cuda.is_available() is False" in lines
    assert "Error in rule train:" in lines
    assert "prepare_split" not in result.stdout + result.stderr  # only the training job ran


def test_full_disk_fails_the_job_naming_the_cause(repo, tmp_path, small_disk):
    """Results on a 16 KiB tmpfs: the split of wine does not fit."""
    config = tiny_config(tmp_path)
    results = small_disk / "results"
    config.write_text(
        yaml.safe_dump(yaml.safe_load(config.read_text()) | {"results": str(results)})
    )
    result = snakemake(str(results / "splits" / "wine.npz"), "--configfile", str(config), cwd=repo)
    assert result.returncode != 0
    lines, traceback = error_lines(result)
    assert not traceback
    assert (
        f"error: {results / 'splits' / 'wine.npz'}: no space left on device; free space on "
        "that disk, then run again"
    ) in lines
    assert [p.name for p in results.rglob("*") if p.is_file()] == ["wine.log"]  # no partial split


# What a clone holds that the workflow reads (the package comes from the environment).
WORKFLOW_FILES = ("Snakefile", "environment.yml", "workflow", "config", "resources", "profiles")


def test_readme_steps_add_a_data_set_that_the_workflow_runs(repo, tmp_path):
    """The README's "Adding a data set" commands, run as written on a fresh copy with a plain
    CSV (class first); the workflow then trains on it (short budgets, up to its metrics)."""
    clone = tmp_path / "clone"
    clone.mkdir()
    for name in WORKFLOW_FILES:
        copy = shutil.copytree if (repo / name).is_dir() else shutil.copy2
        copy(repo / name, clone / name)
    rng = np.random.default_rng(0)
    digits = pd.DataFrame(
        rng.normal(size=(60, 4)) + np.arange(60)[:, None] % 3, columns=list("wxyz")
    )
    digits.insert(0, "class", [f"d{i % 3}" for i in range(60)])
    home = tmp_path / "home"
    home.mkdir()
    digits.to_csv(home / "digits.csv", index=False)
    short = tmp_path / "short.yaml"
    short.write_text(
        yaml.safe_dump({"trials": 2, "training": {"learning_rates": [0.5, 0.05], "epochs": [6, 9]}})
    )
    readme = (repo / "README.md").read_text()
    steps = re.search(r"\*\*Adding a data set\*\*.*?```bash\n(.*?)```", readme, re.DOTALL).group(1)
    commands = [line.split("  #")[0].strip() for line in steps.strip().splitlines()]
    assert [c.split()[0] for c in commands] == ["cp", "python", "printf", "snakemake"]
    target = "results/metrics/digits/rates.csv"
    for command in commands:
        command = command.replace("NAME", "digits").replace("~/", f"{home}/")
        command = re.sub(r"^python ", f"{sys.executable} ", command)
        command = re.sub(
            r"^snakemake --cores all ",
            f"{sys.executable} -m snakemake {target} --cores 2 --configfile {short} ",
            command,
        )
        done = subprocess.run(command, shell=True, cwd=clone, capture_output=True, text=True)
        assert done.returncode == 0, command + "\n" + done.stdout + done.stderr
        if " datasets add " in command:
            assert done.stdout.startswith("added digits: 60 instances, 4 inputs, 3 classes")
    manifest = pd.read_csv(clone / "resources/datasets/manifest.csv").set_index("name")
    assert manifest.loc["digits", "file"] == "digits.csv"
    rates = pd.read_csv(clone / target, dtype={"batch_size": str})
    assert sorted(set(rates["batch_size"])) == ["1", "full"] and rates["best"].sum() == 2
    split = load_trial_data(clone / "results/splits/digits.npz")
    assert split.x_train.shape == (2, 36, 4) and split.n_classes == 3


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


def test_size_sweep_writes_its_tables_and_c2_within_task_verdict(tiny_run):
    table = pd.read_csv(tiny_run / "tables" / "size_sweep.csv", dtype={"batch_size": str})
    assert sorted(set(table["size"])) == [30, 60, 90] and set(table["task"]) == {"iris"}
    assert len(table) == 3 * 3 * 2  # sizes x methods x (tuned, grid)
    target = json.loads((tiny_run / "size_sweep" / "iris" / "target.json").read_text())
    assert (table["target"] == target["target"]).all() and target["target"] <= 0.6
    claims = pd.read_csv(tiny_run / "tables" / "claims.csv").set_index("claim")
    within = pd.read_csv(tiny_run / "tables" / "size_sweep_claim.csv").iloc[0]
    assert claims.loc["C2", "within_task_verdict"] == within["verdict"]
    stability = pd.read_csv(tiny_run / "tables" / "verdict_stability.csv").set_index("claim")
    assert stability.loc["C2", "within task (size sweep)"] == within["verdict"]
    page = html.unescape((tiny_run / "report" / "report.html").read_text())
    assert "the training-set size sweep" in page and within["evidence"] in page


def test_a_target_above_the_best_accuracy_seen_is_refused_naming_the_key(repo, tmp_path):
    seen = tmp_path / "seen.tsv"
    seen.write_text("task\tbest_hold_acc\tsource\niris\t0.9\ttest\n")
    scaling = SCALING | {"accuracy_seen": str(seen), "targets": {"iris": 0.95, "wine": 0.6}}
    result = snakemake("-n", "--configfile", str(tiny_config(tmp_path, scaling=scaling)), cwd=repo)
    assert result.returncode != 0
    assert "scaling.targets.iris = 0.95 is above the best hold-out accuracy seen on iris" in (
        result.stdout + result.stderr
    )
