"""Oracle tests: the engine equals an independent per-model torch.nn + torch.optim.SGD loop.

docs/design.md §5: for every batch size and path, the weights after a few epochs must
equal, to float64 round-off, those of a plain autograd loop on the summed loss
with the same initial weights and the same ``epoch_permutation`` orders.
Tolerance: 1e-9 relative (plus 1e-12 absolute for weights near zero).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import TRITON_DEVICE, needs_triton
from torch import nn

from batch_inefficiency.data.splits import TrialData
from batch_inefficiency.engine import EngineSettings, RunResult, train
from batch_inefficiency.models import ModelSpec
from batch_inefficiency.seeds import epoch_permutation

RTOL, ATOL = 1e-9, 1e-12
EPOCHS = 3

PATHS = [
    pytest.param(("cpu", "torch"), id="torch-cpu"),
    pytest.param(("cpu", "fused"), id="fused-cpu"),
    pytest.param(
        ("cuda", "torch"),
        id="torch-cuda",
        marks=[
            pytest.mark.gpu,
            pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device"),
        ],
    ),
    pytest.param((TRITON_DEVICE, "triton"), id=f"triton-{TRITON_DEVICE}", marks=needs_triton),
]
TORCH_ACTIVATIONS = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU}
Optimizer = Callable[[Iterable[nn.Parameter], float], torch.optim.Optimizer]


def plain_sgd(params: Iterable[nn.Parameter], lr: float) -> torch.optim.Optimizer:
    return torch.optim.SGD(params, lr=lr)


def oracle_weights(
    data: TrialData, settings: EngineSettings, result: RunResult, optimizer: Optimizer = plain_sgd
) -> list[list[np.ndarray]]:
    """Per replica [w1, b1, w2, b2] after its budget of epochs with nn.Sequential and
    ``optimizer(parameters, lr)`` (optim.SGD), in float64."""
    spec = settings.model
    n_train, k = data.x_train.shape[1], data.n_classes
    batch = n_train if settings.batch_size == "full" else settings.batch_size
    out = []
    for r, (lr, trial) in enumerate(zip(result.records.lr, result.records.trial, strict=True)):
        row = data.trials.index(int(trial))
        w1, b1, w2, b2 = (result.initial.as_dict()[n][r] for n in ("w1", "b1", "w2", "b2"))
        model = nn.Sequential(
            nn.Linear(w1.shape[0], w1.shape[1]),
            TORCH_ACTIVATIONS[spec.activation](),
            nn.Linear(w2.shape[0], w2.shape[1]),
        ).double()
        with torch.no_grad():
            for param, value in zip(model.parameters(), (w1.T, b1, w2.T, b2), strict=True):
                param.copy_(torch.from_numpy(np.ascontiguousarray(value)))
        optim = optimizer(model.parameters(), float(lr))
        x = torch.from_numpy(data.x_train[row])
        y = torch.from_numpy(data.y_train[row])
        for epoch in range(int(result.records.budget[r])):
            order = torch.from_numpy(
                epoch_permutation(settings.base_seed, int(trial), epoch, n_train)
            )
            for start in range(0, n_train, batch):
                idx = order[start : start + batch]
                z = model(x[idx])
                if spec.loss == "squared_error":
                    target = F.one_hot(y[idx], k).double()
                    loss = 0.5 * ((torch.sigmoid(z) - target) ** 2).sum()
                else:
                    loss = F.cross_entropy(z, y[idx], reduction="sum")
                if settings.reduction == "mean":
                    loss = loss / len(idx)
                optim.zero_grad()
                loss.backward()
                optim.step()
        out.append([p.detach().numpy().T for p in model.parameters()])
    return out


def assert_matches_oracle(
    data: TrialData, settings: EngineSettings, optimizer: Optimizer = plain_sgd
) -> RunResult:
    result = train(data, settings)
    assert (result.records.status == "complete").all()
    assert result.info["resolved"]["path"] == settings.path
    expected = oracle_weights(data, settings, result, optimizer)
    final = result.final.as_dict()
    for r, weights in enumerate(expected):
        for name, value in zip(("w1", "b1", "w2", "b2"), weights, strict=True):
            np.testing.assert_allclose(final[name][r], value, rtol=RTOL, atol=ATOL, err_msg=name)
    return result


def settings_for(device_path: tuple[str, str], batch, **changes) -> EngineSettings:
    device, path = device_path
    base = EngineSettings(
        batch_size=batch,
        learning_rates=(0.5, 0.05),
        epochs=EPOCHS,
        base_seed=7,
        device=device,
        dtype="float64",
        path=path,
        chunk_rows=8,  # several chunks per batch for "full" (23 rows): exercises accumulation
    )
    return replace(base, **changes)


@pytest.mark.parametrize("device_path", PATHS)
@pytest.mark.parametrize("loss", ["squared_error", "cross_entropy"])
@pytest.mark.parametrize("batch", [1, 3, 10, "full"])
def test_weights_equal_sgd_oracle(device_path, loss, batch, make_data):
    data = make_data(trials=(0, 3))
    settings = settings_for(device_path, batch, model=ModelSpec(loss=loss))
    assert_matches_oracle(data, settings)


@pytest.mark.parametrize("device_path", PATHS)
@pytest.mark.parametrize("loss", ["squared_error", "cross_entropy"])
@pytest.mark.parametrize("batch", [1, 3])
def test_five_classes_equal_sgd_oracle(device_path, loss, batch, make_data):
    """Five outputs in float64: the fused kernel's hidden-major ``w2`` (three are output-major)."""
    settings = settings_for(device_path, batch, model=ModelSpec(loss=loss))
    assert_matches_oracle(make_data(trials=(0, 3), n_classes=5), settings)


@pytest.mark.parametrize("device_path", PATHS)
@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_other_activations_equal_oracle(device_path, activation, make_data):
    settings = settings_for(
        device_path, 3, model=ModelSpec(activation=activation, loss="cross_entropy", init="fan_in")
    )
    assert_matches_oracle(make_data(), settings)


@pytest.mark.parametrize("device_path", PATHS)
def test_mean_reduction_matches_oracle(device_path, make_data):
    assert_matches_oracle(make_data(), settings_for(device_path, 10, reduction="mean"))


@pytest.mark.parametrize("device_path", PATHS)
@pytest.mark.parametrize("batch", [4, "full"])
def test_mean_equals_sum_with_rate_times_batch(device_path, batch, make_data):
    data = make_data(n_train=24)  # 24 = 6 x 4: no short batch, so |B| is the same for every step
    rows = 24 if batch == "full" else batch
    rates = (0.5, 0.05)
    summed = train(data, settings_for(device_path, batch, learning_rates=rates))
    mean = train(
        data,
        settings_for(
            device_path, batch, learning_rates=tuple(r * rows for r in rates), reduction="mean"
        ),
    )
    for name, value in summed.final.as_dict().items():
        np.testing.assert_allclose(mean.final.as_dict()[name], value, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("device_path", PATHS)
def test_recorded_train_loss_matches_oracle_loss(device_path, make_data):
    data = make_data()
    settings = settings_for(device_path, 3)
    result = train(data, settings)
    for r, (w1, b1, w2, b2) in enumerate(oracle_weights(data, settings, result)):
        row = data.trials.index(int(result.records.trial[r]))
        o = sigmoid(sigmoid(data.x_train[row] @ w1 + b1) @ w2 + b2)  # [n, k]
        t = np.eye(data.n_classes)[data.y_train[row]]
        loss = 0.5 * ((o - t) ** 2).sum(1).mean()
        acc = (o.argmax(1) == data.y_train[row]).mean()
        np.testing.assert_allclose(result.records.train_loss[r, EPOCHS], loss, rtol=RTOL)
        assert result.records.train_acc[r, EPOCHS] == acc


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-z))
