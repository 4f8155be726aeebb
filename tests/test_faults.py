"""Faults: a full disk, a kill mid-write and damaged result files end in one line, leave
nothing that looks complete, and name what to rebuild; a bug keeps its traceback."""

import gzip
import os
import signal
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest

from batch_inefficiency.data.splits import load_trial_data, save_trial_data
from batch_inefficiency.engine import EngineSettings
from batch_inefficiency.errors import FaultError, UserError, one_line
from batch_inefficiency.files import atomic_output
from batch_inefficiency.pipeline import jobs
from batch_inefficiency.studies.replication.metrics import summarise_task_files
from batch_inefficiency.studies.replication.runs import train_and_save


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
