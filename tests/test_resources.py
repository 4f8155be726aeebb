"""Resource requests of training jobs: the calibrated runtime and memory estimates."""

from __future__ import annotations

import pytest

from batch_inefficiency.engine import plan
from batch_inefficiency.errors import UserError
from batch_inefficiency.pipeline.resources import (
    CALIBRATION,
    CALIBRATION_REPLICAS,
    MIN_MINUTES,
    STARTUP_SECONDS,
    TaskShape,
    Workload,
    engine_path,
    epoch_seconds,
    scheduler_hint,
    task_shape,
    train_mem_mb,
    train_runtime_minutes,
    train_seconds,
)

FULL = (1000, 1000, 5000, 10000)  # config/config.yaml's budgets
LETTER = TaskShape(12000, 16, 32, 26)


def workload(shape: TaskShape = LETTER, **kw) -> Workload:
    return Workload(**({"shape": shape, "batch_size": "1", "budgets": FULL, "trials": 10} | kw))


def test_the_formula_reproduces_its_calibration_within_the_safety_factor():
    ratios = [
        seconds / epoch_seconds(TaskShape(*shape), batch, CALIBRATION_REPLICAS)
        for _, shape, batch, seconds in CALIBRATION
    ]
    assert min(ratios) > 0.75 and max(ratios) < 1.6  # the default safety factor is 2


def test_letter_online_full_protocol_matches_the_measured_projection():
    # benchmarks/project_runtime.py projected 1,324 s for this job on the calibration machine.
    seconds = train_seconds(workload())
    assert 1000 < seconds < 1500
    assert train_runtime_minutes(workload()) == pytest.approx(2 * seconds / 60, abs=1)


def test_runtime_grows_with_task_size_budgets_and_trials():
    base = train_runtime_minutes(workload())
    assert train_runtime_minutes(workload(TaskShape(24000, 16, 32, 26))) > 1.9 * base
    assert train_runtime_minutes(workload(budgets=tuple(2 * b for b in FULL))) > 1.9 * base
    assert train_runtime_minutes(workload(trials=20)) > 1.9 * base
    assert train_runtime_minutes(workload(), safety=4.0) == pytest.approx(2 * base, abs=1)


def test_runtime_depends_on_the_batch_size_through_the_engine_path(monkeypatch):
    assert engine_path(LETTER, "1") == engine_path(LETTER, "10") == "fused"
    assert engine_path(LETTER, "100") == engine_path(LETTER, "full") == "torch"
    monkeypatch.setattr(plan, "_triton_available", lambda: True)
    assert engine_path(LETTER, "1", device="cuda") == "triton"
    assert engine_path(LETTER, "1000", device="cuda") == "torch"
    online = train_runtime_minutes(workload(batch_size="1"))
    batch = train_runtime_minutes(workload(batch_size="full"))
    assert batch < online
    # On a GPU every update is a few kernel launches: on-line training pays them per row.
    assert train_runtime_minutes(workload(device="cuda")) > 10 * online


def test_tiny_jobs_ask_for_the_minimum_and_the_startup_counts():
    tiny = workload(TaskShape(90, 4, 8, 3), budgets=(6, 9), trials=2)
    assert train_seconds(tiny) > STARTUP_SECONDS
    assert train_runtime_minutes(tiny) == MIN_MINUTES


def test_memory_is_the_runtime_base_plus_data_and_curves():
    small = train_mem_mb(workload(TaskShape(90, 4, 8, 3)))
    assert 600 < small < 900  # 1.5 x (measured 330-430 MB peak + curves)
    longer = train_mem_mb(workload(budgets=(1000, 1000, 5000, 100000)))
    assert longer > train_mem_mb(workload()) + 100  # 40 replicas x 90,000 more epochs
    assert train_mem_mb(workload(device="cuda")) > train_mem_mb(workload()) + 1000


@pytest.mark.parametrize(
    "bad", [{"budgets": ()}, {"budgets": (0,)}, {"trials": 0}, {"batch_size": "0"}]
)
def test_bad_workloads_are_refused(bad):
    with pytest.raises(UserError):
        train_runtime_minutes(workload(**bad))
    with pytest.raises(UserError):
        train_mem_mb(workload(**bad))


def test_task_shape_comes_from_the_manifest(datasets_root):
    letter = task_shape("letter", datasets_root, "ordinal", "twice_inputs")
    assert letter == TaskShape(12000, 16, 32, 26)  # the split gives 12,001: within a class
    assert task_shape("iris", datasets_root, "ordinal", 5).n_hidden == 5
    splice = task_shape("splice", datasets_root, "onehot", "twice_inputs")
    assert splice.n_inputs > task_shape("splice", datasets_root, "ordinal", 1).n_inputs


def test_scheduler_hints_name_what_to_change():
    def log(message: str) -> str:
        return (
            "Error in rule train:\n    message: SLURM sbatch failed. The error message was "
            f"'sbatch: error: {message}'.\n    sbatch call:\n        sbatch -p x --gpus=1 -t 5\n"
        )

    partition = scheduler_hint(log("invalid partition specified: gpu-a100"))
    assert partition is not None and "SBATCH_PARTITION" in partition
    assert 'README.md, "Running on a SLURM cluster"' in partition
    gpu = scheduler_hint(log("Invalid generic resource (gres) specification"))
    assert gpu is not None and "no GPUs" in gpu
    other = scheduler_hint(log("something new"))
    assert other is not None and "refused" in other
    assert scheduler_hint("Error in rule train:\n    message: the script failed") is None
