"""The one-hidden-layer MLP of the replication: spec, variants and initial weights.

docs/design.md §2 (our defaults for what the paper leaves open): one hidden layer of
sigmoid units; one sigmoid output per class with 0/1 targets and squared error
(per-instance loss ½ Σ_k (o_k - t_k)²), or softmax outputs with cross-entropy;
weights and biases uniform in ±0.1, or ±1/√fan_in; hidden units a documented
function of the number of inputs.

Variants are small registries (name → implementation with one contract), so a
new activation, loss, initialisation or hidden-size rule is one entry:

* ``ACTIVATIONS``: the hidden non-linearity and its derivative written in terms
  of its *output* (what the hand-written backward of engine/torch_path.py and engine/fused_path.py
  needs).
* ``LOSSES``: the output function paired with its loss: the error signal at the
  output pre-activation and the summed per-instance loss.
* ``INITS`` and ``HIDDEN_RULES``.

Weights of R replicas are ``w1 [R, d, h], b1 [R, h], w2 [R, h, k], b2 [R, k]``:
:class:`Weights` (NumPy, what runs save) or the same four arrays as tensors
(:func:`to_tensors`), which the engines update in place.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .seeds import Purpose, rng_for

Tensor = torch.Tensor


@dataclass(frozen=True)
class ModelSpec:
    """The model's variant choices; every field is a registry key (or an int for ``hidden``)."""

    activation: str = "sigmoid"
    loss: str = "squared_error"
    init: str = "uniform"
    init_scale: float = 0.1  # half-width of the ``uniform`` rule
    hidden: str | int = "twice_inputs"  # a HIDDEN_RULES name or an explicit unit count


@dataclass(frozen=True)
class Activation:
    """A hidden non-linearity for the hand-written backward.

    ``forward_`` applies it in place; ``backward(grad, a)`` returns
    ``grad · f'(z)`` from the output ``a = f(z)``.
    """

    forward_: Callable[[Tensor], Tensor]
    backward: Callable[[Tensor, Tensor], Tensor]


@dataclass(frozen=True)
class Loss:
    """An output function and its loss, on the output pre-activation ``z`` and one-hot ``t``.

    ``delta_(z, t)`` returns ∂l/∂z per instance (it may overwrite ``z``);
    ``summed(z, t)`` returns Σ over instances of l per replica, ``[R]``.
    """

    delta_: Callable[[Tensor, Tensor], Tensor]
    summed: Callable[[Tensor, Tensor], Tensor]


def _relu_backward(grad: Tensor, a: Tensor) -> Tensor:
    return torch.ops.aten.threshold_backward(grad, a, 0)


def _squared_error_delta(z: Tensor, t: Tensor) -> Tensor:
    o = z.sigmoid_()  # [R, b, k]
    return torch.ops.aten.sigmoid_backward(o - t, o)  # (o - t)·o·(1 - o)


def _squared_error_summed(z: Tensor, t: Tensor) -> Tensor:
    return 0.5 * F.mse_loss(torch.sigmoid(z), t, reduction="none").sum((1, 2))  # [R]


def _cross_entropy_delta(z: Tensor, t: Tensor) -> Tensor:
    return torch.softmax(z, dim=-1).sub_(t)  # p - t, [R, b, k]


def _cross_entropy_summed(z: Tensor, t: Tensor) -> Tensor:
    return -(torch.log_softmax(z, dim=-1) * t).sum((1, 2))  # [R]


ACTIVATIONS: dict[str, Activation] = {
    "sigmoid": Activation(Tensor.sigmoid_, torch.ops.aten.sigmoid_backward),
    "tanh": Activation(Tensor.tanh_, torch.ops.aten.tanh_backward),
    "relu": Activation(Tensor.relu_, _relu_backward),
}

LOSSES: dict[str, Loss] = {
    "squared_error": Loss(_squared_error_delta, _squared_error_summed),  # sigmoid outputs
    "cross_entropy": Loss(_cross_entropy_delta, _cross_entropy_summed),  # softmax outputs
}


def _uniform(
    rng: np.random.Generator, fan_in: int, shape: tuple[int, ...], scale: float
) -> np.ndarray:
    return rng.uniform(-scale, scale, size=shape)


def _fan_in(
    rng: np.random.Generator, fan_in: int, shape: tuple[int, ...], scale: float
) -> np.ndarray:
    bound = 1.0 / np.sqrt(fan_in)
    return rng.uniform(-bound, bound, size=shape)


# name -> (rng, fan_in, shape, init_scale) -> float64 array
INITS: dict[str, Callable[[np.random.Generator, int, tuple[int, ...], float], np.ndarray]] = {
    "uniform": _uniform,  # U(-init_scale, init_scale)
    "fan_in": _fan_in,  # U(-1/√fan_in, 1/√fan_in), biases use their layer's fan-in
}

# name -> (inputs, classes) -> hidden units
HIDDEN_RULES: dict[str, Callable[[int, int], int]] = {
    "twice_inputs": lambda d, k: min(max(2 * d, 4), 128),  # 2 x inputs clamped to [4, 128]
}


def hidden_units(spec: ModelSpec, n_inputs: int, n_classes: int) -> int:
    """The number of hidden units ``spec.hidden`` gives for this task."""
    if isinstance(spec.hidden, int):
        return spec.hidden
    return HIDDEN_RULES[spec.hidden](n_inputs, n_classes)


def weight_count(n_inputs: int, hidden: int, n_classes: int) -> int:
    """Weights and biases of one network: (d + 1) h + (h + 1) k."""
    return (n_inputs + 1) * hidden + (hidden + 1) * n_classes


@dataclass(frozen=True)
class Weights:
    """Weights of R replicas in the public layout (float64 NumPy unless stated)."""

    w1: np.ndarray  # [R, d, h]
    b1: np.ndarray  # [R, h]
    w2: np.ndarray  # [R, h, k]
    b2: np.ndarray  # [R, k]

    def as_dict(self) -> dict[str, np.ndarray]:
        """``{"w1": ..., "b1": ..., "w2": ..., "b2": ...}``."""
        return {"w1": self.w1, "b1": self.b1, "w2": self.w2, "b2": self.b2}


def initial_weights(
    spec: ModelSpec, n_inputs: int, n_classes: int, base_seed: int, trials: Sequence[int]
) -> Weights:
    """Float64 initial weights, one replica per entry of ``trials``.

    Replica ``r`` draws from ``rng_for(base_seed, trials[r], Purpose.INIT)`` in
    the order w1, b1, w2, b2, so it depends on (base seed, trial) only: every
    learning rate and batch size of a trial starts from the same weights.
    """
    h = hidden_units(spec, n_inputs, n_classes)
    rule = INITS[spec.init]
    layers: list[list[np.ndarray]] = [[], [], [], []]
    for trial in trials:
        rng = rng_for(base_seed, trial, Purpose.INIT)
        layers[0].append(rule(rng, n_inputs, (n_inputs, h), spec.init_scale))
        layers[1].append(rule(rng, n_inputs, (h,), spec.init_scale))
        layers[2].append(rule(rng, h, (h, n_classes), spec.init_scale))
        layers[3].append(rule(rng, h, (n_classes,), spec.init_scale))
    w1, b1, w2, b2 = (np.stack(arrays) for arrays in layers)
    return Weights(w1, b1, w2, b2)


def to_tensors(weights: Weights, dtype: torch.dtype, device: torch.device) -> tuple[Tensor, ...]:
    """``(w1, b1, w2, b2)`` as new contiguous tensors of ``dtype`` on ``device`` (copies)."""
    return tuple(torch.tensor(a, dtype=dtype, device=device) for a in weights.as_dict().values())


def from_tensors(w1: Tensor, b1: Tensor, w2: Tensor, b2: Tensor) -> Weights:
    """NumPy :class:`Weights` (in the tensors' dtype) of four weight tensors."""
    return Weights(*(t.detach().cpu().numpy().copy() for t in (w1, b1, w2, b2)))
