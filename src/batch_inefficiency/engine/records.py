"""What a training call leaves behind: per-replica records, the audit trail, run.json.

The file format is documented in docs/run_format.md: :meth:`RunResult.save`
writes it and :func:`load_run` reads it back, without pickle. :func:`run_info`
builds run.json's content: the settings, what they resolved to, the environment
(library versions, machine, git commit, device; captured once, by
``provenance.provenance``) and the timing.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from batch_inefficiency import batch_sizes
from batch_inefficiency.data.splits import TrialData
from batch_inefficiency.models import Weights
from batch_inefficiency.provenance import provenance

from .plan import FUSED_MAX_WORK, Plan
from .settings import EngineSettings

if TYPE_CHECKING:
    import pandas as pd

FORMAT = "batch_inefficiency.run/1"
COMPLETE, DIVERGED, STOPPED_EARLY = "complete", "diverged", "stopped_early"
REACHED_TARGET = "reached_target"  # settings.target: hold-out accuracy reached (issue 12)


@dataclass(frozen=True)
class Records:
    """Per-replica facts and per-epoch curves of one run.

    Curves are ``[R, max_epochs + 1]``: column 0 is before training, column e
    after e epochs, NaN after the replica stopped. ``hold_acc``, ``seconds`` and
    ``updates`` have every epoch; ``train_loss``, ``train_acc`` and
    ``test_acc`` the epochs where they were scored (schedule.py), NaN between.
    """

    lr: np.ndarray  # [R] float64
    trial: np.ndarray  # [R] int64, the trial number (not its position)
    budget: np.ndarray  # [R] int64
    status: np.ndarray  # [R] str: complete | diverged | reached_target | stopped_early
    epochs_run: np.ndarray  # [R] int64
    target_epoch: np.ndarray  # [R] int64: epoch the hold-out accuracy reached the target, or -1
    target_step: np.ndarray  # [R] int64: weight updates by then (epoch x steps per epoch), or -1
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
        # Runs written before the target stop existed have no target_* arrays: -1 (never).
        never = np.full(len(npz["lr"]), -1, dtype=np.int64)
        records = Records(**{f.name: npz.get(f.name, never) for f in fields(Records)})
    return RunResult(
        info, records, load_weights(run / "audit.npz"), load_weights(run / "final_weights.npz")
    )


def load_weights(path: Path) -> Weights:
    """w1, b1, w2, b2 of an NPZ file."""
    with np.load(path, allow_pickle=False) as npz:
        return Weights(npz["w1"], npz["b1"], npz["w2"], npz["b2"])


def environment(device: torch.device) -> dict[str, Any]:
    """Library versions, machine and git commit (provenance), and the device's name."""
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    return {**provenance(), "device_name": name}


def run_info(
    settings: EngineSettings,
    plan: Plan,
    data: TrialData,
    runtime: dict[str, Any],
    timing: dict[str, float],
) -> dict[str, Any]:
    """The content of run.json (docs/run_format.md)."""
    n_train = data.x_train.shape[1]
    n_replicas = len(settings.learning_rates) * len(data.trials)
    d, h, k = int(data.x_train.shape[2]), plan.hidden, int(data.n_classes)
    shapes = {
        "w1": (n_replicas, d, h),
        "b1": (n_replicas, h),
        "w2": (n_replicas, h, k),
        "b2": (n_replicas, k),
    }
    return {
        "format": FORMAT,
        "settings": settings.to_dict(),
        "resolved": {
            "device": str(plan.device),
            "dtype": settings.dtype,
            "path": plan.path,
            "batch_rows": plan.batch_rows,
            "chunk_rows": plan.chunk_rows,
            "steps_per_epoch": batch_sizes.steps_per_epoch(plan.batch_rows, n_train),
            "fused_max_work": FUSED_MAX_WORK,
            "n_inputs": int(data.x_train.shape[2]),
            "hidden_units": plan.hidden,
            "n_classes": int(data.n_classes),
            "n_train": int(n_train),
            "n_hold": int(data.x_hold.shape[1]),
            "n_test": int(data.x_test.shape[1]),
            "trials": [int(t) for t in data.trials],
            "replicas": n_replicas,
            "update_rule": plan.update.rule,
            "optimizer_state": plan.update.state_shapes(shapes),
            **runtime,
        },
        "environment": environment(plan.device),
        "timing": timing,
    }
