"""Seconds per step: what one weight update of a single model costs at each batch size.

docs/design.md §9. Steps to target say how many updates a batch size needs;
the user waits steps x seconds per step. This benchmark times the torch path
(the engine's general path, any batch size, CPU or CUDA) training ONE model
(one replica), with the threads the job has and no evaluation, on the task's
own training rows and network. Each batch size gets a warm-up, then whole
passes over ``steps`` batches until at least ``min_seconds`` have passed; the
table records the device, its name and the threads with the numbers. Where
CUDA is present the same code measures the GPU too (one row per device).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from batch_inefficiency import batch_sizes
from batch_inefficiency.data.splits import TrialData, load_trial_data
from batch_inefficiency.engine import PATHS
from batch_inefficiency.engine.contract import Problem, Replicas
from batch_inefficiency.engine.plan import CHUNK_ROWS
from batch_inefficiency.engine.records import environment
from batch_inefficiency.engine.settings import DTYPES
from batch_inefficiency.models import ModelSpec, initial_weights, to_tensors
from batch_inefficiency.provenance import cpu_model

MAX_STEPS_PER_PASS = 256  # batches per timed pass (a pass covers steps x batch rows rows)


def seconds_per_step(
    data: TrialData,
    batch_rows: int,
    spec: ModelSpec,
    reduction: str,
    device: torch.device,
    dtype: str = "float32",
    min_seconds: float = 0.5,
) -> tuple[float, int]:
    """(seconds per update, updates timed) of one model at ``batch_rows`` on trial 0's rows."""
    n_train = data.x_train.shape[1]
    steps = max(1, min(n_train // batch_rows, MAX_STEPS_PER_PASS))
    rows = min(steps * batch_rows, n_train)
    problem = Problem(
        data.x_train[:1, :rows], data.y_train[:1, :rows], data.n_classes, spec, batch_rows,
        reduction, DTYPES[dtype], device, CHUNK_ROWS[device.type],
    )  # fmt: skip
    trainer = PATHS["torch"](problem)
    weights = initial_weights(spec, data.x_train.shape[2], data.n_classes, 0, [data.trials[0]])
    params = to_tensors(weights, DTYPES[dtype], device)
    replica = Replicas(*params, np.array([1e-4]), np.zeros(1, dtype=np.int64), np.zeros(1, int))
    order = np.arange(rows)[None]
    trainer.train_epoch(replica, order)  # warm-up
    _synchronise(device)
    passes, start = 0, time.perf_counter()
    while True:
        trainer.train_epoch(replica, order)
        passes += 1
        _synchronise(device)
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds:
            return elapsed / (passes * steps), passes * steps


def _synchronise(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def devices() -> list[torch.device]:
    """The CPU, and the GPU where CUDA is present."""
    return [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])


def step_costs(
    data: TrialData,
    sizes: Sequence[str],
    spec: ModelSpec,
    reduction: str,
    threads: int,
    min_seconds: float = 0.5,
) -> pd.DataFrame:
    """One row per device and batch size: seconds per step, with the device and threads."""
    saved = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        rows = []
        for device in devices():
            name = cpu_model() if device.type == "cpu" else environment(device)["device_name"]
            for size in sizes:
                batch_rows = batch_sizes.rows(size, data.x_train.shape[1])
                seconds, timed = seconds_per_step(
                    data, batch_rows, spec, reduction, device, min_seconds=min_seconds
                )
                rows.append(
                    {
                        "batch_size": size,
                        "batch_rows": batch_rows,
                        "device": device.type,
                        "device_name": name,
                        "threads": torch.get_num_threads(),
                        "seconds_per_step": seconds,
                        "steps_timed": timed,
                        "torch": torch.__version__,
                    }
                )
        return pd.DataFrame(rows)
    finally:
        torch.set_num_threads(saved)


def step_cost_task(
    split: Path,
    out: Path,
    task: str,
    sizes: Sequence[str],
    training: Mapping[str, Any],
    threads: int,
    min_seconds: float,
) -> pd.DataFrame:
    """The ``step_cost`` rule: seconds per step of every batch size of a task."""
    data = load_trial_data(split)
    spec = ModelSpec(**training["model"])
    frame = step_costs(data, sizes, spec, training["reduction"], threads, min_seconds)
    frame.insert(0, "task", task)
    frame.to_csv(out, index=False, lineterminator="\n")
    return frame
