"""The optimizers and weight decay (engine/optimizers.py): torch.optim's trajectories, plain
SGD's bits where the rule is plain SGD, the optimizer state across stops, threads and
paths, the settings' validation, the path rule and run.json.

Oracle: float64 weights after 50-52 updates equal those of a per-model torch.nn loop
stepped by ``torch.optim.SGD(momentum, nesterov, weight_decay)`` or ``torch.optim.Adam``
(test_engine_oracle.py's reference, same initial weights and presentation orders) to
1e-9 relative, at batch sizes 1, 7 and full, on the fused and the torch path.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import replace

import llvmlite.binding
import numpy as np
import pytest
import torch
from conftest import synthetic_data
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from test_engine import assert_same_replicas, settings
from test_engine_oracle import PATHS, assert_matches_oracle, settings_for
from torch import nn

from batch_inefficiency.engine import (
    EngineConfigError,
    EngineSettings,
    choose_path,
    fused_path,
    load_run,
    plan,
    recompute,
    resolve,
    train,
)
from batch_inefficiency.engine.optimizers import OptimizerSpec
from batch_inefficiency.models import ModelSpec

ORACLE_PATHS = [p for p in PATHS if p.values[0][1] != "triton"]  # triton runs plain SGD only
N_TRAIN = 25  # batch 7: three full batches and a short one
# epochs for 50-52 updates: 25 a epoch on-line, 4 at batch 7, 1 full
EPOCHS_FOR_50_STEPS = {1: 2, 7: 13, "full": 50}
ADAM = OptimizerSpec("adam", betas=(0.8, 0.99), eps=1e-6)  # not the defaults: they must be used
RULES = {
    "momentum": (OptimizerSpec("momentum", momentum=0.9), 0.0),
    "nesterov": (OptimizerSpec("nesterov", momentum=0.8), 0.0),
    "adam": (ADAM, 0.0),
    "sgd-weight-decay": (OptimizerSpec(), 0.01),
    "momentum-weight-decay": (OptimizerSpec("momentum", momentum=0.9), 0.01),
    "adam-weight-decay": (OptimizerSpec("adam"), 0.01),
}
RATES = {
    "sgd": (0.1, 0.02),
    "momentum": (0.02, 0.005),
    "nesterov": (0.02, 0.005),
    "adam": (0.05, 0.01),
}
OPTIMIZERS = [OptimizerSpec("momentum"), OptimizerSpec("nesterov"), OptimizerSpec("adam")]


def torch_optimizer(spec: OptimizerSpec, weight_decay: float):
    """The torch.optim factory ``(parameters, lr) -> optimizer`` of ``spec``."""

    def make(params: Iterable[nn.Parameter], lr: float) -> torch.optim.Optimizer:
        if spec.name == "adam":
            return torch.optim.Adam(
                params, lr=lr, betas=spec.betas, eps=spec.eps, weight_decay=weight_decay
            )
        momentum = 0.0 if spec.name == "sgd" else spec.momentum
        nesterov = spec.name == "nesterov"
        return torch.optim.SGD(
            params, lr=lr, momentum=momentum, nesterov=nesterov, weight_decay=weight_decay
        )

    return make


def oracle_settings(device_path, batch, spec: OptimizerSpec, weight_decay: float, **changes):
    """test_engine_oracle's float64 settings with ``spec``, for 50-52 updates."""
    return settings_for(
        device_path,
        batch,
        optimizer=spec,
        weight_decay=weight_decay,
        epochs=EPOCHS_FOR_50_STEPS[batch],
        learning_rates=RATES[spec.name],
        **changes,
    )


@pytest.mark.parametrize("device_path", ORACLE_PATHS)
@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("batch", [1, 7, "full"])
def test_weights_equal_torch_optim_oracle(device_path, rule, batch, make_data):
    spec, weight_decay = RULES[rule]
    data = make_data(trials=(0, 3), n_train=N_TRAIN)
    s = oracle_settings(device_path, batch, spec, weight_decay)
    result = assert_matches_oracle(data, s, torch_optimizer(spec, weight_decay))
    assert result.info["resolved"]["update_rule"] == spec.name


@pytest.mark.parametrize("device_path", ORACLE_PATHS)
@pytest.mark.parametrize("spec", [OptimizerSpec("nesterov"), ADAM], ids=["nesterov", "adam"])
@pytest.mark.parametrize("batch", [1, 7])
def test_other_models_and_mean_reduction_equal_the_oracle(device_path, spec, batch, make_data):
    """Five classes (the fused kernel's hidden-major ``w2`` in float64), cross-entropy, relu,
    the mean loss, weight decay."""
    data = make_data(trials=(0, 3), n_train=N_TRAIN, n_classes=5)
    model = ModelSpec(activation="relu", loss="cross_entropy", init="fan_in")
    s = oracle_settings(device_path, batch, spec, 0.001, model=model, reduction="mean")
    assert_matches_oracle(data, s, torch_optimizer(spec, 0.001))


# The fused path in float32 alone: μ = 0 resolves to plain SGD whatever the dtype (the
# resolved rule is asserted), and plain SGD's float32 kernel (3 classes: output-major) is the
# one that most tests and the workflow's tiny run compile anyway; float64's is another 40-80 s.
@pytest.mark.parametrize(
    ("path", "dtype"), [("fused", "float32"), ("torch", "float32"), ("torch", "float64")]
)
@hypothesis_settings(max_examples=12, deadline=None)
@given(lr=st.floats(1e-3, 1.0), batch=st.sampled_from([1, 3, 7, "full"]))
def test_momentum_zero_is_plain_sgd_bit_for_bit(path, dtype, lr, batch):
    """torch.optim.SGD with momentum 0 is plain SGD; so is the engine's, in the same kernels."""
    data = synthetic_data()
    s = settings(path=path, dtype=dtype, batch_size=batch, learning_rates=(lr,), epochs=3)
    plain = train(data, s)
    momentum = train(data, replace(s, optimizer=OptimizerSpec("momentum", momentum=0.0)))
    assert momentum.info["resolved"]["update_rule"] == "sgd"
    assert momentum.info["resolved"]["optimizer_state"] == {}
    assert_same_replicas(plain, np.arange(2), momentum, np.arange(2))


@hypothesis_settings(max_examples=8, deadline=None)
@given(
    spec=st.sampled_from(OPTIMIZERS),
    weight_decay=st.sampled_from([0.0, 0.01]),
    batch=st.sampled_from([1, 4]),
    dtype=st.sampled_from(["float32", "float64"]),
)
def test_fused_bits_do_not_depend_on_the_thread_count(spec, weight_decay, batch, dtype):
    data = synthetic_data(trials=(0, 1, 2))
    s = settings(
        path="fused", dtype=dtype, batch_size=batch, optimizer=spec, weight_decay=weight_decay
    )
    one, two = train(data, replace(s, threads=1)), train(data, replace(s, threads=2))
    assert_same_replicas(one, np.arange(6), two, np.arange(6))


@pytest.mark.parametrize("spec", OPTIMIZERS, ids=lambda spec: spec.name)
@pytest.mark.parametrize("batch", [1, 4])
def test_fused_agrees_with_torch_in_float32(spec, batch, make_data):
    """As tests/test_engine.py holds plain SGD's paths to each other in float32."""
    data = make_data()
    s = settings(dtype="float32", batch_size=batch, optimizer=spec, weight_decay=0.01)
    s = replace(s, learning_rates=RATES[spec.name])
    fused, torch_ = train(data, replace(s, path="fused")), train(data, replace(s, path="torch"))
    for name in ("train_loss", "train_acc"):
        np.testing.assert_allclose(
            getattr(fused.records, name), getattr(torch_.records, name), rtol=1e-4, atol=1e-4
        )
    np.testing.assert_allclose(fused.final.w1, torch_.final.w1, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("path", ["fused", "torch"])
@pytest.mark.parametrize("spec", OPTIMIZERS, ids=lambda spec: spec.name)
def test_stopped_replicas_leave_the_state_of_the_others_alone(path, spec, make_data):
    """A rate whose budget ends first leaves the active set with its optimizer state; the
    other rate's replicas keep theirs: the fused path's weights are those trained alone bit
    for bit. (The curves hold to round-off: scored with four replicas or two, the batched
    products of evaluation may round differently.)"""
    data = make_data(trials=(0, 1))
    s = settings(path=path, dtype="float64", optimizer=spec, weight_decay=0.01)
    mixed = train(data, replace(s, learning_rates=(0.03, 0.01), epochs=(2, 5)))
    alone = train(data, replace(s, learning_rates=(0.01,), epochs=(5,)))
    assert list(mixed.records.epochs_run) == [2, 2, 5, 5]
    assert_same_replicas(mixed, np.array([2, 3]), alone, np.array([0, 1]), rtol=1e-12)
    if path == "fused":
        for name, value in alone.final.as_dict().items():
            assert np.array_equal(mixed.final.as_dict()[name][2:], value)


@pytest.mark.parametrize("spec", OPTIMIZERS, ids=lambda spec: spec.name)
@pytest.mark.parametrize("batch", [1, 3])
def test_skipping_zero_inputs_and_the_output_major_layer_keep_the_bits(
    spec, batch, make_data, monkeypatch
):
    """As for plain SGD (tests/test_engine.py): the fused kernel's sparse inputs give the
    bits of the dense kernel, and its output-major ``w2`` those of the hidden-major one
    where LLVM's vector loops are AVX-512's (fused_path.py), except for Adam: its step's
    elements fall differently into the vector loops and their scalar tails in the two
    layouts, and its last bits differ."""
    data = make_data(trials=(0, 1), n_inputs=12)
    for x in (data.x_train, data.x_hold, data.x_test):
        x[x < 0.6] = 0  # 60% of the inputs zero
    s = settings(path="fused", batch_size=batch, epochs=(6, 6), optimizer=spec, weight_decay=0.01)
    assert fused_path.nonzero_inputs(data.x_train)[1].min() < 12  # the sparse path is taken
    sparse = train(data, s)
    monkeypatch.setattr(fused_path, "SPARSE_MIN_SHARE", 1.1)
    dense = train(data, s)
    assert_same_replicas(sparse, np.arange(4), dense, np.arange(4))
    if spec.name != "adam" and llvmlite.binding.get_host_cpu_features().get("avx512f"):
        monkeypatch.setitem(fused_path.OUTPUT_MAJOR_BELOW, np.dtype("float32"), 0)
        assert_same_replicas(dense, np.arange(4), train(data, s), np.arange(4))


def test_run_json_records_the_rule_and_its_state_and_recomputes(tmp_path, make_data):
    data = make_data(trials=(2, 5))
    s = settings(path="fused", optimizer=OptimizerSpec("adam", eps=1e-7), weight_decay=0.001)
    run = train(data, s)
    run.save(tmp_path / "run")
    info = json.loads((tmp_path / "run" / "run.json").read_text())
    assert info["settings"]["optimizer"] == {
        "name": "adam",
        "momentum": 0.9,
        "betas": [0.9, 0.999],
        "eps": 1e-7,
    }
    assert info["settings"]["weight_decay"] == 0.001
    resolved = info["resolved"]
    assert resolved["update_rule"] == "adam"
    shapes = {"w1": [4, 4, 8], "b1": [4, 8], "w2": [4, 8, 3], "b2": [4, 3]}  # R = 4, 4-8-3
    assert resolved["optimizer_state"] == {"step": [4], "exp_avg": shapes, "exp_avg_sq": shapes}
    assert load_run(tmp_path / "run").info == info
    again = recompute(tmp_path / "run", data)
    assert_same_replicas(run, np.arange(4), again, np.arange(4))
    plain = train(data, settings(path="fused"))
    assert plain.info["resolved"]["update_rule"] == "sgd"
    assert plain.info["resolved"]["optimizer_state"] == {}
    momentum = train(data, settings(path="torch", optimizer=OptimizerSpec("momentum")))
    assert set(momentum.info["resolved"]["optimizer_state"]) == {"step", "momentum_buffer"}


MOMENTUM = "optimizer.momentum must be in [0, 1), got "
BETAS = "optimizer.betas must be two numbers each in [0, 1), got "
EPS = "optimizer.eps must be a finite number > 0, got "


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"optimizer": OptimizerSpec("adamw")},  # type: ignore[arg-type]
            "unknown optimizer 'adamw' (expected one of: sgd, momentum, nesterov, adam)",
        ),
        ({"optimizer": OptimizerSpec("momentum", momentum=1.2)}, MOMENTUM + "1.2"),
        ({"optimizer": OptimizerSpec("momentum", momentum=1.0)}, MOMENTUM + "1.0"),
        ({"optimizer": OptimizerSpec("nesterov", momentum=-0.1)}, MOMENTUM + "-0.1"),
        ({"optimizer": OptimizerSpec(momentum=float("nan"))}, MOMENTUM + "nan"),
        ({"optimizer": OptimizerSpec(momentum=True)}, MOMENTUM + "True"),
        (
            {"optimizer": OptimizerSpec("nesterov", momentum=0.0)},
            "optimizer.momentum must be > 0 for nesterov (as torch's SGD), got 0.0",
        ),
        ({"optimizer": OptimizerSpec("adam", betas=(0.9, 1.0))}, BETAS + "(0.9, 1.0)"),
        ({"optimizer": OptimizerSpec("adam", betas=(-0.1, 0.99))}, BETAS + "(-0.1, 0.99)"),
        ({"optimizer": OptimizerSpec("adam", betas=(0.9,))}, BETAS + "(0.9,)"),  # type: ignore[arg-type]
        ({"optimizer": OptimizerSpec("adam", eps=0.0)}, EPS + "0.0"),
        ({"optimizer": OptimizerSpec("adam", eps=-1e-8)}, EPS + "-1e-08"),
        ({"weight_decay": -0.1}, "weight_decay must be a finite number >= 0, got -0.1"),
        ({"weight_decay": float("inf")}, "weight_decay must be a finite number >= 0, got inf"),
    ],
)
def test_bad_optimizer_settings_are_refused_in_one_line_naming_key_and_value(
    changes, message, make_data
):
    with pytest.raises(EngineConfigError) as info:
        train(make_data(), settings(**changes))
    assert str(info.value) == message


def test_settings_from_a_nested_mapping_round_trip():
    given_ = settings(optimizer=OptimizerSpec("adam", betas=(0.8, 0.99)), weight_decay=0.01)
    assert EngineSettings.from_dict(given_.to_dict()) == given_
    config = {
        "batch_size": 1,
        "learning_rates": [0.1],
        "epochs": 3,
        "optimizer": {"name": "adam", "betas": [0.9, 0.999], "eps": 1e-8},
        "weight_decay": 0.0,
    }
    read = EngineSettings.from_dict(config)
    assert read.optimizer == OptimizerSpec("adam", betas=(0.9, 0.999), eps=1e-8)
    assert EngineSettings.from_dict({**config, "optimizer": None}).optimizer == OptimizerSpec()
    with pytest.raises(EngineConfigError, match=r"unknown engine setting\(s\): optimizer\.lr$"):
        EngineSettings.from_dict({**config, "optimizer": {"name": "adam", "lr": 0.1}})
    with pytest.raises(EngineConfigError, match="optimizer must be a mapping") as info:
        EngineSettings.from_dict({**config, "optimizer": "adam"})
    assert "\n" not in str(info.value)


def test_auto_path_on_cuda_takes_torch_for_any_rule_but_plain_sgd(monkeypatch, make_data):
    """The Triton kernel runs plain SGD only: ``auto`` on a CUDA plan picks torch for the rest."""
    letter = (16, 32, 26)
    monkeypatch.setattr(plan, "_triton_available", lambda: True)
    assert choose_path("cuda", 1, letter) == choose_path("cuda", 1, letter, True) == "triton"
    assert choose_path("cuda", 1, letter, plain_sgd=False) == "torch"
    assert choose_path("cpu", 1, letter, plain_sgd=False) == "fused"  # the CPU rule is the same
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    data = make_data()
    cuda = settings(device="cuda", path="auto", batch_size=1)
    assert resolve(cuda, data).path == "triton"
    assert resolve(replace(cuda, optimizer=OptimizerSpec("adam")), data).path == "torch"
    assert resolve(replace(cuda, weight_decay=1e-4), data).path == "torch"
    momentum_zero = replace(cuda, optimizer=OptimizerSpec("momentum", momentum=0.0))
    assert resolve(momentum_zero, data).path == "triton"  # plain SGD, as torch.optim has it


def test_triton_path_with_another_rule_is_refused_in_one_line(make_data):
    s = settings(path="triton", optimizer=OptimizerSpec("adam"))
    with pytest.raises(EngineConfigError, match="path 'triton' runs plain SGD only") as info:
        train(make_data(), s)
    assert "'adam'" in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(EngineConfigError, match=r"weight_decay 0\.5"):
        train(make_data(), settings(path="triton", weight_decay=0.5))
