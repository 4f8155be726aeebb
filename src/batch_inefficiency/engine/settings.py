"""Engine settings: what fixes one training call besides the data, and their validation.

:class:`EngineSettings` is what a config or the CLI gives; :func:`check_settings`
refuses anything the engine cannot run with, naming the value, before any work
(:class:`EngineConfigError`, a user error). Resolving the settings against the
data and the machine (device, path, batch rows) is plan.py's job.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal, NoReturn

import numpy as np
import torch

from batch_inefficiency import batch_sizes
from batch_inefficiency.errors import UserError
from batch_inefficiency.models import ACTIVATIONS, HIDDEN_RULES, INITS, LOSSES, ModelSpec

from .optimizers import OPTIMIZERS, OptimizerSpec
from .paths import PATHS

DTYPES = {"float32": torch.float32, "float64": torch.float64}
DEVICES = ("auto", "cpu", "cuda")
MATMUL_PRECISIONS = ("highest", "high", "medium")
REDUCTIONS = ("sum", "mean")


class EngineConfigError(UserError, ValueError):
    """A setting or input the engine cannot run with; the message names the value."""


@dataclass(frozen=True)
class EngineSettings:
    """Everything that fixes one training call (besides the data).

    ``epochs`` is the epoch budget of each learning rate (one int: the same for
    all). ``chunk_rows`` None picks :data:`CHUNK_ROWS` for the device. ``target``
    (a hold-out accuracy in (0, 1], or None) stops each replica at the first epoch
    its own hold-out accuracy reaches it (stopping.py). ``optimizer`` and
    ``weight_decay`` (an L2 penalty added to the gradient) choose the update rule
    (optimizers.py; the default is plain SGD).
    """

    batch_size: int | Literal["full"]
    learning_rates: tuple[float, ...]
    epochs: tuple[int, ...] | int
    base_seed: int = 2003
    model: ModelSpec = field(default_factory=ModelSpec)
    reduction: Literal["sum", "mean"] = "sum"
    device: Literal["auto", "cpu", "cuda"] = "auto"
    dtype: Literal["float32", "float64"] = "float32"
    matmul_precision: Literal["highest", "high", "medium"] = "highest"
    path: Literal["auto", "torch", "fused", "triton"] = "auto"
    patience: int | None = None
    divergence_factor: float = 1e3
    threads: int = 1
    chunk_rows: int | None = None
    target: float | None = None
    optimizer: OptimizerSpec = field(default_factory=OptimizerSpec)
    weight_decay: float = 0.0

    @property
    def budgets(self) -> tuple[int, ...]:
        """The epoch budget of each learning rate."""
        if isinstance(self.epochs, int):
            return (self.epochs,) * len(self.learning_rates)
        return tuple(self.epochs)

    @property
    def max_epochs(self) -> int:
        """The largest budget: the length of the records' epoch axis minus one."""
        return max(self.budgets, default=0)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready settings (tuples as lists)."""
        return json.loads(json.dumps(asdict(self)))

    @classmethod
    def from_dict(cls, mapping: Mapping[str, Any]) -> EngineSettings:
        """Settings from a config mapping (e.g. YAML or ``to_dict``); unknown keys raise.

        ``model`` and ``optimizer`` are nested mappings of :class:`ModelSpec` and
        :class:`OptimizerSpec` fields.
        """
        known = {f.name for f in fields(cls)}
        nested = {"model": ModelSpec, "optimizer": OptimizerSpec}
        parts = {key: _nested(mapping, key) for key in nested}
        unknown = sorted(set(mapping) - known)
        for key, spec in nested.items():
            unknown += sorted(
                f"{key}.{k}" for k in set(parts[key]) - {f.name for f in fields(spec)}
            )
        if unknown:
            raise EngineConfigError(f"unknown engine setting(s): {', '.join(unknown)}")
        values = dict(mapping)
        values["model"] = ModelSpec(**parts["model"])
        optimizer = parts["optimizer"]
        if isinstance(optimizer.get("betas"), list):  # JSON and YAML give a list
            optimizer["betas"] = tuple(optimizer["betas"])
        values["optimizer"] = OptimizerSpec(**optimizer)
        values["learning_rates"] = tuple(values.get("learning_rates", ()))
        if not isinstance(values.get("epochs"), int):
            values["epochs"] = tuple(values.get("epochs", ()))
        return cls(**values)


def _nested(mapping: Mapping[str, Any], key: str) -> dict[str, Any]:
    """The nested mapping ``mapping[key]`` as a dict ({} where absent or None)."""
    value = mapping.get(key) or {}
    if not isinstance(value, Mapping):
        fail(f"{key} must be a mapping of its settings, got {value!r}")
    return dict(value)


def fail(message: str) -> NoReturn:
    """Raise :class:`EngineConfigError` with ``message``."""
    raise EngineConfigError(message)


def _check_name(kind: str, value: object, allowed) -> None:
    if value not in allowed:
        fail(f"unknown {kind} {value!r} (expected one of: {', '.join(map(str, allowed))})")


def is_int(value: object) -> bool:
    """An integer that is not a bool (numpy integers included)."""
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def _positive_number(value: object) -> bool:
    return isinstance(value, int | float) and math.isfinite(value) and value > 0


def _check_optional_int(name: str, value: object) -> None:
    if value is not None and (not is_int(value) or value < 1):
        fail(f"{name} must be None or an integer >= 1, got {value!r}")


def _check_model(m: ModelSpec) -> None:
    _check_name("activation", m.activation, tuple(ACTIVATIONS))
    _check_name("loss", m.loss, tuple(LOSSES))
    _check_name("init", m.init, tuple(INITS))
    if not _positive_number(m.init_scale):
        fail(f"init_scale must be a finite number > 0, got {m.init_scale!r}")
    if not (is_int(m.hidden) and m.hidden >= 1):
        _check_name("hidden rule", m.hidden, tuple(HIDDEN_RULES))


def _number(value: object) -> bool:
    """A finite int or float that is not a bool."""
    real = isinstance(value, int | float) and not isinstance(value, bool)
    return real and math.isfinite(value)


def _check_optimizer(o: OptimizerSpec, weight_decay: object) -> None:
    _check_name("optimizer", o.name, OPTIMIZERS)
    if not (_number(o.momentum) and 0 <= o.momentum < 1):
        fail(f"optimizer.momentum must be in [0, 1), got {o.momentum!r}")
    if o.name == "nesterov" and o.momentum == 0:
        fail(f"optimizer.momentum must be > 0 for nesterov (as torch's SGD), got {o.momentum!r}")
    pair = isinstance(o.betas, tuple) and len(o.betas) == 2
    if not (pair and all(_number(b) and 0 <= b < 1 for b in o.betas)):
        fail(f"optimizer.betas must be two numbers each in [0, 1), got {o.betas!r}")
    if not (_number(o.eps) and o.eps > 0):
        fail(f"optimizer.eps must be a finite number > 0, got {o.eps!r}")
    if not (_number(weight_decay) and weight_decay >= 0):
        fail(f"weight_decay must be a finite number >= 0, got {weight_decay!r}")


def check_settings(s: EngineSettings, n_train: int) -> None:
    """Refuse settings the engine cannot run with on ``n_train`` training rows."""
    if not s.learning_rates:
        fail("learning_rates is empty")
    for lr in s.learning_rates:
        if not _positive_number(lr):
            fail(f"learning rate must be a finite number > 0, got {lr!r}")
    if len(s.budgets) != len(s.learning_rates):
        fail(f"epochs {s.epochs!r} needs one budget per learning rate ({len(s.learning_rates)})")
    for budget in s.budgets:
        if not is_int(budget) or budget < 1:
            fail(f"epoch budget must be an integer >= 1, got {budget!r}")
    try:
        batch_sizes.rows(s.batch_size, n_train)
    except batch_sizes.BatchSizeError as error:
        fail(str(error))
    _check_name("reduction", s.reduction, REDUCTIONS)
    _check_name("device", s.device, DEVICES)
    _check_name("dtype", s.dtype, tuple(DTYPES))
    _check_name("matmul_precision", s.matmul_precision, MATMUL_PRECISIONS)
    _check_name("path", s.path, ("auto", *PATHS))
    _check_model(s.model)
    _check_optimizer(s.optimizer, s.weight_decay)
    if not is_int(s.base_seed) or s.base_seed < 0:
        fail(f"base_seed must be an integer >= 0, got {s.base_seed!r}")
    _check_optional_int("patience", s.patience)
    if not (isinstance(s.divergence_factor, int | float) and s.divergence_factor > 1):
        fail(f"divergence_factor must be a number > 1, got {s.divergence_factor!r}")
    if not is_int(s.threads) or s.threads < 1:
        fail(f"threads must be an integer >= 1, got {s.threads!r}")
    _check_optional_int("chunk_rows", s.chunk_rows)
    if s.target is not None and not (_positive_number(s.target) and s.target <= 1):
        fail(f"target must be None or a hold-out accuracy in (0, 1], got {s.target!r}")
