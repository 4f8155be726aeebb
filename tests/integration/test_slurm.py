"""The workflow, unchanged, under Snakemake's SLURM executor on a real single-node cluster.

tests/integration/slurm_cluster.sh starts slurmctld, slurmd (and munged) on localhost in
a temporary folder; the tiny configuration of tests/test_workflow.py then runs through
``--profile profiles/slurm`` and, at the same time, locally. Checked: every training job
ran as a SLURM job with the CPUs, memory and time its estimate asks for, it used as many
threads as it was given CPUs, and its records are those of the local run, bit for bit
(both runs stop at the training records: every later stage is computed from them, and
each stage of SLURM jobs costs a status-check round; the whole workflow is the same
command without targets). Also: sbatch's refusals (an unknown partition, a GPU on a cluster
without one) reach the user with a hint.

Needs root and the Debian packages slurmctld, slurmd, slurm-client and munge (`.ci/run`
installs them); where they are missing the tests skip with the reason, except in CI
(``CI=true``), where they fail.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import yaml

# tests/ is on sys.path (pytest puts the folder of tests/conftest.py there).
from test_workflow import tiny_config

from batch_inefficiency.pipeline.resources import (
    Workload,
    task_shape,
    train_mem_mb,
    train_runtime_minutes,
)

pytestmark = pytest.mark.slurm

REPO = Path(__file__).resolve().parents[2]
CLUSTER = Path(__file__).with_name("slurm_cluster.sh")
# One test cluster at a time on a machine (slurmd's configless link /run/slurm/conf is global).
LOCK = Path("/tmp/batch-inefficiency-slurm.lock")
TOOLS = ("slurmctld", "slurmd", "sbatch", "squeue", "scontrol", "munged", "munge")
# No accounting database on the test cluster: poll squeue, submit without an account. Poll
# from 1 s after submission (the default 40 s suits a real cluster, not a test).
SLURM_FLAGS = [
    "--slurm-status-command",
    "squeue",
    "--slurm-no-account",
    "--slurm-init-seconds-before-status-checks",
    "1",
]
TRAIN_JOBS = {("iris", "1"), ("iris", "full"), ("wine", "1"), ("wine", "7"), ("wine", "full")}
TIMING = "seconds"  # the records' wall-clock field, different on every run
SUBMITTED = re.compile(r"Job \d+ has been submitted with SLURM jobid (\d+) \(log: (\S+)\)")


def unavailable() -> str | None:
    """Why a SLURM test cluster cannot run on this machine, or None if it can."""
    if os.geteuid() != 0:
        return "starting munged, slurmctld and slurmd needs root"
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        packages = "slurmctld slurmd slurm-client munge"
        return f"not installed: {', '.join(missing)} (apt-get install {packages})"
    try:
        import snakemake_executor_plugin_slurm  # noqa: F401
    except ImportError:
        return "snakemake-executor-plugin-slurm is not installed (pip install -e '.[test]')"
    return None


def free_ports(n: int) -> list[int]:
    """``n`` distinct TCP ports that nothing listens on now."""
    sockets = [socket.socket() for _ in range(n)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator[dict[str, str]]:
    """A running single-node cluster; yields the environment to submit to it."""
    if reason := unavailable():
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the SLURM tests, but {reason}")
        pytest.skip(reason)
    folder = tmp_path_factory.mktemp("slurm_cluster")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLURM_", "SBATCH_", "SRUN_"))}
    ctld_port, slurmd_port = free_ports(2)
    env |= {
        "SLURM_TEST_CTLD_PORT": str(ctld_port),
        "SLURM_TEST_SLURMD_PORT": str(slurmd_port),
        "SLURM_CONF": str(folder / "slurm.conf"),
    }
    with LOCK.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            started = subprocess.run(
                ["bash", str(CLUSTER), "start", str(folder)],
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert started.returncode == 0, started.stdout + started.stderr
            yield env
        finally:
            subprocess.run(["bash", str(CLUSTER), "stop", str(folder)], env=env, timeout=120)


def snakemake(args: list, log: Path, env: dict[str, str], nice: int = 0) -> subprocess.Popen:
    """Start Snakemake in the repository, its output going to ``log``."""
    with log.open("w") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "snakemake", *map(str, args)],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=lambda: os.nice(nice),
        )


def finish(job: subprocess.Popen, log: Path, timeout: float = 900) -> str:
    """Wait for a Snakemake started by :func:`snakemake`; its output."""
    try:
        job.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        job.kill()
        job.wait()
    return log.read_text()


def slurm_profile_run(config: Path, *args) -> list:
    """Snakemake's arguments for a run through the SLURM profile, SLURM logs beside config."""
    logs = ["--slurm-logdir", config.parent / "slurm_logs"]
    return ["--profile", "profiles/slurm", "--configfile", config, *SLURM_FLAGS, *logs, *args]


def records(folder: Path) -> list[Path]:
    """The training records the runs are compared on (the targets of both runs)."""
    runs = folder / "results" / "runs"
    return [runs / task / batch / "records.npz" for task, batch in sorted(TRAIN_JOBS)]


@pytest.fixture(scope="module")
def runs(cluster, tmp_path_factory) -> dict[str, Path | str]:
    """The tiny configuration through SLURM and, concurrently, locally on one core.

    Both runs stop at the training records: each further stage of SLURM jobs costs a
    status-check round (10-30 s), and the later stages add nothing to what is checked here.
    """
    slurm_dir = tmp_path_factory.mktemp("slurm_run")
    local_dir = tmp_path_factory.mktemp("local_run")
    slurm_logs = slurm_dir / "slurm_logs"
    on_slurm = snakemake(
        slurm_profile_run(
            tiny_config(slurm_dir),
            "--slurm-keep-successful-logs",
            *records(slurm_dir),
        ),
        slurm_dir / "snakemake.log",
        cluster,
    )
    local = snakemake(
        [*records(local_dir), "--cores", "1", "--configfile", tiny_config(local_dir)],
        local_dir / "snakemake.log",
        cluster,
        nice=10,  # SLURM's jobs first: the local run fills the gaps between status checks
    )
    local_output = finish(local, local_dir / "snakemake.log")
    slurm_output = finish(on_slurm, slurm_dir / "snakemake.log")
    assert local.returncode == 0, local_output
    assert on_slurm.returncode == 0, slurm_output
    return {
        "slurm": slurm_dir / "results",
        "local": local_dir / "results",
        "output": slurm_output,
        "slurm_logs": slurm_logs,
        "config": slurm_dir / "results.yaml",
    }


def scontrol(job_id: str, env: dict[str, str]) -> dict[str, str]:
    """``scontrol show job`` as key -> value (the cluster keeps finished jobs for an hour)."""
    shown = subprocess.run(
        ["scontrol", "--oneliner", "show", "job", job_id],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return dict(field.split("=", 1) for field in shown.split() if "=" in field)


def test_every_training_job_ran_as_a_slurm_job_with_its_estimated_resources(runs, cluster):
    submitted = SUBMITTED.findall(runs["output"])
    train = {}
    for job_id, log in submitted:
        rule, name = Path(log).parts[-3:-1]
        if rule == "rule_train":
            train[tuple(name.rsplit("_", 1))] = job_id
    assert set(train) == TRAIN_JOBS, runs["output"]
    config = yaml.safe_load(Path(runs["config"]).read_text())
    training = config["training"]
    for (task, batch), job_id in train.items():
        slurm_log = runs["slurm_logs"] / "rule_train" / f"{task}_{batch}" / f"{job_id}.log"
        assert f"wildcards: task={task}, batch={batch}" in slurm_log.read_text()
        job = scontrol(job_id, cluster)
        assert job["JobState"] == "COMPLETED" and job["ExitCode"] == "0:0"
        assert job["Comment"] == f"rule_train_wildcards_{task}_{batch}"
        # The CPUs SLURM gave the job are the threads torch and numba used: no oversubscription.
        run = json.loads((runs["slurm"] / "runs" / task / batch / "run.json").read_text())
        threads = run["resolved"]["threads_torch"]
        assert threads == run["resolved"]["threads_numba"] == 2  # set-threads in the profile
        assert int(job["NumCPUs"]) == threads
        # Time and memory are the workload's estimates (resources.py), not a constant.
        shape = task_shape(task, REPO / "resources" / "datasets", "ordinal", "twice_inputs")
        workload = Workload(shape, batch, tuple(training["epochs"]), config["trials"])
        hours, minutes, seconds = map(int, job["TimeLimit"].split(":"))
        assert hours * 60 + minutes == train_runtime_minutes(workload) and seconds == 0
        assert job["MinMemoryNode"] == f"{train_mem_mb(workload)}M"
    # The light jobs went through SLURM too (2 splits besides the 5 trainings): nothing ran
    # on the submitting host.
    assert len(submitted) == 7, runs["output"]


def test_records_are_those_of_a_local_run(runs):
    for task, batch in TRAIN_JOBS:
        with (
            np.load(runs["local"] / "runs" / task / batch / "records.npz") as expected,
            np.load(runs["slurm"] / "runs" / task / batch / "records.npz") as got,
        ):
            assert set(got.files) == set(expected.files)
            for field in set(expected.files) - {TIMING}:
                np.testing.assert_array_equal(got[field], expected[field], err_msg=field)


def test_an_unknown_partition_shows_sbatch_error_and_a_hint(cluster, tmp_path):
    env = cluster | {"SBATCH_PARTITION": "no-such-partition"}
    target = tmp_path / "results" / "splits" / "iris.npz"
    log = tmp_path / "snakemake.log"
    job = snakemake([*slurm_profile_run(tiny_config(tmp_path)), target], log, env)
    output = finish(job, log, timeout=300)
    assert job.returncode != 0
    assert "sbatch: error: invalid partition specified: no-such-partition" in output
    assert "Hint: sbatch refused a job: the partition does not exist" in output
    assert 'README.md, "Running on a SLURM cluster"' in output


def test_a_gpu_job_on_a_cluster_without_gpus_shows_sbatch_error_and_a_hint(cluster, runs, tmp_path):
    config = yaml.safe_load(tiny_config(tmp_path).read_text())
    config["training"]["engine"]["device"] = "cuda"
    path = tmp_path / "gpu.yaml"
    path.write_text(yaml.safe_dump(config))
    # The split exists already (copied from the SLURM run), so the first job is a training
    # job, which asks for a GPU (gpu: 1 -> sbatch --gpus=1).
    (tmp_path / "results" / "splits").mkdir(parents=True)
    shutil.copy(runs["slurm"] / "splits" / "iris.npz", tmp_path / "results" / "splits")
    target = tmp_path / "results" / "runs" / "iris" / "1" / "run.json"
    log = tmp_path / "snakemake.log"
    job = snakemake([*slurm_profile_run(path), target], log, cluster)
    output = finish(job, log, timeout=300)
    assert job.returncode != 0
    assert "--gpus=1" in output and "--cpus-per-gpu=2" in output
    assert "sbatch: error: Invalid generic resource (gres) specification" in output
    assert "Hint: sbatch refused a job: the partition has no GPUs" in output
    assert not target.exists()
