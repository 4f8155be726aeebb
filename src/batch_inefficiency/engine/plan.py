"""The plan of a training call: settings resolved against the data and the machine.

:func:`resolve` checks the settings (settings.py) and the data, then fixes what
``auto`` and ``full`` leave open: the device, the dtype, the update rule
(optimizers.py), the path (:func:`choose_path`, the one place the ``auto`` rule
lives), the rows per update and per chunk, and the hidden units. Everything it
refuses raises :class:`EngineConfigError`.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass

import torch

from batch_inefficiency import batch_sizes
from batch_inefficiency.data.splits import TrialData
from batch_inefficiency.models import hidden_units, weight_count

from .optimizers import Update
from .settings import DTYPES, EngineSettings, check_settings, fail, is_int

# ``path: auto`` on CPU takes the fused path for on-line training and while
# batch rows x weights per replica stays under this. The crossover moves with
# the model size: the fused kernel's cost per instance grows with the weights,
# torch's per-step overhead is fixed. Measured (benchmarks/bench_engine.py
# --crossover and the same at other shapes; R = 40, float32, 2 threads): torch
# overtakes fused at batch ~10 for 16-32-26 (1,402 weights), ~64 for 9-18-2
# (218), ~12 for 34-68-2 (2,518), ~8 for 60-120-3 (7,683); batch x weights
# there is 13k-60k.
FUSED_MAX_WORK = 16_384

# Rows per chunk of the torch path and of evaluation, by device (docs/design.md §8).
CHUNK_ROWS = {"cpu": 512, "cuda": 65536}

# ``path: auto`` on CUDA takes the Triton kernel up to this batch size (plain SGD
# only: the Triton kernel has no optimizer state). Not yet measured (no GPU has
# been lent to this project): at batch b the torch path launches ~10 kernels per
# b rows, the Triton kernel streams rows one by one.
TRITON_MAX_BATCH = 32


@dataclass(frozen=True)
class Plan:
    """Settings resolved against the data and the machine."""

    device: torch.device
    dtype: torch.dtype
    path: str
    batch_rows: int
    chunk_rows: int
    hidden: int
    update: Update


def resolve(settings: EngineSettings, data: TrialData) -> Plan:
    """Validate the settings and the data and resolve ``auto``; raises EngineConfigError."""
    n_train = data.x_train.shape[1]
    check_settings(settings, n_train)
    _check_data(data)
    cuda = torch.cuda.is_available()
    if settings.device == "cuda" and not cuda:
        fail("device 'cuda' requested but torch.cuda.is_available() is False")
    use_cuda = settings.device == "cuda" or (settings.device == "auto" and cuda)
    device = torch.device("cuda" if use_cuda else "cpu")
    batch_rows = batch_sizes.rows(settings.batch_size, n_train)
    if settings.path == "fused" and device.type != "cpu":
        fail(f"path 'fused' runs on the CPU only, device is {device.type!r}")
    hidden = hidden_units(settings.model, data.x_train.shape[2], data.n_classes)
    shape = (data.x_train.shape[2], hidden, data.n_classes)
    update = Update.of(settings.optimizer, settings.weight_decay)
    if settings.path == "triton":
        _check_triton(device, shape, update)
    auto = settings.path == "auto"
    return Plan(
        device=device,
        dtype=DTYPES[settings.dtype],
        path=choose_path(device.type, batch_rows, shape, update.plain) if auto else settings.path,
        batch_rows=batch_rows,
        chunk_rows=settings.chunk_rows or CHUNK_ROWS[device.type],
        hidden=hidden,
        update=update,
    )


def _triton_available() -> bool:
    return importlib.util.find_spec("triton") is not None


def _check_triton(device: torch.device, shape: tuple[int, int, int], update: Update) -> None:
    """Refuse ``path: triton`` where it cannot run."""
    if not update.plain:
        fail(
            f"path 'triton' runs plain SGD only, not optimizer {update.rule!r} with weight_decay "
            f"{update.weight_decay!r} (path 'torch' or 'auto' runs it on CUDA)"
        )
    if not _triton_available():
        fail("path 'triton' needs the triton package (pip install triton)")
    if device.type != "cuda" and os.environ.get("TRITON_INTERPRET") != "1":
        fail(
            f"path 'triton' runs on CUDA, device is {device.type!r} "
            "(TRITON_INTERPRET=1 runs it on the CPU through Triton's interpreter, slowly)"
        )
    from .triton_path import MAX_TILE, fits

    if not fits(*shape):
        fail(f"path 'triton' holds at most {MAX_TILE} padded weights, model {shape} has more")


def choose_path(
    device_type: str, batch_rows: int, shape: tuple[int, int, int], plain_sgd: bool = True
) -> str:
    """The path ``auto`` takes for ``batch_rows`` and a model ``shape`` (inputs, hidden, classes).

    CPU: fused for on-line training and while batch rows x weights per replica
    is at most :data:`FUSED_MAX_WORK`, torch otherwise. CUDA: triton up to
    :data:`TRITON_MAX_BATCH` rows for plain SGD (``plain_sgd``: no optimizer,
    no weight decay) when triton is installed and the model fits a program's
    registers, torch otherwise.
    """
    n_inputs, hidden, n_classes = shape
    if device_type == "cpu":
        work = batch_rows * weight_count(n_inputs, hidden, n_classes)
        small = batch_rows == 1 or work <= FUSED_MAX_WORK
        return "fused" if small else "torch"
    if plain_sgd and batch_rows <= TRITON_MAX_BATCH and _triton_available():
        from .triton_path import fits

        if fits(*shape):
            return "triton"
    return "torch"


def _check_data(data: TrialData) -> None:
    """Shapes and labels of ``data`` fit together."""
    if not data.trials or any(not is_int(t) or t < 0 for t in data.trials):
        fail(f"trials must be non-empty integers >= 0, got {data.trials!r}")
    n_trials, n_train = data.x_train.shape[:2]
    if n_train < 1:
        fail("the training split is empty")
    if data.n_classes < 2:
        fail(f"n_classes must be >= 2, got {data.n_classes}")
    splits = {"train": (data.x_train, data.y_train), "hold": (data.x_hold, data.y_hold)}
    splits["test"] = (data.x_test, data.y_test)
    for name, (x, y) in splits.items():
        if x.ndim != 3 or x.shape[0] != n_trials or x.shape[2] != data.x_train.shape[2]:
            fail(f"x_{name} has shape {x.shape}, expected [{n_trials}, n, {data.x_train.shape[2]}]")
        if y.shape != x.shape[:2]:
            fail(f"y_{name} has shape {y.shape}, expected {x.shape[:2]}")
        if y.size and (y.min() < 0 or y.max() >= data.n_classes):
            fail(f"y_{name} has labels outside [0, {data.n_classes})")
    if len(data.trials) != n_trials:
        fail(f"{len(data.trials)} trials but arrays for {n_trials}")
