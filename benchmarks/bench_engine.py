"""Throughput of the training engine against a naive loop and the machine's matmul peak.

docs/design.md §5 and §8. Letter-shaped MLP (16-32-26), synthetic data with 12,000
training rows (4,000 hold-out and test), float32, R = 40 replicas (4 rates x 10
trials), batch sizes 1, 10, 100, 1000 and full. Prints one JSON object per line:

* ``updates_per_s``: sample-updates per second (replicas x training instances
  presented, per second of the run) measured through the public ``train`` API,
  so everything a job does per epoch counts: scoring the hold-out split every
  epoch, the training split on its schedule (engine/schedule.py: 15 of the 251
  epochs of each case, 22 of 10,001 in a full job's longest rate), test
  accuracy where the metrics read it, stopping and bookkeeping;
* ``eval_share``: the share of that run's ``train_seconds`` spent outside the
  path's ``train_epoch`` (run.json ``timing``: 1 - kernel_seconds / train_seconds);
* ``kernel_updates_per_s``: the rate of the path's ``train_epoch`` alone, timed
  separately over ``KERNEL_EPOCHS`` epochs;
* ``naive_updates_per_s``: one ``nn.Sequential`` + ``optim.SGD`` model at batch
  size 1 on the same shape (2,000 steps), and ``ratio`` = updates_per_s / naive;
* ``peak_gflops``: a 4096 x 4096 float32 ``torch.mm`` on the same thread count;
  ``fraction_of_peak`` = updates_per_s x FLOPS_PER_UPDATE / peak.

FLOPs per sample-update, 6 (d h + h k) = 8,064 for 16-32-26: forward 2(dh + hk),
hidden delta 2hk, and the two weight-gradient outer products with their update
2(dh + hk); the bias, activation and loss terms (~10 (h + k)) are not counted.
Scoring the hold-out split every epoch adds a forward pass, 2 (d h + h k),
over its rows, i.e. 896 FLOPs per sample-update here;
``fraction_of_peak_incl_eval`` counts them too.

``--optimizers`` adds rows for momentum and Adam (engine/optimizers.py) beside plain
SGD's, on-line (the fused path on the CPU) and at batch size 100 (the torch path),
each with ``ratio_to_sgd`` and ``kernel_ratio_to_sgd``: its rates over plain SGD's
row of the same batch size in the same run. ``--epochs N`` runs every case for N
epochs instead, its kernel alone for at most N (a smoke test, not a measurement).

``--crossover`` instead times both paths' kernels over small batch sizes at
four model shapes (the measurement behind ``engine.FUSED_MAX_WORK``, and on CUDA
behind ``engine.TRITON_MAX_BATCH``). ``--device cuda`` runs every measurement on
the GPU (the engine then takes the Triton path for small batches; the peak is a
float32 matmul without TF32). Run on a quiet machine:
``python benchmarks/bench_engine.py [--threads 2] [--device cpu|cuda] [--optimizers]
[--crossover]``.
"""

from __future__ import annotations

import batch_inefficiency  # noqa: F401  # isort: skip  (first: sets OMP_WAIT_POLICY)
import argparse
import json
import time
from dataclasses import replace

import numpy as np
import torch
from torch import nn

from batch_inefficiency.data.splits import TrialData
from batch_inefficiency.engine import CHUNK_ROWS, PATHS, EngineSettings, train
from batch_inefficiency.engine.contract import Problem, Replicas
from batch_inefficiency.engine.fused_path import set_threads
from batch_inefficiency.engine.optimizers import PLAIN_SGD, OptimizerSpec, OptimizerState, Update
from batch_inefficiency.models import ModelSpec, hidden_units, initial_weights, to_tensors
from batch_inefficiency.seeds import epoch_permutation

N_INPUTS, N_CLASSES, N_TRAIN = 16, 26, 12_000  # letter
RATES = (0.1, 0.01, 0.001, 0.0001)
TRIALS = tuple(range(10))
HIDDEN = hidden_units(ModelSpec(), N_INPUTS, N_CLASSES)
FLOPS_PER_UPDATE = 6 * (N_INPUTS * HIDDEN + HIDDEN * N_CLASSES)
EVAL_FLOPS_PER_UPDATE = FLOPS_PER_UPDATE // 3 * (N_TRAIN // 3) // N_TRAIN  # hold-out forward
# (inputs, classes, training rows) of the crossover shapes: letter and three UCI-like ones
CROSSOVER_SHAPES = ((16, 26, 12_000), (9, 2, 400), (34, 2, 2_000), (60, 3, 1_900))
# epochs per case through train(): long enough that the training-curve schedule's
# dense start (epochs 0-4, 6, 10, ...) weighs little, as in a real job of hundreds to
# thousands of epochs (at 40 on-line epochs, 11 of 41 scored the training split and
# that alone was 8% of the run); 5-30 s each on an idle 2-core machine
CASES = {1: 250, 10: 250, 100: 250, 1000: 250, "full": 250}
# --optimizers: the rules timed beside plain SGD at these batch sizes (on the CPU: 1 fused,
# 100 torch)
OPTIMIZER_CASES = {1: ("momentum", "adam"), 100: ("momentum", "adam")}
SGD = OptimizerSpec()
# epochs of the kernel-alone timing
KERNEL_EPOCHS = 12
# the two paths compared by --crossover on each device
CROSSOVER_PATHS = {"cpu": ("fused", "torch"), "cuda": ("triton", "torch")}


def synchronize(device: str) -> None:
    """Wait for the GPU's queued work (timings on CUDA), nothing on the CPU."""
    if device == "cuda":
        torch.cuda.synchronize()


def synthetic(
    n_inputs: int = N_INPUTS, n_classes: int = N_CLASSES, n_train: int = N_TRAIN, seed: int = 0
) -> TrialData:
    """Uniform inputs, labels from a random linear map; hold-out and test a third of train each."""
    rng = np.random.default_rng(seed)
    projection = rng.normal(size=(n_inputs, n_classes))

    def split(n: int) -> tuple[np.ndarray, np.ndarray]:
        x = rng.random((len(TRIALS), n, n_inputs))
        return x, (x @ projection).argmax(-1)

    (xt, yt), (xh, yh), (xs, ys) = split(n_train), split(n_train // 3), split(n_train // 3)
    return TrialData(TRIALS, xt, yt, xh, yh, xs, ys, n_classes)


def matmul_peak_gflops(threads: int, device: str, n: int = 4096, repeats: int = 5) -> float:
    """Best float32 GFLOP/s of an n x n torch.mm (no TF32)."""
    torch.set_num_threads(threads)
    torch.backends.cuda.matmul.allow_tf32 = False
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    a @ b
    best = 0.0
    for _ in range(repeats):
        synchronize(device)
        start = time.perf_counter()
        a @ b
        synchronize(device)
        best = max(best, 2 * n**3 / (time.perf_counter() - start) / 1e9)
    return best


def naive_updates_per_s(data: TrialData, threads: int, device: str, steps: int = 2000) -> float:
    """One nn.Sequential + optim.SGD model at batch size 1 (summed squared error)."""
    torch.set_num_threads(threads)
    model = nn.Sequential(
        nn.Linear(N_INPUTS, HIDDEN), nn.Sigmoid(), nn.Linear(HIDDEN, N_CLASSES), nn.Sigmoid()
    ).to(device)
    sgd = torch.optim.SGD(model.parameters(), lr=0.1)
    x = torch.as_tensor(data.x_train[0], dtype=torch.float32, device=device)
    labels = torch.as_tensor(data.y_train[0], device=device)
    t = nn.functional.one_hot(labels, data.n_classes).float()
    synchronize(device)
    start = time.perf_counter()
    for i in range(steps):
        loss = 0.5 * ((model(x[i : i + 1]) - t[i : i + 1]) ** 2).sum()
        sgd.zero_grad()
        loss.backward()
        sgd.step()
    synchronize(device)
    return steps / (time.perf_counter() - start)


def kernel_updates_per_s(
    data: TrialData,
    path: str,
    batch: int,
    epochs: int,
    device: str = "cpu",
    update: Update = PLAIN_SGD,
) -> float:
    """Sample-updates per second of one path's ``train_epoch`` alone (no evaluation)."""
    n_train, n_inputs = data.x_train.shape[1:]
    problem = Problem(
        data.x_train, data.y_train, data.n_classes, ModelSpec(), batch, "sum",
        torch.float32, torch.device(device), CHUNK_ROWS[device], update,
    )  # fmt: skip
    trainer = PATHS[path](problem)
    trial_index = np.tile(np.arange(len(TRIALS)), len(RATES))
    params = to_tensors(
        initial_weights(ModelSpec(), n_inputs, data.n_classes, 2003, trial_index),
        torch.float32,
        torch.device(device),
    )
    lr = np.repeat(np.asarray(RATES), len(TRIALS))
    state = OptimizerState.zeros(update, params)
    replicas = Replicas(*params, lr, trial_index, np.arange(len(lr)), state)
    orders = [
        np.stack([epoch_permutation(2003, t, e, n_train) for t in TRIALS]) for e in range(epochs)
    ]
    trainer.train_epoch(replicas, orders[0])  # warm up: compilation, allocator
    synchronize(device)
    start = time.perf_counter()
    for order in orders:
        trainer.train_epoch(replicas, order)
    synchronize(device)
    return len(lr) * n_train * epochs / (time.perf_counter() - start)


def case(
    data: TrialData,
    batch: int | str,
    epochs: int,
    args: argparse.Namespace,
    common: dict,
    optimizer: OptimizerSpec = SGD,
) -> dict:
    """One batch size through the public API, plus its kernel alone; best of ``repeats``."""
    threads, repeats = args.threads, args.repeats
    settings = EngineSettings(
        batch_size=batch,
        learning_rates=RATES,
        epochs=epochs,
        device=args.device,
        dtype="float32",
        threads=threads,
        optimizer=optimizer,
    )
    train(data, replace(settings, epochs=1))  # warm up: JIT cache, allocator
    runs = [train(data, settings) for _ in range(repeats)]
    timing = min((run.info["timing"] for run in runs), key=lambda t: t["train_seconds"])
    seconds = timing["train_seconds"]
    replicas = runs[0].info["resolved"]["replicas"]
    rate = replicas * N_TRAIN * epochs / seconds
    path = runs[0].info["resolved"]["path"]
    set_threads(threads)
    torch.set_num_threads(threads)
    rows = N_TRAIN if batch == "full" else batch
    update = Update.of(optimizer, 0.0)
    kernel = max(
        kernel_updates_per_s(data, path, rows, min(KERNEL_EPOCHS, epochs), args.device, update)
        for _ in range(repeats)
    )
    return {
        "case": f"letter_b{batch}" + ("" if optimizer.name == "sgd" else f"_{optimizer.name}"),
        "batch_size": batch,
        "device": runs[0].info["environment"]["device_name"],
        "path": path,
        "replicas": replicas,
        "dtype": "float32",
        "threads": threads,
        "epochs": epochs,
        "updates_per_s": round(rate),
        "eval_share": round(1 - timing["kernel_seconds"] / seconds, 3),
        "kernel_updates_per_s": round(kernel),
        "naive_updates_per_s": round(common["naive"]),
        "ratio": round(rate / common["naive"], 1),
        "peak_gflops": round(common["peak"], 1),
        "flops_per_update": FLOPS_PER_UPDATE,
        "fraction_of_peak": round(rate * FLOPS_PER_UPDATE / 1e9 / common["peak"], 3),
        "kernel_fraction_of_peak": round(kernel * FLOPS_PER_UPDATE / 1e9 / common["peak"], 3),
        "fraction_of_peak_incl_eval": round(
            rate * (FLOPS_PER_UPDATE + EVAL_FLOPS_PER_UPDATE) / 1e9 / common["peak"], 3
        ),
    }


def crossover(threads: int, device: str) -> None:
    """Kernel rates of the device's two paths over small batch sizes, at several model shapes."""
    set_threads(threads)
    torch.set_num_threads(threads)
    for n_inputs, n_classes, n_train in CROSSOVER_SHAPES:
        data = synthetic(n_inputs, n_classes, n_train)
        hidden = hidden_units(ModelSpec(), n_inputs, n_classes)
        weights = (n_inputs + 1) * hidden + (hidden + 1) * n_classes
        epochs = max(1, 24_000 // n_train)
        for batch in (1, 2, 4, 8, 12, 16, 24, 32, 64, 128):
            rates = {
                p: kernel_updates_per_s(data, p, batch, epochs, device)
                for p in CROSSOVER_PATHS[device]
            }
            row = {"case": "crossover", "shape": f"{n_inputs}-{hidden}-{n_classes}"}
            row |= {"weights": weights, "batch_size": batch, "threads": threads}
            print(json.dumps(row | {k: round(v) for k, v in rates.items()}), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2, help="best of this many runs")
    parser.add_argument("--crossover", action="store_true", help="time both kernels, small b")
    parser.add_argument(
        "--optimizers", action="store_true", help="rows for momentum and Adam beside plain SGD"
    )
    parser.add_argument("--epochs", type=int, help="epochs of every case (a smoke test)")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    args = parser.parse_args()
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: torch.cuda.is_available() is False on this machine")
    if args.crossover:
        crossover(args.threads, args.device)
        return
    data = synthetic()
    common = {
        "peak": matmul_peak_gflops(args.threads, args.device),
        "naive": max(
            naive_updates_per_s(data, args.threads, args.device) for _ in range(args.repeats)
        ),
    }
    sgd_rows = {}
    for batch, epochs in CASES.items():
        sgd_rows[batch] = row = case(data, batch, args.epochs or epochs, args, common)
        print(json.dumps(row), flush=True)
    optimizer_cases = OPTIMIZER_CASES if args.optimizers else {}
    for batch, names in optimizer_cases.items():
        for name in names:
            row = case(data, batch, args.epochs or CASES[batch], args, common, OptimizerSpec(name))
            sgd = sgd_rows[batch]
            row |= {
                "optimizer": name,
                "ratio_to_sgd": round(row["updates_per_s"] / sgd["updates_per_s"], 3),
                "kernel_ratio_to_sgd": round(
                    row["kernel_updates_per_s"] / sgd["kernel_updates_per_s"], 3
                ),
            }
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
