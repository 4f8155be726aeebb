"""Optimizers: the setting, the update rule it resolves to, and the replicas' optimizer state.

docs/design.md §5. Beside plain SGD the engine runs PyTorch's update rules, on
the gradient ``g`` of the batch's summed (or, with ``reduction: mean``, mean)
loss, with L2 weight decay ``g ← g + λ w`` on the weights and the biases:

* ``momentum``: ``torch.optim.SGD(lr, momentum=μ)``: ``b ← μ b + g``
  (``b = g`` at the first step), ``w ← w - η b``;
* ``nesterov``: ``SGD(..., nesterov=True)``: ``b`` as above, ``w ← w - η (g + μ b)``;
* ``adam``: ``torch.optim.Adam(lr, betas=(β1, β2), eps=ε)``: ``m ← m + (1 - β1)(g - m)``,
  ``v ← β2 v + (1 - β2) g²``, ``w ← w - η / (1 - β1^t) · m / (√v / √(1 - β2^t) + ε)``.

Plain SGD without weight decay (also ``momentum`` with μ = 0, which
``torch.optim.SGD`` treats so) keeps the engine's original kernels: the step
scale -η folded into the deltas, no state (:attr:`Update.plain`). Every other
rule keeps, per replica, ``len(state_names)`` tensors like each parameter
(:class:`OptimizerState`, on :class:`contract.Replicas`) and its step count.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

Tensor = torch.Tensor

OPTIMIZERS = ("sgd", "momentum", "nesterov", "adam")
# The state tensors each rule keeps per parameter, named as torch.optim names them.
STATE_NAMES: dict[str, tuple[str, ...]] = {
    "sgd": (),
    "momentum": ("momentum_buffer",),
    "nesterov": ("momentum_buffer",),
    "adam": ("exp_avg", "exp_avg_sq"),
}
PARAMETERS = ("w1", "b1", "w2", "b2")


@dataclass(frozen=True)
class OptimizerSpec:
    """The optimizer setting: ``name`` and its hyper-parameters (those of the others unused)."""

    name: Literal["sgd", "momentum", "nesterov", "adam"] = "sgd"
    momentum: float = 0.9  # momentum, nesterov
    betas: tuple[float, float] = (0.9, 0.999)  # adam
    eps: float = 1e-8  # adam


@dataclass(frozen=True)
class Update:
    """The update rule the paths run: ``rule`` (an :data:`OPTIMIZERS` name) and its constants."""

    rule: str
    momentum: float
    betas: tuple[float, float]
    eps: float
    weight_decay: float

    @classmethod
    def of(cls, spec: OptimizerSpec, weight_decay: float) -> Update:
        """The rule of a (checked) setting: ``momentum`` with μ = 0 is plain SGD, as in torch."""
        rule = "sgd" if spec.name == "momentum" and spec.momentum == 0 else spec.name
        betas = (float(spec.betas[0]), float(spec.betas[1]))
        return cls(rule, float(spec.momentum), betas, float(spec.eps), float(weight_decay))

    @property
    def plain(self) -> bool:
        """Plain SGD without weight decay: the original kernels, no optimizer state."""
        return self.rule == "sgd" and self.weight_decay == 0

    @property
    def state_names(self) -> tuple[str, ...]:
        """The state tensors kept per parameter."""
        return STATE_NAMES[self.rule]

    def state_shapes(self, shapes: dict[str, tuple[int, ...]]) -> dict[str, object]:
        """run.json's ``optimizer_state``: each state tensor's shape per parameter and the step
        count's, for parameters of ``shapes`` (name -> [R, ...]); empty for plain SGD."""
        if self.plain:
            return {}
        n_replicas = shapes["w1"][0]
        state: dict[str, object] = {"step": [n_replicas]}
        for name in self.state_names:
            state[name] = {p: list(shapes[p]) for p in PARAMETERS}
        return state


PLAIN_SGD = Update.of(OptimizerSpec(), 0.0)


@dataclass(frozen=True)
class OptimizerState:
    """The optimizer state of the replicas (not plain SGD), compacted with them.

    ``slots`` holds one tensor per parameter, like ``(w1, b1, w2, b2)`` with a
    leading axis of the rule's state tensors: ``[S, Ra, ...]``, slot ``s`` of
    parameter ``p`` being state tensor ``state_names[s]`` of ``p``.
    """

    slots: tuple[Tensor, Tensor, Tensor, Tensor]  # [S, Ra, d, h], [S, Ra, h], [S, Ra, h, k], …
    steps: Tensor  # [Ra] int64: updates taken (Adam's bias correction)

    @classmethod
    def zeros(
        cls, update: Update, params: tuple[Tensor, Tensor, Tensor, Tensor]
    ) -> OptimizerState | None:
        """The state before the first update (all zero), None for plain SGD."""
        if update.plain:
            return None
        n_slots = len(update.state_names)
        slots = tuple(p.new_zeros((n_slots, *p.shape)) for p in params)
        steps = torch.zeros(params[0].shape[0], dtype=torch.int64, device=params[0].device)
        return cls(slots, steps)  # type: ignore[arg-type]

    def keep(self, index: Tensor) -> OptimizerState:
        """The state of the replicas at ``index`` (copies)."""
        slots = tuple(s.index_select(1, index) for s in self.slots)
        return OptimizerState(slots, self.steps.index_select(0, index))  # type: ignore[arg-type]
