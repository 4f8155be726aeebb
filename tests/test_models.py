"""Model spec, initialisation and the hand-written backward (checked against autograd)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from batch_inefficiency.engine.torch_path import accumulate_gradients
from batch_inefficiency.models import (
    ACTIVATIONS,
    LOSSES,
    ModelSpec,
    from_tensors,
    hidden_units,
    initial_weights,
    to_tensors,
)

REFERENCE_ACTIVATIONS = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu}


def reference_loss(name: str, z: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Σ over instances of the per-instance loss, per replica ([R])."""
    if name == "squared_error":
        return 0.5 * ((torch.sigmoid(z) - t) ** 2).sum((1, 2))
    return (
        F.cross_entropy(z.flatten(0, 1), t.flatten(0, 1), reduction="none").view(z.shape[:2]).sum(1)
    )


@pytest.mark.parametrize(
    ("inputs", "expected"), [(16, 32), (1, 4), (2, 4), (3, 6), (64, 128), (300, 128)]
)
def test_twice_inputs_rule_clamps_to_4_and_128(inputs, expected):
    assert hidden_units(ModelSpec(), inputs, 26) == expected


def test_explicit_hidden_units():
    assert hidden_units(ModelSpec(hidden=7), 16, 26) == 7
    assert initial_weights(ModelSpec(hidden=7), 16, 26, 1, [0]).w1.shape == (1, 16, 7)


def test_initial_weights_depend_on_seed_and_trial_only():
    spec = ModelSpec()
    w = initial_weights(spec, 5, 3, 2003, [0, 1, 0, 1])
    assert w.w1.shape == (4, 5, 10) and w.b1.shape == (4, 10)
    assert w.w2.shape == (4, 10, 3) and w.b2.shape == (4, 3)
    for a in w.as_dict().values():
        np.testing.assert_array_equal(a[0], a[2])  # same trial, same weights
        assert not np.array_equal(a[0], a[1])
    alone = initial_weights(spec, 5, 3, 2003, [1])
    for name, a in w.as_dict().items():
        np.testing.assert_array_equal(a[1], alone.as_dict()[name][0])
    other_seed = initial_weights(spec, 5, 3, 2004, [0])
    assert not np.array_equal(other_seed.w1[0], w.w1[0])


def test_uniform_init_within_scale():
    w = initial_weights(ModelSpec(init_scale=0.1), 16, 26, 0, range(5))
    for a in w.as_dict().values():
        assert np.abs(a).max() <= 0.1
        assert np.abs(a).max() > 0.09  # uses the whole range
    w = initial_weights(ModelSpec(init_scale=0.5), 16, 26, 0, [0])
    assert np.abs(w.w1).max() > 0.4


def test_fan_in_init_bounds():
    w = initial_weights(ModelSpec(init="fan_in"), 16, 26, 0, range(5))
    h = w.w1.shape[2]
    assert np.abs(w.w1).max() <= 1 / np.sqrt(16) and np.abs(w.b1).max() <= 1 / np.sqrt(16)
    assert np.abs(w.w2).max() <= 1 / np.sqrt(h) and np.abs(w.b2).max() <= 1 / np.sqrt(h)
    assert np.abs(w.w1).max() > 0.9 / np.sqrt(16)


def test_tensor_round_trip():
    w = initial_weights(ModelSpec(), 3, 4, 0, [0, 1])
    tensors = to_tensors(w, torch.float64, torch.device("cpu"))
    assert [tuple(t.shape) for t in tensors] == [(2, 3, 6), (2, 6), (2, 6, 4), (2, 4)]
    back = from_tensors(*tensors)
    for name, a in w.as_dict().items():
        np.testing.assert_array_equal(back.as_dict()[name], a)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_backward_from_output_equals_autograd(name):
    z = torch.randn(3, 5, 7, dtype=torch.float64, requires_grad=True)
    grad = torch.randn(3, 5, 7, dtype=torch.float64)
    reference = REFERENCE_ACTIVATIONS[name](z)
    reference.backward(grad)
    a = ACTIVATIONS[name].forward_(z.detach().clone())
    torch.testing.assert_close(a, reference.detach(), rtol=0, atol=0)
    torch.testing.assert_close(ACTIVATIONS[name].backward(grad, a), z.grad, rtol=1e-12, atol=0)


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_loss_delta_and_sum_equal_autograd(name):
    z = torch.randn(2, 6, 4, dtype=torch.float64, requires_grad=True)
    t = F.one_hot(torch.randint(0, 4, (2, 6)), 4).double()
    reference = reference_loss(name, z, t.argmax(-1) if name == "cross_entropy" else t)
    reference.sum().backward()
    torch.testing.assert_close(LOSSES[name].summed(z.detach(), t), reference.detach())
    torch.testing.assert_close(LOSSES[name].delta_(z.detach().clone(), t), z.grad)


@pytest.mark.parametrize("loss", sorted(LOSSES))
@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_hand_written_backward_equals_autograd(activation, loss):
    torch.manual_seed(0)
    r, c, d, h, k = 3, 5, 4, 6, 3
    x = torch.rand(r, c, d, dtype=torch.float64)
    labels = torch.randint(0, k, (r, c))
    t = F.one_hot(labels, k).double()
    shapes = [(r, d, h), (r, h), (r, h, k), (r, k)]
    w1, b1, w2, b2 = (torch.randn(s, dtype=torch.float64, requires_grad=True) for s in shapes)
    a1 = REFERENCE_ACTIVATIONS[activation](x @ w1 + b1[:, None])
    z = a1 @ w2 + b2[:, None]
    reference_loss(loss, z, labels if loss == "cross_entropy" else t).sum().backward()

    params = tuple(p.detach() for p in (w1, b1, w2, b2))
    grads = tuple(torch.zeros_like(p) for p in params)
    scale = torch.full((r, 1, 1), 2.0, dtype=torch.float64)
    accumulate_gradients(x, t, params, scale, grads, ACTIVATIONS[activation], LOSSES[loss])
    for mine, p in zip(grads, (w1, b1, w2, b2), strict=True):
        torch.testing.assert_close(mine, 2 * p.grad, rtol=1e-12, atol=1e-14)
