"""Faults: a full disk, a kill mid-write and damaged result files end in one line, leave
nothing that looks complete, and name what to rebuild; a bug keeps its traceback."""

import gzip
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from batch_inefficiency.data.splits import load_trial_data, save_trial_data, write_splits
from batch_inefficiency.engine import EngineSettings
from batch_inefficiency.errors import FaultError, UserError, one_line
from batch_inefficiency.files import atomic_output
from batch_inefficiency.pipeline import jobs
from batch_inefficiency.studies.rate_search import SEARCH_FILES, search_task
from batch_inefficiency.studies.replication.metrics import summarise_task_files
from batch_inefficiency.studies.replication.runs import train_and_save
from batch_inefficiency.studies.size_sweep.runs import write_method


@pytest.fixture
def job(tmp_path, monkeypatch):
    """A workflow job's frame around a fake ``snakemake`` object; returns (frame, log text)."""
    monkeypatch.setattr(sys, "stderr", sys.stderr)  # restored after the test
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    log = tmp_path / "job.log"

    def fail(err, inputs=(), outputs=("out.npz",)):
        snakemake = SimpleNamespace(log=[str(log)], input=list(inputs), output=list(outputs))
        jobs.start_job(snakemake)
        print("progress", file=sys.stderr)
        try:
            raise err
        except BaseException as caught:
            sys.excepthook(type(caught), caught, caught.__traceback__)
        return log.read_text()

    return fail


def test_job_with_a_user_mistake_logs_one_line(job):
    text = job(UserError("device 'cuda' requested but torch.cuda.is_available() is False"))
    assert text == (
        "progress\nerror: device 'cuda' requested but torch.cuda.is_available() is False\n"
    )


def test_job_with_a_bug_logs_its_traceback(job):
    text = job(ZeroDivisionError("a bug"))
    assert "Traceback (most recent call last)" in text and "ZeroDivisionError: a bug" in text


def test_job_on_a_full_disk_names_the_cause_and_the_output(job):
    text = job(OSError(28, "No space left on device"), outputs=["results/splits/iris.npz"])
    assert text == (
        "progress\nerror: results/splits/iris.npz: no space left on device; "
        "free space on that disk, then run again\n"
    )


def test_damaged_run_file_is_named_with_the_command_that_rebuilds_it(job, tmp_path):
    """A later stage (the metrics) reading a truncated curves.csv.gz: the file and its fix."""
    curves, replicas = tmp_path / "curves.csv.gz", tmp_path / "replicas.csv"
    replicas.write_text(
        "batch_size,replica,lr,trial,budget,status,epochs_run\n1,0,0.1,0,3,complete,3\n"
    )
    curves.write_bytes(gzip.compress(b"batch_size,replica,trial,lr,epoch\n" * 50)[:40])
    try:
        summarise_task_files([curves], [replicas], 0.01, tmp_path / "r.csv", tmp_path / "t.csv")
    except Exception as err:  # whatever pandas raises: the frame must name the file
        text = job(err, inputs=[[curves], [replicas]])
    else:
        pytest.fail("a truncated gzip was read")
    assert text.startswith(f"progress\nerror: {curves} is damaged or incomplete (")
    assert text.endswith(
        f"rebuild it with `snakemake --forcerun {curves}` (plus the --configfile you ran with)\n"
    )
    assert text.count("\n") == 2 and "Traceback" not in text


def test_damaged_split_is_named_with_the_command_that_rebuilds_it(tmp_path, make_data):
    path = tmp_path / "iris.npz"
    save_trial_data(path, make_data())
    assert load_trial_data(path).trials == (0, 1)
    for damage in (path.read_bytes()[:200], b"", b"PK\x03\x04 not a zip"):
        path.write_bytes(damage)
        with pytest.raises(FaultError) as raised:
            load_trial_data(path)
        message, status = one_line(raised.value)
        assert status == 1
        assert message.startswith(f"{path} is damaged or incomplete (")
        assert message.endswith(
            f"`snakemake --forcerun {path}` (plus the --configfile you ran with)"
        )
    np.savez(path, trials=np.arange(2))  # a readable NPZ, but not a split
    with pytest.raises(FaultError, match=r"is damaged or incomplete \(KeyError"):
        load_trial_data(path)


def test_atomic_output_leaves_the_file_whole_or_absent(tmp_path):
    path = tmp_path / "table.csv"
    with pytest.raises(RuntimeError), atomic_output(path) as tmp:
        tmp.write_text("half a tab")
        raise RuntimeError("stopped mid-write")
    assert list(tmp_path.iterdir()) == []
    with atomic_output(path) as tmp:
        tmp.write_text("whole\n")
    (tmp_path / "plain.csv").write_text("")
    assert [p.name for p in sorted(tmp_path.iterdir())] == ["plain.csv", "table.csv"]
    assert path.stat().st_mode == (tmp_path / "plain.csv").stat().st_mode  # umask, not 0600


def test_full_disk_fails_naming_the_cause_and_leaves_nothing(small_disk, make_data):
    """A 16 KiB tmpfs: writing a split or a run's files fills it."""
    big = make_data(n_train=400, n_inputs=8)
    with pytest.raises(FaultError) as raised:
        save_trial_data(small_disk / "iris.npz", big)
    assert one_line(raised.value) == (
        f"{small_disk / 'iris.npz'}: no space left on device; "
        "free space on that disk, then run again",
        1,
    )
    assert list(small_disk.iterdir()) == []
    settings = EngineSettings(
        batch_size="full", learning_rates=(0.5, 0.1), epochs=200, path="torch"
    )
    with open(os.devnull, "w") as quiet, pytest.raises(OSError) as raised:
        train_and_save(make_data(), settings, small_disk / "run", {"task": "toy"}, quiet)
    message, status = one_line(raised.value)
    assert "no space left on device; free space on that disk" in message and status == 1
    assert list(small_disk.iterdir()) == []


KILL_MID_WRITE = """
import os, signal
import numpy as np
import numpy.lib.format as fmt
from batch_inefficiency.data.splits import TrialData, save_trial_data

def write_array(fp, array, *args, **kwargs):
    fp.write(b"\\x93NUMPY half an array")
    fp.flush()
    os.kill(os.getpid(), signal.SIGKILL)

fmt.write_array = write_array
x, y = np.zeros((1, 6, 2)), np.zeros((1, 6), dtype=np.int64)
save_trial_data({out!r}, TrialData((0,), x, y, x, y, x, y, 2))
"""


def test_kill_during_a_write_leaves_no_file_that_looks_done(tmp_path):
    """SIGKILL while the split's bytes are being written: no iris.npz, so a rerun redoes it."""
    out = tmp_path / "iris.npz"
    script = KILL_MID_WRITE.format(out=str(out))
    killed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert not out.exists()
    (partial,) = tmp_path.iterdir()  # the half-written file lies under a temporary name
    assert partial.name.startswith(".partial-") and partial.name.endswith("-iris.npz")


# ---- the studies: a rate search and a size-sweep job stopped mid-write ----

STUDY_ARGS = {"task": "iris", "batch_size": "full", "seed": 5, "threads": 1}


def study_files(out_dir, names=SEARCH_FILES):
    """What a rerun must reproduce: a job's outputs ``names``, measured seconds left out."""
    files = {}
    for name in names:
        path = Path(out_dir) / name
        if path.suffix == ".json":
            info = json.loads(path.read_text())
            for entry in info if isinstance(info, list) else [info]:
                entry.pop("seconds", None)
            files[name] = info
        elif path.suffix == ".npz":
            with np.load(path) as npz:
                files[name] = {k: npz[k].tolist() for k in npz.files}
        else:
            files[name] = path.read_bytes()
    return files


def torch_training():
    """test_workflow's training section on the torch path: what these tests check is how a job
    writes its files, and the torch path has no numba kernel to compile (a fused one not yet
    cached costs 40-80 s the first time)."""
    from test_workflow import TRAINING

    return TRAINING | {"engine": TRAINING["engine"] | {"path": "torch"}}


def search(split, out_dir):
    from test_workflow import SCALING

    return search_task(split, out_dir, training=torch_training(), scaling=SCALING, **STUDY_ARGS)


def sweep(split, target, out):
    from test_workflow import SCALING, SIZE_SWEEP

    sizes = SIZE_SWEEP | {"sizes": [12, "full"], "mini_batch": "4"}
    return write_method(
        split, target, out, training=torch_training(), sweep=sizes, scaling=SCALING, **STUDY_ARGS
    )


def interrupt_on(module, name, calls=1):
    """A stand-in for ``module.name`` that writes half, then gets SIGINT (KeyboardInterrupt)."""
    original, seen = getattr(module, name), []

    def half(self_or_path, *args, **kwargs):
        seen.append(1)
        if len(seen) < calls:
            return original(self_or_path, *args, **kwargs)
        target = args[0] if isinstance(self_or_path, pd.DataFrame) else self_or_path
        with open(target, "w") as file:
            file.write("half a fi")
        raise KeyboardInterrupt

    return half


@pytest.fixture
def study_split(tmp_path, make_data):
    path = tmp_path / "iris.npz"
    save_trial_data(path, make_data(n_train=24))
    return path


def test_interrupted_rate_search_leaves_no_file_and_reruns_the_same(study_split, monkeypatch):
    """SIGINT while the search writes its tables: none of its outputs exists, nothing beside
    them either; the rerun writes what an uninterrupted search writes."""
    root = study_split.parent
    search(study_split, root / "whole" / "full")
    with monkeypatch.context() as patch:
        patch.setattr(pd.DataFrame, "to_csv", interrupt_on(pd.DataFrame, "to_csv", calls=2))
        with pytest.raises(KeyboardInterrupt):
            search(study_split, root / "cut" / "full")
    assert not (root / "cut").exists() or not any((root / "cut").iterdir())
    search(study_split, root / "cut" / "full")
    assert study_files(root / "cut" / "full") == study_files(root / "whole" / "full")


def test_interrupted_size_sweep_job_leaves_it_unfinished_and_reruns_the_same(
    study_split, monkeypatch
):
    """SIGINT in the size sweep's second write: its first output may exist, its second does
    not, so Snakemake reruns the job; the rerun writes what an uninterrupted one writes."""
    root = study_split.parent
    target = root / "target.json"
    target.write_text(json.dumps({"target": 0.6}))
    names = {"trials": "trials.csv", "searches": "searches.json"}
    whole = {k: root / "whole" / v for k, v in names.items()}
    cut = {k: root / "cut" / v for k, v in names.items()}
    for folder in ("whole", "cut"):
        (root / folder).mkdir()
    sweep(study_split, target, whole)
    with monkeypatch.context() as patch:
        patch.setattr(Path, "write_text", interrupt_on(Path, "write_text"))
        with pytest.raises(KeyboardInterrupt):
            sweep(study_split, target, cut)
    assert [p.name for p in (root / "cut").iterdir()] == ["trials.csv"]  # no searches.json
    sweep(study_split, target, cut)
    assert study_files(root / "cut", names.values()) == study_files(root / "whole", names.values())


KILL_SEARCH_MID_WRITE = """
import os, signal, sys
if any(arg.endswith("search_rates.py") for arg in sys.argv) or "--in-process" in sys.argv:
    import pandas as pd
    def to_csv(self, path=None, *args, **kwargs):
        with open(path, "w") as half:
            half.write("batch_size,l")
            half.flush()
        os.killpg(os.getpgrp(), signal.SIGKILL)
    pd.DataFrame.to_csv = to_csv
"""


def test_killed_rate_search_job_reruns_to_the_same_files(repo, tmp_path):
    """A real search_rates job of the workflow, SIGKILLed (with Snakemake) while it writes its
    rates table: no output of the job exists; after --unlock the rerun writes what an
    uninterrupted search of the same split writes."""
    from test_workflow import snakemake, tiny_config

    config = tiny_config(tmp_path, training=torch_training())  # as search() below
    split = tmp_path / "results" / "splits" / "iris.npz"
    split.parent.mkdir(parents=True)
    write_splits("iris", repo / "resources" / "datasets", 2, 5, "ordinal", split)
    out_dir = tmp_path / "results" / "scaling" / "iris" / "full"
    target = [str(out_dir / "search.json"), "--configfile", str(config)]
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(KILL_SEARCH_MID_WRITE)
    path = os.pathsep.join(filter(None, [str(hook), os.environ.get("PYTHONPATH")]))
    killed = subprocess.run(
        [sys.executable, "-m", "snakemake", "--cores", "1", *target],
        cwd=repo,
        env=os.environ | {"PYTHONPATH": path},
        capture_output=True,
        start_new_session=True,
    )
    assert killed.returncode == -signal.SIGKILL
    assert not out_dir.exists() or not any(out_dir.iterdir())  # nothing that looks done
    (partial,) = set(out_dir.parent.iterdir()) - {out_dir}  # the half-written files: hidden
    assert partial.name.startswith(".full-")
    assert snakemake("--unlock", *target[1:], cwd=repo).returncode == 0
    rerun = snakemake(*target, cwd=repo)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    search(split, tmp_path / "direct" / "full")
    assert study_files(out_dir) == study_files(tmp_path / "direct" / "full")
