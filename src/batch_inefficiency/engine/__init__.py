"""Training engine: many replicas of one task and batch size, with records and an audit trail.

docs/design.md §5. One call of :func:`train` trains every learning rate x
trial of one task at one batch size as R = n_rates x n_trials independent
replicas (replica ``r = rate_index x n_trials + trial_index``). Each replica
starts from the initial weights of its trial (models.initial_weights), presents
the training split each epoch in the order ``seeds.epoch_permutation(base_seed,
trial, epoch, n_train)`` and updates

    W ← W - η Σ_{i∈B} ∇l_i        (``reduction: mean``: η / |B| instead of η)

after every batch B of ``batch_size`` instances (the last, shorter batch of an
epoch is used); with another ``optimizer`` or a ``weight_decay``, it steps that
gradient as torch.optim's SGD with momentum or Nesterov, or Adam, would
(optimizers.py). Each rate has its own epoch budget; a replica leaves the active
set when its budget is spent, when it diverges, or with ``patience`` when its
rate stops improving (stopping.py).

The package, one job a module:

* contract.py: the types every path shares (Problem, Replicas), step scales,
  the kernels' activation/loss codes;
* optimizers.py: the optimizer setting, its update rule and per-replica state;
* settings.py: EngineSettings and their validation;
* plan.py: settings resolved against data and machine, the ``auto`` path rule;
* paths.py: the registry of paths; torch_path.py, fused_path.py, triton_path.py;
* evaluation.py: scoring the splits; schedule.py: when the training and test
  splits are scored; stopping.py: the stopping rules;
* loop.py: the epoch loop; records.py: the records and the run format
  (docs/run_format.md).
"""

from .loop import EpochProgress, Progress, ProgressBar, recompute, train
from .paths import PATHS
from .plan import CHUNK_ROWS, FUSED_MAX_WORK, TRITON_MAX_BATCH, Plan, choose_path, resolve
from .records import COMPLETE, DIVERGED, FORMAT, STOPPED_EARLY, Records, RunResult, load_run
from .settings import EngineConfigError, EngineSettings

__all__ = [
    "CHUNK_ROWS",
    "COMPLETE",
    "DIVERGED",
    "FORMAT",
    "FUSED_MAX_WORK",
    "PATHS",
    "STOPPED_EARLY",
    "TRITON_MAX_BATCH",
    "EngineConfigError",
    "EngineSettings",
    "EpochProgress",
    "Plan",
    "Progress",
    "ProgressBar",
    "Records",
    "RunResult",
    "choose_path",
    "load_run",
    "recompute",
    "resolve",
    "train",
]
