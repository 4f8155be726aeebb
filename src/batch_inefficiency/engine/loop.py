"""The epoch loop: train every replica of a call, score it, stop it, record it.

:func:`train` runs R = n_rates x n_trials replicas of one task at one batch size
(the engine's package docstring states the update rule). Each epoch, the path's
trainer updates the active replicas in place (paths.py), the evaluator scores
their hold-out accuracy, and their training loss and accuracy where the schedule
or the divergence rule asks (evaluation.py, schedule.py), the stopper retires
those that are done (stopping.py), test accuracy is scored where the metrics
read it (schedule.py), and the curves are filled in. :func:`recompute` trains a
saved run again from its audit trail.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

import numba
import numpy as np
import torch

from batch_inefficiency import batch_sizes
from batch_inefficiency.data.splits import TrialData
from batch_inefficiency.models import Weights, from_tensors, initial_weights, to_tensors
from batch_inefficiency.seeds import EpochOrders

from .contract import OptimizerState, Problem, Replicas, Trainer
from .evaluation import EpochScores, Evaluator
from .fused_path import set_threads
from .paths import PATHS
from .plan import Plan, resolve
from .records import Records, RunResult, load_weights, run_info
from .schedule import HoldPeaks, midpoint_wanted, train_curve_epochs
from .settings import DTYPES, EngineConfigError, EngineSettings, fail
from .stopping import LossBound, Stopper


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


def train(data: TrialData, settings: EngineSettings, progress: Progress | None = None) -> RunResult:
    """Train every learning rate x trial of ``data`` at one batch size.

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
    return _run(data, settings, load_weights(run / "audit.npz"), progress)


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


def _notify(progress: Progress | None, state: EpochProgress) -> None:
    if progress is None:
        return
    update = getattr(progress, "update", None)
    if update is not None:
        update(1)
    else:
        progress(state)


@dataclass
class _Call:
    """One call's fixed parts: plan, replica layout, trainer, evaluator, stopper, schedule."""

    settings: EngineSettings
    plan: Plan
    trials: np.ndarray  # [T] trial numbers
    rate_index: np.ndarray  # [R]
    trial_index: np.ndarray  # [R]
    lr: np.ndarray  # [R]
    budget: np.ndarray  # [R]
    trainer: Trainer
    evaluate: Evaluator
    stopper: Stopper
    train_epochs: np.ndarray  # [E+1] bool, training scores always computed (schedule.py)
    orders: EpochOrders  # each epoch's presentation orders (seeds.epoch_permutation)


def _initial(data: TrialData, call: _Call, given: Weights | None) -> Weights:
    """The replicas' initial weights: drawn from the seeds, or checked against the plan."""
    n_inputs, settings = data.x_train.shape[2], call.settings
    if given is None:
        trials = call.trials[call.trial_index]
        return initial_weights(settings.model, n_inputs, data.n_classes, settings.base_seed, trials)
    expected = (len(call.trial_index), n_inputs, call.plan.hidden)
    if given.w1.shape != expected:
        fail(f"initial weights have shape {given.w1.shape}, expected {expected}")
    return given


def _set_up(data: TrialData, settings: EngineSettings, plan: Plan) -> _Call:
    """Replica layout (rate-major), the path's trainer, the evaluator and the stopper."""
    n_rates, n_trials = len(settings.learning_rates), len(data.trials)
    rate_index = np.repeat(np.arange(n_rates), n_trials)  # [R]
    budget = np.asarray(settings.budgets, dtype=np.int64)[rate_index]
    problem = Problem(
        data.x_train, data.y_train, data.n_classes, settings.model, plan.batch_rows,
        settings.reduction, plan.dtype, plan.device, plan.chunk_rows, plan.update,
    )  # fmt: skip
    splits = ((data.x_train, data.y_train), (data.x_hold, data.y_hold), (data.x_test, data.y_test))
    return _Call(
        settings=settings,
        plan=plan,
        trials=np.asarray(data.trials, dtype=np.int64),
        rate_index=rate_index,
        trial_index=np.tile(np.arange(n_trials), n_rates),
        lr=np.asarray(settings.learning_rates, dtype=np.float64)[rate_index],
        budget=budget,
        trainer=PATHS[plan.path](problem),
        evaluate=Evaluator(
            splits, data.n_classes, settings.model, plan.dtype, plan.device, plan.chunk_rows
        ),
        stopper=Stopper(settings, rate_index, budget, _loss_bound(data, settings, plan)),
        train_epochs=train_curve_epochs(settings.max_epochs),
        orders=EpochOrders(settings.base_seed, np.asarray(data.trials), data.x_train.shape[1]),
    )


def _loss_bound(data: TrialData, settings: EngineSettings, plan: Plan) -> LossBound:
    """What bounds the training loss of this call's models (stopping.LossBound)."""
    spec = settings.model
    return LossBound(
        max_loss=data.n_classes / 2 if spec.loss == "squared_error" else None,
        n_inputs=data.x_train.shape[2],
        hidden=plan.hidden,
        max_input=float(np.abs(data.x_train).max()),
        bounded_hidden=spec.activation in ("sigmoid", "tanh"),
        finite_below=float(torch.finfo(DTYPES[settings.dtype]).max) / 1e6,
    )


def _epochs(call: _Call, active: Replicas, n_train: int, progress: Progress | None):
    """Run the epochs; return the curves, epochs run, final weights and timing.

    Timing: ``train_seconds`` (all of it) and ``kernel_seconds`` (the path's
    ``train_epoch`` calls; the rest is scoring, stopping and bookkeeping).
    """
    n_rep, n_cols = len(call.lr), call.settings.max_epochs + 1
    steps = batch_sizes.steps_per_epoch(call.plan.batch_rows, n_train)
    final = [p.clone() for p in active.params]  # each replica's weights when it stopped
    curves = {name: np.full((n_rep, n_cols), np.nan) for name in Records.CURVES}
    evaluate = call.evaluate
    tests = HoldPeaks(call.rate_index, evaluate.n_hold, evaluate.test, curves["test_acc"])
    epochs_run = np.zeros(n_rep, dtype=np.int64)
    start = time.perf_counter()
    kernel = 0.0
    for epoch in range(n_cols):
        if epoch:
            orders = call.orders(epoch - 1, np.unique(active.trial_index))  # [T, n], rows in use
            kernel -= time.perf_counter()
            call.trainer.train_epoch(active, orders)
            if call.plan.device.type == "cuda":
                torch.cuda.synchronize(call.plan.device)  # the epoch's kernels, timed as such
            kernel += time.perf_counter()
        done = _score(call, epoch, active, curves, tests)
        seconds = time.perf_counter() - start
        ids = active.ids
        curves["seconds"][ids, epoch] = seconds
        curves["updates"][ids, epoch] = epoch * steps
        epochs_run[ids] = epoch
        if done.any():
            index = torch.from_numpy(np.flatnonzero(done)).to(call.plan.device)
            for kept, p in zip(final, active.params, strict=True):
                kept[ids[done]] = p.index_select(0, index)
            active = active.keep(~done)
        if epoch:
            _notify(progress, EpochProgress(epoch, n_cols - 1, len(active.ids), seconds))
        if not len(active.ids):
            break
    return curves, epochs_run, final, {"train_seconds": seconds, "kernel_seconds": kernel}


def _score(
    call: _Call, epoch: int, active: Replicas, curves: dict[str, np.ndarray], tests: HoldPeaks
) -> np.ndarray:
    """Score ``epoch`` (schedule.py), decide who stops, fill the curves; [Ra] bool: done."""
    scores = EpochScores(call.evaluate, active)
    if call.train_epochs[epoch]:
        scores.score_train(np.ones(len(active.ids), dtype=bool))
    done = call.stopper(epoch, active, scores)
    ids = active.ids
    midpoint = midpoint_wanted(epoch, lambda end: call.stopper.may_end(end, ids))
    scores.score_train(done | midpoint)  # every replica's last epoch and possible midpoints
    curves["hold_acc"][ids, epoch] = scores.hold_acc
    scored = ids[scores.scored]
    curves["train_loss"][scored, epoch] = scores.train_loss[scores.scored]
    curves["train_acc"][scored, epoch] = scores.train_acc[scores.scored]
    tests.update(epoch, active, scores.hold_acc, done)
    return done


def _target_records(reached_epoch: np.ndarray, batch_rows: int, n_train: int) -> dict:
    """``target_epoch`` and ``target_step`` of the records (-1 where never reached)."""
    steps = batch_sizes.steps_per_epoch(batch_rows, n_train)
    return {
        "target_epoch": reached_epoch,
        "target_step": np.where(reached_epoch >= 0, reached_epoch * steps, -1),
    }


def _run(
    data: TrialData, settings: EngineSettings, given: Weights | None, progress: Progress | None
) -> RunResult:
    """The body of :func:`train` and :func:`recompute`."""
    plan = resolve(settings, data)
    with _runtime(settings) as runtime:
        setup_start = time.perf_counter()
        call = _set_up(data, settings, plan)
        initial = _initial(data, call, given)
        params = to_tensors(initial, plan.dtype, plan.device)
        state = OptimizerState.zeros(plan.update, params)
        replicas = Replicas(*params, call.lr, call.trial_index, np.arange(len(call.lr)), state)
        setup_seconds = time.perf_counter() - setup_start
        n_train = data.x_train.shape[1]
        curves, epochs_run, final, timing = _epochs(call, replicas, n_train, progress)
    timing = {"setup_seconds": setup_seconds, **timing}
    runtime["numba_threading_layer"] = _numba_threading_layer()
    records = Records(
        lr=call.lr,
        trial=call.trials[call.trial_index],
        budget=call.budget,
        status=call.stopper.status,
        epochs_run=epochs_run,
        **_target_records(call.stopper.reached_epoch, plan.batch_rows, n_train),
        **curves,
    )
    info = run_info(settings, plan, data, runtime, timing)
    return RunResult(info, records, initial, from_tensors(*final))
