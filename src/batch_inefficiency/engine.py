"""Training engine: many replicas of one task and batch size, with records and an audit trail.

DESIGN.md §2 (update rule and protocol) and §5 (the engine). One call of
:func:`train` trains every learning rate x trial of one task at one batch size
as R = n_rates x n_trials independent replicas (replica ``r = rate_index x
n_trials + trial_index``). Each replica starts from the initial weights of its
trial (models.initial_weights), presents the training split each epoch in the
order ``seeds.epoch_permutation(base_seed, trial, epoch, n_train)`` and updates

    W ← W - η Σ_{i∈B} ∇l_i        (``reduction: mean``: η / |B| instead of η)

after every batch B of ``batch_size`` instances (the last, shorter batch of an
epoch is used). Each rate has its own epoch budget; a replica leaves the active
set when its budget is spent (``complete``), when its loss or weights become
non-finite or its training loss exceeds ``divergence_factor`` x its initial
loss (``diverged``), or, with ``patience``, when the trial-averaged hold-out
accuracy of its rate has not improved for that many epochs (``stopped_early``).

Paths (DESIGN.md §8): ``torch`` (engine_torch.py, CPU or CUDA, any batch size),
``fused`` (engine_fused.py, numba, CPU) and ``triton`` (engine_triton.py, one
Triton kernel launch per epoch, CUDA); ``auto`` picks by :func:`choose_path`.
The file format of a saved run is documented in docs/run_format.md.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import math
import os
import platform
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NoReturn, Protocol

import numba
import numpy as np
import torch

from . import __version__
from .data import TrialData
from .engine_fused import FusedTrainer, set_threads
from .engine_torch import Evaluator, Problem, Replicas, Scores, TorchTrainer
from .errors import UserError
from .models import (
    ACTIVATIONS,
    HIDDEN_RULES,
    INITS,
    LOSSES,
    ModelSpec,
    Weights,
    from_tensors,
    hidden_units,
    initial_weights,
    to_tensors,
)
from .seeds import epoch_permutation

if TYPE_CHECKING:
    import pandas as pd

FORMAT = "batch_inefficiency.run/1"
COMPLETE, DIVERGED, STOPPED_EARLY = "complete", "diverged", "stopped_early"

# ``path: auto`` on CPU takes the fused path for on-line training and while
# batch rows x weights per replica stays under this. The crossover moves with
# the model size: the fused kernel's cost per instance grows with the weights,
# torch's per-step overhead is fixed. Measured (benchmarks/bench_engine.py
# --crossover and the same at other shapes; R = 40, float32, 2 threads): torch
# overtakes fused at batch ~10 for 16-32-26 (1,402 weights), ~64 for 9-18-2
# (218), ~12 for 34-68-2 (2,518), ~8 for 60-120-3 (7,683); batch x weights
# there is 13k-60k.
FUSED_MAX_WORK = 16_384

# Rows per chunk of the torch path and of evaluation, by device (DESIGN.md §8).
CHUNK_ROWS = {"cpu": 512, "cuda": 65536}

# ``path: auto`` on CUDA takes the Triton kernel up to this batch size. Not yet
# measured (no GPU has been lent to this project): at batch b the torch path
# launches ~10 kernels per b rows, the Triton kernel streams rows one by one.
TRITON_MAX_BATCH = 32


class Trainer(Protocol):
    """What every path provides: one epoch of the active replicas, weights in place."""

    def train_epoch(self, replicas: Replicas, orders: np.ndarray) -> None: ...


def _triton_trainer(problem: Problem) -> Trainer:
    """The Triton path, imported on first use (triton comes with CUDA builds of torch)."""
    from .engine_triton import TritonTrainer

    return TritonTrainer(problem)


PATHS: dict[str, Callable[[Problem], Trainer]] = {
    "torch": TorchTrainer,
    "fused": FusedTrainer,
    "triton": _triton_trainer,
}
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
    all). ``chunk_rows`` None picks :data:`CHUNK_ROWS` for the device.
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
        """Settings from a config mapping (e.g. YAML or ``to_dict``); unknown keys raise."""
        known = {f.name for f in fields(cls)}
        model_known = {f.name for f in fields(ModelSpec)}
        model = dict(mapping.get("model") or {})
        unknown = sorted(set(mapping) - known) + sorted(
            f"model.{k}" for k in set(model) - model_known
        )
        if unknown:
            raise EngineConfigError(f"unknown engine setting(s): {', '.join(unknown)}")
        values = dict(mapping)
        values["model"] = ModelSpec(**model)
        values["learning_rates"] = tuple(values.get("learning_rates", ()))
        if not isinstance(values.get("epochs"), int):
            values["epochs"] = tuple(values.get("epochs", ()))
        return cls(**values)


@dataclass(frozen=True)
class EpochProgress:
    """What a progress callback receives after every epoch."""

    epoch: int
    max_epochs: int
    active: int  # replicas still training
    seconds: float  # since the start of training


class ProgressBar(Protocol):
    """Anything with tqdm's ``update``: advanced by one per epoch."""

    def update(self, n: int = 1) -> Any: ...


Progress = Callable[[EpochProgress], Any] | ProgressBar


@dataclass(frozen=True)
class Records:
    """Per-replica facts and per-epoch curves of one run.

    Curves are ``[R, max_epochs + 1]``: column 0 is before training, column e
    after e epochs, NaN after the replica stopped.
    """

    lr: np.ndarray  # [R] float64
    trial: np.ndarray  # [R] int64, the trial number (not its position)
    budget: np.ndarray  # [R] int64
    status: np.ndarray  # [R] str: complete | diverged | stopped_early
    epochs_run: np.ndarray  # [R] int64
    train_loss: np.ndarray  # [R, E+1] mean per-instance loss on the training split
    train_acc: np.ndarray  # [R, E+1]
    hold_acc: np.ndarray  # [R, E+1]
    test_acc: np.ndarray  # [R, E+1]
    seconds: np.ndarray  # [R, E+1] cumulative wall-clock seconds of the call
    updates: np.ndarray  # [R, E+1] cumulative weight updates

    CURVES = ("train_loss", "train_acc", "hold_acc", "test_acc", "seconds", "updates")

    def to_frame(self) -> pd.DataFrame:
        """Long format, one row per replica and epoch run (0 … epochs_run).

        Columns: replica, trial, lr, epoch, train_loss, train_acc, hold_acc,
        test_acc, seconds, updates, status.
        """
        import pandas as pd

        n_epochs = self.train_loss.shape[1]
        replica, epoch = np.nonzero(np.arange(n_epochs) <= self.epochs_run[:, None])
        columns: dict[str, np.ndarray] = {
            "replica": replica,
            "trial": self.trial[replica],
            "lr": self.lr[replica],
            "epoch": epoch,
        }
        columns.update({name: getattr(self, name)[replica, epoch] for name in self.CURVES})
        columns["status"] = self.status[replica]
        return pd.DataFrame(columns)


@dataclass(frozen=True)
class RunResult:
    """The outcome of :func:`train`: records, audit trail and resolved settings."""

    info: dict[str, Any]  # run.json: settings, resolved values, environment, timing
    records: Records
    initial: Weights  # [R, ...] float64, as drawn (training casts them to the dtype)
    final: Weights  # [R, ...] in the run's dtype

    def save(self, out_dir: str | Path) -> Path:
        """Write run.json, records.npz, audit.npz and final_weights.npz into ``out_dir``."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        (out / "run.json").write_text(json.dumps(self.info, indent=2) + "\n")
        np.savez(out / "records.npz", **asdict(self.records))
        np.savez(
            out / "audit.npz",
            base_seed=np.int64(self.info["settings"]["base_seed"]),
            trial=self.records.trial,
            lr=self.records.lr,
            **self.initial.as_dict(),
        )
        np.savez(out / "final_weights.npz", **self.final.as_dict())
        return out


def load_run(run_dir: str | Path) -> RunResult:
    """Read a run written by :meth:`RunResult.save` (no pickle)."""
    run = Path(run_dir)
    info = json.loads((run / "run.json").read_text())
    with np.load(run / "records.npz", allow_pickle=False) as npz:
        records = Records(**{f.name: npz[f.name] for f in fields(Records)})
    return RunResult(
        info, records, _load_weights(run / "audit.npz"), _load_weights(run / "final_weights.npz")
    )


def _load_weights(path: Path) -> Weights:
    """w1, b1, w2, b2 of an NPZ file."""
    with np.load(path, allow_pickle=False) as npz:
        return Weights(npz["w1"], npz["b1"], npz["w2"], npz["b2"])


def train(data: TrialData, settings: EngineSettings, progress: Progress | None = None) -> RunResult:
    """Train every learning rate x trial of ``data`` at one batch size (module docstring).

    ``progress`` is called with an :class:`EpochProgress` after every epoch, or,
    if it has an ``update`` method (a tqdm bar with ``total=settings.max_epochs``),
    advanced by one. Raises :class:`EngineConfigError` before any work on bad input.
    """
    return _run(data, settings, None, progress)


def recompute(
    run_dir: str | Path,
    data: TrialData,
    *,
    path: str | None = None,
    progress: Progress | None = None,
) -> RunResult:
    """Train a saved run again from its audit trail (settings and initial weights).

    ``path`` overrides the saved path (e.g. to cross-check fused against torch).
    ``data`` must hold the run's trials, prepared as for the original run.
    """
    run = Path(run_dir)
    info = json.loads((run / "run.json").read_text())
    settings = EngineSettings.from_dict(info["settings"])
    if path is not None:
        settings = replace(settings, path=path)
    if list(data.trials) != info["resolved"]["trials"]:
        raise EngineConfigError(
            f"data trials {list(data.trials)} differ from the run's {info['resolved']['trials']}"
        )
    return _run(data, settings, _load_weights(run / "audit.npz"), progress)


@dataclass(frozen=True)
class _Plan:
    """Settings resolved against the data and the machine."""

    device: torch.device
    dtype: torch.dtype
    path: str
    batch_rows: int
    chunk_rows: int
    hidden: int


def _fail(message: str) -> NoReturn:
    raise EngineConfigError(message)


def _check_name(kind: str, value: object, allowed) -> None:
    if value not in allowed:
        _fail(f"unknown {kind} {value!r} (expected one of: {', '.join(map(str, allowed))})")


def _is_int(value: object) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def _resolve(settings: EngineSettings, data: TrialData) -> _Plan:
    """Validate everything and resolve ``auto`` values; raises EngineConfigError."""
    s, m = settings, settings.model
    n_train = data.x_train.shape[1]
    if not s.learning_rates:
        _fail("learning_rates is empty")
    for lr in s.learning_rates:
        if not (isinstance(lr, int | float) and math.isfinite(lr) and lr > 0):
            _fail(f"learning rate must be a finite number > 0, got {lr!r}")
    if len(s.budgets) != len(s.learning_rates):
        _fail(f"epochs {s.epochs!r} needs one budget per learning rate ({len(s.learning_rates)})")
    for budget in s.budgets:
        if not _is_int(budget) or budget < 1:
            _fail(f"epoch budget must be an integer >= 1, got {budget!r}")
    if s.batch_size != "full" and (not _is_int(s.batch_size) or not 1 <= s.batch_size <= n_train):
        _fail(f"batch_size must be 'full' or an integer in [1, {n_train}], got {s.batch_size!r}")
    _check_name("reduction", s.reduction, REDUCTIONS)
    _check_name("device", s.device, DEVICES)
    _check_name("dtype", s.dtype, tuple(DTYPES))
    _check_name("matmul_precision", s.matmul_precision, MATMUL_PRECISIONS)
    _check_name("path", s.path, ("auto", *PATHS))
    _check_name("activation", m.activation, tuple(ACTIVATIONS))
    _check_name("loss", m.loss, tuple(LOSSES))
    _check_name("init", m.init, tuple(INITS))
    if not (
        isinstance(m.init_scale, int | float) and math.isfinite(m.init_scale) and m.init_scale > 0
    ):
        _fail(f"init_scale must be a finite number > 0, got {m.init_scale!r}")
    if not (_is_int(m.hidden) and m.hidden >= 1):
        _check_name("hidden rule", m.hidden, tuple(HIDDEN_RULES))
    if not _is_int(s.base_seed) or s.base_seed < 0:
        _fail(f"base_seed must be an integer >= 0, got {s.base_seed!r}")
    if s.patience is not None and (not _is_int(s.patience) or s.patience < 1):
        _fail(f"patience must be None or an integer >= 1, got {s.patience!r}")
    if not (isinstance(s.divergence_factor, int | float) and s.divergence_factor > 1):
        _fail(f"divergence_factor must be a number > 1, got {s.divergence_factor!r}")
    if not _is_int(s.threads) or s.threads < 1:
        _fail(f"threads must be an integer >= 1, got {s.threads!r}")
    if s.chunk_rows is not None and (not _is_int(s.chunk_rows) or s.chunk_rows < 1):
        _fail(f"chunk_rows must be None or an integer >= 1, got {s.chunk_rows!r}")
    _check_data(data)

    cuda = torch.cuda.is_available()
    if s.device == "cuda" and not cuda:
        _fail("device 'cuda' requested but torch.cuda.is_available() is False")
    device = torch.device("cuda" if s.device == "cuda" or (s.device == "auto" and cuda) else "cpu")
    batch_rows = n_train if s.batch_size == "full" else int(s.batch_size)
    if s.path == "fused" and device.type != "cpu":
        _fail(f"path 'fused' runs on the CPU only, device is {device.type!r}")
    hidden = hidden_units(m, data.x_train.shape[2], data.n_classes)
    shape = (data.x_train.shape[2], hidden, data.n_classes)
    if s.path == "triton":
        _check_triton(device, shape)
    path = s.path if s.path != "auto" else choose_path(device.type, batch_rows, shape)
    return _Plan(
        device=device,
        dtype=DTYPES[s.dtype],
        path=path,
        batch_rows=batch_rows,
        chunk_rows=s.chunk_rows or CHUNK_ROWS[device.type],
        hidden=hidden,
    )


def _triton_available() -> bool:
    return importlib.util.find_spec("triton") is not None


def _check_triton(device: torch.device, shape: tuple[int, int, int]) -> None:
    """Refuse ``path: triton`` where it cannot run."""
    if not _triton_available():
        _fail("path 'triton' needs the triton package (pip install triton)")
    if device.type != "cuda" and os.environ.get("TRITON_INTERPRET") != "1":
        _fail(
            f"path 'triton' runs on CUDA, device is {device.type!r} "
            "(TRITON_INTERPRET=1 runs it on the CPU through Triton's interpreter, slowly)"
        )
    from .engine_triton import MAX_TILE, fits

    if not fits(*shape):
        _fail(f"path 'triton' holds at most {MAX_TILE} padded weights, model {shape} has more")


def choose_path(device_type: str, batch_rows: int, shape: tuple[int, int, int]) -> str:
    """The path ``auto`` takes for ``batch_rows`` and a model ``shape`` (inputs, hidden, classes).

    CPU: fused for on-line training and while batch rows x weights per replica
    is at most :data:`FUSED_MAX_WORK`, torch otherwise. CUDA: triton up to
    :data:`TRITON_MAX_BATCH` rows when triton is installed and the model fits a
    program's registers, torch otherwise.
    """
    n_inputs, hidden, n_classes = shape
    if device_type == "cpu":
        n_weights = (n_inputs + 1) * hidden + (hidden + 1) * n_classes
        small = batch_rows == 1 or batch_rows * n_weights <= FUSED_MAX_WORK
        return "fused" if small else "torch"
    if batch_rows <= TRITON_MAX_BATCH and _triton_available():
        from .engine_triton import fits

        if fits(*shape):
            return "triton"
    return "torch"


def _check_data(data: TrialData) -> None:
    """Shapes and labels of ``data`` fit together."""
    if not data.trials or any(not _is_int(t) or t < 0 for t in data.trials):
        _fail(f"trials must be non-empty integers >= 0, got {data.trials!r}")
    n_trials, n_train = data.x_train.shape[:2]
    if n_train < 1:
        _fail("the training split is empty")
    if data.n_classes < 2:
        _fail(f"n_classes must be >= 2, got {data.n_classes}")
    splits = {"train": (data.x_train, data.y_train), "hold": (data.x_hold, data.y_hold)}
    splits["test"] = (data.x_test, data.y_test)
    for name, (x, y) in splits.items():
        if x.ndim != 3 or x.shape[0] != n_trials or x.shape[2] != data.x_train.shape[2]:
            _fail(
                f"x_{name} has shape {x.shape}, expected [{n_trials}, n, {data.x_train.shape[2]}]"
            )
        if y.shape != x.shape[:2]:
            _fail(f"y_{name} has shape {y.shape}, expected {x.shape[:2]}")
        if y.size and (y.min() < 0 or y.max() >= data.n_classes):
            _fail(f"y_{name} has labels outside [0, {data.n_classes})")
    if len(data.trials) != n_trials:
        _fail(f"{len(data.trials)} trials but arrays for {n_trials}")


@contextmanager
def _runtime(settings: EngineSettings) -> Iterator[dict[str, Any]]:
    """Set thread counts and matmul precision for the call, restore them after; yield them."""
    saved = (
        torch.get_num_threads(),
        numba.get_num_threads(),
        torch.get_float32_matmul_precision(),
        torch.backends.cuda.matmul.allow_tf32,
    )
    try:
        torch.set_num_threads(settings.threads)
        numba_threads = set_threads(settings.threads)
        torch.set_float32_matmul_precision(settings.matmul_precision)
        torch.backends.cuda.matmul.allow_tf32 = settings.matmul_precision != "highest"
        yield {
            "threads_torch": torch.get_num_threads(),
            "threads_numba": numba_threads,
            "float32_matmul_precision": torch.get_float32_matmul_precision(),
            "cuda_matmul_allow_tf32": torch.backends.cuda.matmul.allow_tf32,
        }
    finally:
        torch.set_num_threads(saved[0])
        numba.set_num_threads(saved[1])
        torch.set_float32_matmul_precision(saved[2])
        torch.backends.cuda.matmul.allow_tf32 = saved[3]


def _numba_threading_layer() -> str:
    """The threading layer numba's parallel kernels ran on ("unused" before any ran)."""
    try:
        return numba.threading_layer()
    except ValueError:
        return "unused"


def _installed_version(package: str) -> str:
    """The installed version of ``package``, or "not installed"."""
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _environment(device: torch.device) -> dict[str, Any]:
    return {
        "package_version": __version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "numba": numba.__version__,
        "triton": _installed_version("triton"),
        "machine": platform.machine(),
        "processor": platform.processor(),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
    }


def _notify(progress: Progress | None, state: EpochProgress) -> None:
    if progress is None:
        return
    update = getattr(progress, "update", None)
    if update is not None:
        update(1)
    else:
        progress(state)


class _Stopper:
    """Decides, after each epoch, which active replicas stop and with which status."""

    def __init__(
        self, settings: EngineSettings, rate_index: np.ndarray, budget: np.ndarray
    ) -> None:
        self.status = np.full(len(rate_index), COMPLETE, dtype="<U13")
        self._rate_of = rate_index  # [R]
        self._budget = budget  # [R]
        self._factor = settings.divergence_factor
        self._patience = settings.patience
        self._limit = np.full(len(rate_index), np.inf)  # [R] divergence threshold on train loss
        self._best = np.full(len(settings.learning_rates), -np.inf)  # best trial-mean hold acc
        self._best_epoch = np.zeros(len(settings.learning_rates), dtype=np.int64)

    def __call__(self, epoch: int, active: Replicas, scores: Scores) -> np.ndarray:
        """[Ra] bool: the replicas that stop after ``epoch``; their status is set."""
        ids = active.ids
        if epoch == 0:
            self._limit[ids] = self._factor * scores.train_loss
        finite = torch.stack([torch.isfinite(p).flatten(1).all(1) for p in active.params])
        loss = scores.train_loss
        diverged = ~finite.all(0).cpu().numpy() | ~np.isfinite(loss) | (loss > self._limit[ids])
        done = diverged | (self._budget[ids] == epoch)
        if self._patience is not None:
            stale = self._stale_rates(epoch, self._rate_of[ids], scores.hold_acc, diverged)
            early = stale[self._rate_of[ids]] & ~done
            self.status[ids[early]] = STOPPED_EARLY
            done |= early
        self.status[ids[diverged]] = DIVERGED
        return done

    def _stale_rates(
        self, epoch: int, rate_of: np.ndarray, hold_acc: np.ndarray, diverged: np.ndarray
    ) -> np.ndarray:
        """[n_rates] bool: rates whose trial-mean hold-out accuracy is ``patience`` epochs stale.

        The mean is over the rate's replicas still training and not diverged.
        """
        stale = np.zeros(len(self._best), dtype=bool)
        for rate in np.unique(rate_of[~diverged]):
            mean = hold_acc[(rate_of == rate) & ~diverged].mean()
            if mean > self._best[rate]:
                self._best[rate], self._best_epoch[rate] = mean, epoch
            stale[rate] = epoch - self._best_epoch[rate] >= self._patience
        return stale


def _orders(
    base_seed: int, trials: np.ndarray, trial_index: np.ndarray, epoch: int, n: int
) -> np.ndarray:
    """[T, n] presentation orders of ``epoch`` (0-based) for the trial rows in use (others 0)."""
    orders = np.zeros((len(trials), n), dtype=np.int64)
    for t in np.unique(trial_index):
        orders[t] = epoch_permutation(base_seed, int(trials[t]), epoch, n)
    return orders


def _run(
    data: TrialData, settings: EngineSettings, initial: Weights | None, progress: Progress | None
) -> RunResult:
    """The body of :func:`train` and :func:`recompute`."""
    plan = _resolve(settings, data)
    n_rates, n_trials = len(settings.learning_rates), len(data.trials)
    n_train, n_inputs = data.x_train.shape[1:]
    n_rep, n_cols = n_rates * n_trials, settings.max_epochs + 1
    rate_index = np.repeat(np.arange(n_rates), n_trials)  # [R]
    trial_index = np.tile(np.arange(n_trials), n_rates)  # [R]
    trials = np.asarray(data.trials, dtype=np.int64)
    if initial is None:
        initial = initial_weights(
            settings.model, n_inputs, data.n_classes, settings.base_seed, trials[trial_index]
        )
    elif initial.w1.shape != (n_rep, n_inputs, plan.hidden):
        expected = (n_rep, n_inputs, plan.hidden)
        _fail(f"initial weights have shape {initial.w1.shape}, expected {expected}")
    steps_per_epoch = -(-n_train // plan.batch_rows)
    lr = np.asarray(settings.learning_rates, dtype=np.float64)[rate_index]
    budget = np.asarray(settings.budgets, dtype=np.int64)[rate_index]
    splits = ((data.x_train, data.y_train), (data.x_hold, data.y_hold), (data.x_test, data.y_test))

    with _runtime(settings) as runtime:
        setup_start = time.perf_counter()
        params = to_tensors(initial, plan.dtype, plan.device)
        final = [p.clone() for p in params]  # each replica's weights when it stopped
        active = Replicas(*params, lr, trial_index, np.arange(n_rep))
        problem = Problem(
            data.x_train,
            data.y_train,
            data.n_classes,
            settings.model,
            plan.batch_rows,
            settings.reduction,
            plan.dtype,
            plan.device,
            plan.chunk_rows,
        )
        trainer = PATHS[plan.path](problem)
        evaluate = Evaluator(
            splits, data.n_classes, settings.model, plan.dtype, plan.device, plan.chunk_rows
        )
        stopper = _Stopper(settings, rate_index, budget)
        curves = {name: np.full((n_rep, n_cols), np.nan) for name in Records.CURVES}
        epochs_run = np.zeros(n_rep, dtype=np.int64)
        start = time.perf_counter()
        for epoch in range(n_cols):
            if epoch:
                orders = _orders(settings.base_seed, trials, active.trial_index, epoch - 1, n_train)
                trainer.train_epoch(active, orders)
            scores = evaluate(active)
            seconds = time.perf_counter() - start
            ids = active.ids
            for name in ("train_loss", "train_acc", "hold_acc", "test_acc"):
                curves[name][ids, epoch] = getattr(scores, name)
            curves["seconds"][ids, epoch] = seconds
            curves["updates"][ids, epoch] = epoch * steps_per_epoch
            epochs_run[ids] = epoch
            done = stopper(epoch, active, scores)
            if done.any():
                index = torch.from_numpy(np.flatnonzero(done)).to(plan.device)
                for kept, p in zip(final, active.params, strict=True):
                    kept[ids[done]] = p.index_select(0, index)
                active = active.keep(~done)
            if epoch:
                _notify(progress, EpochProgress(epoch, n_cols - 1, len(active.ids), seconds))
            if not len(active.ids):
                break

    timing = {"setup_seconds": start - setup_start, "train_seconds": seconds}
    runtime["numba_threading_layer"] = _numba_threading_layer()
    info = _run_info(settings, plan, data, runtime, timing)
    records = Records(
        lr=lr,
        trial=trials[trial_index],
        budget=budget,
        status=stopper.status,
        epochs_run=epochs_run,
        **curves,
    )
    return RunResult(info, records, initial, from_tensors(*final))


def _run_info(
    settings: EngineSettings,
    plan: _Plan,
    data: TrialData,
    runtime: dict[str, Any],
    timing: dict[str, float],
) -> dict[str, Any]:
    """The content of run.json (docs/run_format.md)."""
    n_train = data.x_train.shape[1]
    return {
        "format": FORMAT,
        "settings": settings.to_dict(),
        "resolved": {
            "device": str(plan.device),
            "dtype": settings.dtype,
            "path": plan.path,
            "batch_rows": plan.batch_rows,
            "chunk_rows": plan.chunk_rows,
            "steps_per_epoch": -(-n_train // plan.batch_rows),
            "fused_max_work": FUSED_MAX_WORK,
            "n_inputs": int(data.x_train.shape[2]),
            "hidden_units": plan.hidden,
            "n_classes": int(data.n_classes),
            "n_train": int(n_train),
            "n_hold": int(data.x_hold.shape[1]),
            "n_test": int(data.x_test.shape[1]),
            "trials": [int(t) for t in data.trials],
            "replicas": len(settings.learning_rates) * len(data.trials),
            **runtime,
        },
        "environment": _environment(plan.device),
        "timing": timing,
    }
