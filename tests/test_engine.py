"""Engine behaviour: determinism, independence of replicas, budgets, divergence,
early stopping, bad input, the saved run format and the audit trail."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import itertools
import json
import re
from dataclasses import replace

import llvmlite.binding
import numpy as np
import pytest
import torch
from conftest import TRITON_DEVICE, needs_triton
from hypothesis import given
from hypothesis import strategies as st

from batch_inefficiency.engine import (
    FUSED_MAX_WORK,
    TRITON_MAX_BATCH,
    EngineConfigError,
    EngineSettings,
    EpochProgress,
    Records,
    RunResult,
    choose_path,
    fused_path,
    load_run,
    plan,
    recompute,
    train,
)
from batch_inefficiency.engine.contract import step_scales
from batch_inefficiency.errors import UserError
from batch_inefficiency.models import ModelSpec, initial_weights

# Every path; triton runs on CUDA, or interpreted on the CPU (conftest.py).
KERNEL_PATHS = ["torch", "fused", pytest.param("triton", marks=needs_triton)]
CPU_PATHS = ["torch", "fused"]
DETERMINISTIC = [name for name in Records.CURVES if name != "seconds"]
# Replica independence across runs with different active sets: the fused path is
# bitwise; torch's CPU batched matmul picks its kernel by the whole problem size
# (replica count included), so there it holds to round-off, checked in float64.
INDEPENDENCE = {
    "fused": ("float32", 0.0),
    "torch": ("float64", 1e-12),
    "triton": ("float64", 1e-12),  # bitwise on the CPU; on CUDA, evaluation is cuBLAS's
}


def settings(**changes) -> EngineSettings:
    base = EngineSettings(
        batch_size=2, learning_rates=(0.3, 0.1), epochs=(4, 4), device="cpu", threads=2
    )
    if changes.get("path") == "triton":
        base = replace(base, device=TRITON_DEVICE)
    return replace(base, **changes)


def assert_same_replicas(
    a: RunResult, ia: np.ndarray, b: RunResult, ib: np.ndarray, rtol: float = 0.0
) -> None:
    """Replicas ``ia`` of run a and ``ib`` of run b have the same records and weights.

    Bit-identical (``np.array_equal``) for ``rtol=0``. Curves are compared on
    the epochs both runs have; the longer one must be NaN beyond.
    """

    def same(x: np.ndarray, y: np.ndarray) -> None:
        if rtol:
            np.testing.assert_allclose(x, y, rtol=rtol, atol=0)
        else:
            assert np.array_equal(x, y, equal_nan=True)

    for name in DETERMINISTIC:
        ca, cb = getattr(a.records, name)[ia], getattr(b.records, name)[ib]
        n = min(ca.shape[1], cb.shape[1])
        same(ca[:, :n], cb[:, :n])
        assert np.isnan(ca[:, n:]).all() and np.isnan(cb[:, n:]).all()
    for name in ("status", "epochs_run", "lr", "trial", "budget"):
        np.testing.assert_array_equal(getattr(a.records, name)[ia], getattr(b.records, name)[ib])
    for name, value in a.final.as_dict().items():
        same(value[ia], b.final.as_dict()[name][ib])


@pytest.mark.parametrize("path", KERNEL_PATHS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_same_settings_give_bit_identical_records(path, dtype, make_data):
    data = make_data(trials=(0, 1, 2))
    s = settings(path=path, dtype=dtype)
    first, second = train(data, s), train(data, s)
    everyone = np.arange(6)
    assert_same_replicas(first, everyone, second, everyone)
    assert np.isfinite(first.records.train_loss).all()


@pytest.mark.parametrize("batch_size", [1, 3])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_fused_kernel_skipping_zero_inputs_keeps_the_bits(
    batch_size, dtype, make_data, monkeypatch
):
    data = make_data(trials=(0, 1), n_inputs=12)
    for x in (data.x_train, data.x_hold, data.x_test):
        x[x < 0.6] = 0  # 60% of the inputs zero, as many rows with none as with several
    s = settings(path="fused", dtype=dtype, batch_size=batch_size, epochs=(6, 6))
    assert fused_path.nonzero_inputs(data.x_train)[1].min() < 12  # the sparse path is taken
    sparse = train(data, s)
    monkeypatch.setattr(fused_path, "SPARSE_MIN_SHARE", 1.1)  # every input, as if none were zero
    assert (fused_path.nonzero_inputs(data.x_train)[1] == 12).all()
    dense = train(data, s)
    everyone = np.arange(4)
    assert_same_replicas(sparse, everyone, dense, everyone)


@pytest.mark.skipif(
    not llvmlite.binding.get_host_cpu_features().get("avx512f"),
    reason="the same bits hold where LLVM's vector loops are AVX-512's (fused_path.py)",
)
@pytest.mark.parametrize("batch_size", [1, 3])
@pytest.mark.parametrize(("dtype", "n_classes"), [("float32", 2), ("float32", 7), ("float64", 3)])
def test_output_major_layer_keeps_the_bits(batch_size, dtype, n_classes, make_data, monkeypatch):
    data = make_data(trials=(0, 1), n_inputs=12, n_classes=n_classes)
    s = settings(path="fused", dtype=dtype, batch_size=batch_size, epochs=(6, 6))
    output_major = train(data, s)
    monkeypatch.setitem(fused_path.OUTPUT_MAJOR_BELOW, np.dtype(dtype), 0)  # hidden-major always
    hidden_major = train(data, s)
    everyone = np.arange(4)
    assert_same_replicas(output_major, everyone, hidden_major, everyone)


@pytest.mark.parametrize("path", ["fused", pytest.param("triton", marks=needs_triton)])
def test_paths_agree_with_torch_in_float32(path, make_data):
    data = make_data()
    other = train(data, settings(path=path, dtype="float32"))
    torch_ = train(data, settings(path="torch", dtype="float32"))
    for name in ("train_loss", "train_acc"):
        np.testing.assert_allclose(
            getattr(other.records, name), getattr(torch_.records, name), rtol=1e-4, atol=1e-4
        )
    np.testing.assert_allclose(other.final.w1, torch_.final.w1, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("path", KERNEL_PATHS)
def test_divergent_rate_is_frozen_and_others_unaffected(path, make_data):
    data = make_data(trials=(0, 1))
    dtype, rtol = INDEPENDENCE[path]
    s = settings(path=path, dtype=dtype, model=ModelSpec(activation="relu", loss="cross_entropy"))
    both = train(data, replace(s, learning_rates=(1e3, 0.1), epochs=(6, 6)))
    alone = train(data, replace(s, learning_rates=(0.1,), epochs=(6,)))
    rec = both.records
    assert list(rec.status) == ["diverged", "diverged", "complete", "complete"]
    for r in (0, 1):
        stop = rec.epochs_run[r]
        assert 1 <= stop < 6
        assert np.isnan(rec.train_loss[r, stop + 1 :]).all()
        assert np.isnan(rec.hold_acc[r, stop + 1 :]).all()
        blew_up = rec.train_loss[r, stop] > 1e3 * rec.train_loss[r, 0]
        assert blew_up or not np.isfinite(rec.train_loss[r, stop])
    assert np.isfinite(rec.train_loss[2:]).all()
    assert_same_replicas(both, np.array([2, 3]), alone, np.array([0, 1]), rtol)


@pytest.mark.parametrize("path", KERNEL_PATHS)
def test_budgets_stop_each_rate_and_leave_the_others_alone(path, make_data):
    data = make_data(trials=(0, 1))
    dtype, rtol = INDEPENDENCE[path]
    mixed = train(data, settings(path=path, dtype=dtype, learning_rates=(0.3, 0.1), epochs=(2, 5)))
    alone = train(data, settings(path=path, dtype=dtype, learning_rates=(0.1,), epochs=(5,)))
    rec = mixed.records
    assert rec.train_loss.shape == (4, 6)
    assert list(rec.epochs_run) == [2, 2, 5, 5] and list(rec.budget) == [2, 2, 5, 5]
    assert (rec.status == "complete").all()
    assert np.isnan(rec.train_loss[:2, 3:]).all() and np.isfinite(rec.train_loss[:2, :3]).all()
    assert np.isfinite(rec.train_loss[2:]).all()
    assert list(rec.updates[2]) == [0, 12, 24, 36, 48, 60]  # 23 rows, batch 2: 12 updates/epoch
    assert_same_replicas(mixed, np.array([2, 3]), alone, np.array([0, 1]), rtol)
    short = train(data, settings(path=path, dtype=dtype, learning_rates=(0.3,), epochs=(2,)))
    assert_same_replicas(mixed, np.array([0, 1]), short, np.array([0, 1]), rtol)


@pytest.mark.parametrize("path", CPU_PATHS)
def test_patience_stops_a_rate_that_does_not_improve(path, make_data):
    data = make_data(trials=(0, 1))
    run = train(
        data,
        settings(path=path, learning_rates=(1e-12, 0.5), epochs=(50, 50), patience=3, batch_size=1),
    )
    rec = run.records
    # a rate of 1e-12 leaves every prediction as it was: the best mean stays at epoch 0
    assert list(rec.status[:2]) == ["stopped_early"] * 2
    assert list(rec.epochs_run[:2]) == [3, 3]
    assert np.isnan(rec.hold_acc[:2, 4:]).all()
    assert (rec.epochs_run[2:] > 3).all()
    off = train(data, settings(path=path, learning_rates=(1e-12,), epochs=(8,), batch_size=1))
    assert (off.records.status == "complete").all() and (off.records.epochs_run == 8).all()


def test_patience_uses_the_trial_mean_of_hold_accuracy(make_data):
    data = make_data(trials=(0, 1, 2), n_train=40, n_hold=30)
    run = train(data, settings(learning_rates=(0.5,), epochs=(60,), patience=5, batch_size=1))
    rec = run.records
    stop = rec.epochs_run[0]
    assert (rec.status == "stopped_early").all() and (rec.epochs_run == stop).all()
    mean = rec.hold_acc[:, : stop + 1].mean(axis=0)  # per-epoch mean over the rate's trials
    best = int(np.argmax(mean))  # the first epoch with the best mean
    assert best > 0 and stop - best == 5
    assert (mean[best + 1 :] <= mean[best]).all()


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"learning_rates": (0.1, 0.0)}, "0.0"),
        ({"learning_rates": (-0.5, 0.1)}, "-0.5"),
        ({"learning_rates": (float("nan"), 0.1)}, "nan"),
        ({"batch_size": 0}, "0"),
        ({"batch_size": 24}, "24"),
        ({"batch_size": "half"}, "'half'"),
        ({"model": ModelSpec(activation="swish")}, "'swish'"),
        ({"model": ModelSpec(loss="hinge")}, "'hinge'"),
        ({"model": ModelSpec(init="zeros")}, "'zeros'"),
        ({"model": ModelSpec(hidden="lots")}, "'lots'"),
        ({"model": ModelSpec(hidden=0)}, "0"),
        ({"device": "tpu"}, "'tpu'"),
        ({"path": "gpu"}, "'gpu'"),
        ({"dtype": "float16"}, "'float16'"),
        ({"reduction": "max"}, "'max'"),
        ({"matmul_precision": "low"}, "'low'"),
        ({"threads": 0}, "0"),
        ({"epochs": (3,)}, "(3,)"),
        ({"epochs": (3, 0)}, "0"),
        ({"patience": 0}, "0"),
        ({"divergence_factor": 0.5}, "0.5"),
    ],
)
def test_bad_settings_raise_engine_config_error_naming_the_value(changes, named, make_data):
    with pytest.raises(EngineConfigError, match=re.escape(named)) as info:
        train(make_data(), settings(**changes))
    assert isinstance(info.value, ValueError) and isinstance(info.value, UserError)
    assert "\n" not in str(info.value)


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is present here")
def test_cuda_requested_but_absent_raises(make_data):
    with pytest.raises(EngineConfigError, match="'cuda'"):
        train(make_data(), settings(device="cuda"))


def test_fused_path_on_cuda_is_refused(make_data, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    with pytest.raises(EngineConfigError, match="'fused'"):
        train(make_data(), settings(device="cuda", path="fused"))


@needs_triton
def test_triton_path_on_cpu_needs_the_interpreter(make_data, monkeypatch):
    monkeypatch.delenv("TRITON_INTERPRET", raising=False)
    with pytest.raises(EngineConfigError, match="'triton' runs on CUDA, device is 'cpu'"):
        train(make_data(), settings(device="cpu", path="triton"))


@needs_triton
def test_triton_path_refuses_a_model_too_big_for_a_program(make_data):
    big = settings(path="triton", model=ModelSpec(hidden=600))  # 16 x 1024 + 1024 x 16 padded
    with pytest.raises(EngineConfigError, match=r"at most 16384 padded weights.*\(4, 600, 3\)"):
        train(make_data(), big)


def test_auto_path_choice_by_device_batch_and_model(monkeypatch):
    letter = (16, 32, 26)  # 1,402 weights per replica
    assert choose_path("cpu", 1, letter) == choose_path("cpu", 11, letter) == "fused"
    assert choose_path("cpu", 12, letter) == choose_path("cpu", 12_000, letter) == "torch"
    assert choose_path("cpu", 1, (300, 600, 2)) == "fused"  # on-line always fused on the CPU
    monkeypatch.setattr(plan, "_triton_available", lambda: True)
    assert choose_path("cuda", 1, letter) == choose_path("cuda", TRITON_MAX_BATCH, letter)
    assert choose_path("cuda", 1, letter) == "triton"
    assert choose_path("cuda", TRITON_MAX_BATCH + 1, letter) == "torch"
    assert choose_path("cuda", 1, (287, 128, 3)) == "torch"  # splice one-hot: 512 x 128 padded
    monkeypatch.setattr(plan, "_triton_available", lambda: False)
    assert choose_path("cuda", 1, letter) == "torch"


def test_bad_labels_are_refused(make_data):
    data = make_data()
    data = replace(data, y_hold=data.y_hold + 5)
    with pytest.raises(EngineConfigError, match="y_hold"):
        train(data, settings())


def test_auto_path_and_resolved_settings(make_data):
    weights = (4 + 1) * 8 + (8 + 1) * 3  # 4-8-3 with biases
    largest = FUSED_MAX_WORK // weights
    data = make_data(n_train=largest + 1)
    online = train(data, settings(path="auto", batch_size=1, epochs=1))
    small = train(data, settings(path="auto", batch_size=largest, epochs=1))
    full = train(data, settings(path="auto", batch_size="full", epochs=1))
    assert online.info["resolved"]["path"] == small.info["resolved"]["path"] == "fused"
    assert full.info["resolved"]["path"] == "torch"
    assert full.info["resolved"]["batch_rows"] == largest + 1
    assert online.info["resolved"]["fused_max_work"] == FUSED_MAX_WORK
    resolved = online.info["resolved"]
    assert resolved["float32_matmul_precision"] == "highest"
    assert resolved["cuda_matmul_allow_tf32"] is False
    assert resolved["threads_torch"] == 2 and resolved["hidden_units"] == 8
    installed = importlib.util.find_spec("triton") is not None
    expected = importlib.metadata.version("triton") if installed else "not installed"
    assert online.info["environment"]["versions"]["triton"] == expected


def test_threads_and_precision_are_restored(make_data):
    before = (torch.get_num_threads(), torch.get_float32_matmul_precision())
    train(make_data(), settings(threads=1, matmul_precision="high", epochs=1))
    assert (torch.get_num_threads(), torch.get_float32_matmul_precision()) == before


def test_progress_callback_and_bar(make_data):
    seen: list[EpochProgress] = []
    train(make_data(), settings(epochs=(2, 3)), progress=seen.append)
    assert [p.epoch for p in seen] == [1, 2, 3]
    assert [p.active for p in seen] == [4, 2, 0] and seen[0].max_epochs == 3
    assert all(b.seconds >= a.seconds for a, b in itertools.pairwise(seen))

    class Bar:
        n = 0

        def update(self, n: int = 1) -> None:
            self.n += n

    bar = Bar()
    train(make_data(), settings(epochs=3), progress=bar)
    assert bar.n == 3


def test_save_load_and_recompute_from_audit_trail(tmp_path, make_data):
    data = make_data(trials=(2, 5))
    s = settings(learning_rates=(0.3, 0.1), epochs=(3, 4), base_seed=11)
    run = train(data, s)
    run.save(tmp_path / "run")
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == [
        "audit.npz",
        "final_weights.npz",
        "records.npz",
        "run.json",
    ]
    loaded = load_run(tmp_path / "run")
    assert loaded.info == json.loads(json.dumps(run.info))
    for name in ("lr", "trial", "budget", "status", "epochs_run", *Records.CURVES):
        np.testing.assert_array_equal(getattr(loaded.records, name), getattr(run.records, name))
    # the audit trail: initial weights as drawn from (base seed, trial)
    with np.load(tmp_path / "run" / "audit.npz", allow_pickle=False) as audit:
        assert int(audit["base_seed"]) == 11 and list(audit["trial"]) == [2, 5, 2, 5]
        drawn = initial_weights(ModelSpec(), 4, 3, 11, audit["trial"])
        np.testing.assert_array_equal(audit["w1"], drawn.w1)
        np.testing.assert_array_equal(audit["b2"], drawn.b2)
    again = recompute(tmp_path / "run", data)
    assert_same_replicas(run, np.arange(4), again, np.arange(4))
    other_path = recompute(tmp_path / "run", data, path="torch")
    assert other_path.info["resolved"]["path"] == "torch"
    np.testing.assert_allclose(other_path.final.w1, run.final.w1, rtol=1e-4, atol=1e-6)
    with pytest.raises(EngineConfigError, match="trials"):
        recompute(tmp_path / "run", make_data(trials=(0, 1)))


def test_records_frame_is_tidy(make_data):
    run = train(make_data(), settings(epochs=(2, 3)))
    frame = run.records.to_frame()
    assert list(frame.columns) == [
        "replica",
        "trial",
        "lr",
        "epoch",
        "train_loss",
        "train_acc",
        "hold_acc",
        "test_acc",
        "seconds",
        "updates",
        "status",
    ]
    assert len(frame) == 3 + 3 + 4 + 4
    assert not frame.drop(columns="test_acc").isna().any().any()  # epochs 0-3: all scheduled
    at_last = frame.epoch == frame.replica.map(dict(enumerate(run.records.epochs_run)))
    assert frame.test_acc[at_last].notna().all()  # test accuracy: see test_engine_schedule.py
    last = frame[frame.replica == 2].iloc[-1]
    assert last.epoch == 3 and last.lr == 0.1 and last.train_loss == run.records.train_loss[2, 3]


def test_settings_from_dict_round_trip_and_unknown_keys():
    s = settings(model=ModelSpec(activation="tanh", hidden=12), patience=4, epochs=(3, 5))
    assert EngineSettings.from_dict(s.to_dict()) == s
    assert EngineSettings.from_dict({**s.to_dict(), "epochs": 7}).budgets == (7, 7)
    with pytest.raises(EngineConfigError, match="momentum"):
        EngineSettings.from_dict({**s.to_dict(), "momentum": 0.9})
    with pytest.raises(EngineConfigError, match=r"model\.depth"):
        EngineSettings.from_dict({**s.to_dict(), "model": {"depth": 2}})


@given(n=st.integers(1, 500), batch=st.integers(1, 500), lr=st.floats(1e-6, 10))
def test_step_scales_cover_every_row_once(n, batch, lr):
    """Sum: every step is scaled by -lr; mean: by -lr/|B|, the short last batch by its own size."""
    batch = min(batch, n)
    steps = -(-n // batch)
    last_rows = n - (steps - 1) * batch
    assert 1 <= last_rows <= batch
    rates = np.array([lr])
    np.testing.assert_array_equal(step_scales(rates, batch, n, "sum"), [-rates, -rates])
    full, last = step_scales(rates, batch, n, "mean")
    np.testing.assert_allclose(full * batch, -rates)
    np.testing.assert_allclose(last * last_rows, -rates)
