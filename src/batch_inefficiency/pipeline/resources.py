"""What a training job asks a cluster scheduler for: wall-clock time and memory.

The ``train`` rule (workflow/rules/runs.smk) requests ``runtime`` and ``mem_mb``
from these estimates, so a SLURM job's limits follow its workload (task size,
batch size, budgets, replicas) instead of one constant for every job.

Runtime. A training job trains R = trials x rates replicas together
(engine.py); each epoch costs a fixed overhead plus an amount proportional to
the replicas still active, the training rows and the weights per replica
W = (d + 1) h + (h + 1) k (d inputs, h hidden units, k classes). Rate r's
``trials`` replicas stay active for ``budget_r`` epochs, the epoch loop runs
until the largest budget, so

    seconds = STARTUP + max(budgets) x (EPOCH + steps x STEP)
              + trials x sum(budgets) x (n_train x (ROW + WEIGHT x W) + OUTPUT)

with ``steps`` = weight updates per epoch (ceil(n_train / batch)), OUTPUT the
cost of one row of curves.csv.gz (one per replica and epoch), and the
coefficients of the path the engine takes (:func:`engine_path`: the fused
on-line kernel for batch 1 and small batches on the CPU, torch otherwise).
The request is ``safety`` times that, in whole minutes, at least
:data:`MIN_MINUTES`. Threads are not credited: the estimate is for one thread,
so a job given more CPUs only finishes earlier.

Calibration (:data:`CALIBRATION`; 2-core AMD EPYC, 1 thread, R = 40
replicas, float32; seconds per epoch from ``benchmarks/project_runtime.py``
in two sessions): letter (12,001 rows, 16-32-26) batch 1: 0.31 / 0.31, 10:
0.34 / 0.30, 20: 0.17, 50: 0.15, 100: 0.155 / 0.155, 1000: 0.159, full:
0.206 / 0.163; spambase (2,758 rows, 57-114-2) 1: 0.22 / 0.215, full: 0.195 /
0.162; satimage (3,862 rows, 36-72-6) 1: 0.18 / 0.169, full: 0.108; banana
(3,180 rows, 2-4-2) 1: 0.0145, full: 0.0098; iris (90 rows, 4-8-3) 1: 0.0024
/ 0.0015, full: 0.0021 / 0.0013. A least-squares fit of the relative error
gives the coefficients below; every measurement is within 0.80-1.53x of the
fit (worst: iris, where the fixed per-epoch overhead dominates), so the
default ``safety`` of 2 covers the calibration machine with room for slower
cluster cores. Per-update overhead
is not measurable on the CPU at these sizes (STEP = 0). Writing the curves
took 7.6 s for 400,000 rows (:data:`OUTPUT_SECONDS`). Job start-up (imports,
numba compilation) took 3-5 s here; :data:`STARTUP_SECONDS` allows for slow
shared file systems. Check on whole jobs of the full configuration (10
trials, budgets 1,000-10,000; results/benchmarks, run two at a time at nice
19 on the shared machine): bupa, iris, mammographic, saheart, tic-tac-toe,
vehicle, vowel, wisconsin and german took 0.2-1.0x the estimate. CUDA was
not available for calibration: there the torch-path coefficients are used with
an assumed per-update launch overhead (:data:`CUDA_STEP_SECONDS`), which
dominates on-line training through torch on a GPU. For small batches the engine
takes the Triton path there (one launch per epoch), so the request is an upper
bound until a GPU session measures it.

Memory. The peak resident memory of the calibration jobs (results/benchmarks,
``max_rss``) was 330-430 MB whatever the task: the Python, torch, numba and
pandas runtime. On top of that a job holds its splits (float64 and the
working float32 copies) and the per-epoch curves (six float64 curves per
replica and the long table written to curves.csv.gz, about 200 bytes per
replica-epoch); CUDA adds its host-side context. The request is ``safety``
(1.5: memory does not vary with the node's speed) times the sum, in MB.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

from batch_inefficiency import batch_sizes
from batch_inefficiency.data.datasets import load_dataset, manifest_entry
from batch_inefficiency.engine import choose_path
from batch_inefficiency.errors import UserError
from batch_inefficiency.models import ModelSpec, hidden_units, weight_count

TRAIN_SHARE = 0.6  # data.SPLIT_FRACTIONS[0]: the training split's share of the instances


@dataclass(frozen=True)
class PathCost:
    """Seconds per epoch (``epoch``), per update (``step``), per replica-row and per weight."""

    epoch: float
    step: float
    row: float
    weight: float


# Fitted on the calibration runs above (seconds, one thread).
COSTS: dict[str, PathCost] = {
    "fused": PathCost(epoch=1.1e-3, step=0.0, row=1.1e-7, weight=3.2e-10),
    "torch": PathCost(epoch=6.0e-3, step=0.0, row=2.5e-8, weight=2.2e-10),
}
OUTPUT_SECONDS = 2e-5  # per row of curves.csv.gz (measured: 7.6 s for 400,000 rows)
# The measurements the coefficients were fitted to: (task, TaskShape fields, batch size,
# seconds per epoch with 40 replicas active, one thread), two sessions on the same machine.
CALIBRATION: tuple[tuple[str, tuple[int, int, int, int], str, float], ...] = (
    ("letter", (12001, 16, 32, 26), "1", 0.31),
    ("letter", (12001, 16, 32, 26), "10", 0.34),
    ("letter", (12001, 16, 32, 26), "100", 0.155),
    ("letter", (12001, 16, 32, 26), "1000", 0.159),
    ("letter", (12001, 16, 32, 26), "full", 0.206),
    ("letter", (12001, 16, 32, 26), "1", 0.3115),
    ("letter", (12001, 16, 32, 26), "10", 0.2975),
    ("letter", (12001, 16, 32, 26), "20", 0.1676),
    ("letter", (12001, 16, 32, 26), "50", 0.149),
    ("letter", (12001, 16, 32, 26), "100", 0.1546),
    ("letter", (12001, 16, 32, 26), "full", 0.1632),
    ("spambase", (2758, 57, 114, 2), "1", 0.22),
    ("spambase", (2758, 57, 114, 2), "full", 0.195),
    ("spambase", (2758, 57, 114, 2), "1", 0.215),
    ("spambase", (2758, 57, 114, 2), "full", 0.1618),
    ("satimage", (3862, 36, 72, 6), "1", 0.18),
    ("satimage", (3862, 36, 72, 6), "1", 0.1692),
    ("satimage", (3862, 36, 72, 6), "full", 0.1081),
    ("banana", (3180, 2, 4, 2), "1", 0.0145),
    ("banana", (3180, 2, 4, 2), "full", 0.0098),
    ("iris", (90, 4, 8, 3), "1", 0.0024),
    ("iris", (90, 4, 8, 3), "full", 0.0021),
    ("iris", (90, 4, 8, 3), "1", 0.0015),
    ("iris", (90, 4, 8, 3), "full", 0.00126),
)
CALIBRATION_REPLICAS = 40
CUDA_STEP_SECONDS = 2e-4  # assumed (not measured): ~20 kernel launches per update
STARTUP_SECONDS = 20.0
MIN_MINUTES = 5
BASE_MB = 450.0  # measured 330-430 MB peak for the smallest jobs
CUDA_BASE_MB = 1500.0  # assumed host memory of a CUDA context (torch)
BYTES_PER_REPLICA_EPOCH = 200.0  # 6 float64 curves + the long table's row
BYTES_PER_INPUT_VALUE = 8.0 * 3  # float64 as loaded and scaled, float32 working copy

Device = Literal["cpu", "cuda"]


@dataclass(frozen=True)
class TaskShape:
    """What the cost of training a task depends on: rows, inputs, hidden units, classes."""

    n_train: int
    n_inputs: int
    n_hidden: int
    n_classes: int

    @property
    def n_weights(self) -> int:
        """Weights and biases of one replica, as the engine counts them."""
        return weight_count(self.n_inputs, self.n_hidden, self.n_classes)


def engine_path(shape: TaskShape, batch_size: int | str, device: Device = "cpu") -> str:
    """The engine's ``path: auto`` choice (engine.choose_path) for this job."""
    rows = batch_sizes.rows(batch_size, shape.n_train)
    return choose_path(device, rows, (shape.n_inputs, shape.n_hidden, shape.n_classes))


@dataclass(frozen=True)
class Workload:
    """One training job: its task's shape, batch size, epoch budget per rate, trials, device."""

    shape: TaskShape
    batch_size: int | str
    budgets: tuple[int, ...]
    trials: int
    device: Device = "cpu"

    def __post_init__(self) -> None:
        if not self.budgets or min(self.budgets) < 1 or self.trials < 1:
            raise UserError(
                f"need budgets >= 1 and trials >= 1, got {list(self.budgets)} and {self.trials}"
            )
        batch_sizes.rows(self.batch_size, self.shape.n_train)  # refuses a bad batch size


def epoch_seconds(
    shape: TaskShape, batch_size: int | str, replicas: int, device: Device = "cpu"
) -> float:
    """Seconds of one training epoch with ``replicas`` replicas active, on one thread."""
    cost = COSTS["torch" if device == "cuda" else engine_path(shape, batch_size, device)]
    step = CUDA_STEP_SECONDS if device == "cuda" else cost.step
    steps = batch_sizes.steps_per_epoch(batch_sizes.rows(batch_size, shape.n_train), shape.n_train)
    per_replica = shape.n_train * (cost.row + cost.weight * shape.n_weights)
    return cost.epoch + steps * step + replicas * per_replica


def train_seconds(job: Workload) -> float:
    """The expected wall-clock seconds of one training job on one thread (no safety factor)."""
    shape, batch_size, device = job.shape, job.batch_size, job.device
    fixed = epoch_seconds(shape, batch_size, 0, device)  # while any replica is active
    per_replica = epoch_seconds(shape, batch_size, 1, device) - fixed + OUTPUT_SECONDS
    replica_epochs = job.trials * sum(job.budgets)  # rate r keeps `trials` replicas for budget_r
    return STARTUP_SECONDS + max(job.budgets) * fixed + replica_epochs * per_replica


def train_runtime_minutes(job: Workload, safety: float = 2.0) -> int:
    """Minutes of wall-clock time to request for a training job: ``safety`` x the estimate."""
    return max(MIN_MINUTES, math.ceil(safety * train_seconds(job) / 60))


def train_mem_mb(job: Workload, safety: float = 1.5) -> int:
    """Megabytes of memory to request for a training job: ``safety`` x the estimate.

    The hidden units and the batch size do not change the host memory measurably
    (activations are processed in chunks of at most 512 rows on the CPU).
    """
    n_instances = job.shape.n_train / TRAIN_SHARE
    data = job.trials * n_instances * (job.shape.n_inputs + 1) * BYTES_PER_INPUT_VALUE
    replicas = job.trials * len(job.budgets)
    curves = replicas * (max(job.budgets) + 1) * BYTES_PER_REPLICA_EPOCH
    base = BASE_MB + (CUDA_BASE_MB if job.device == "cuda" else 0.0)
    return math.ceil(safety * (base + (data + curves) / 2**20))


@cache
def task_shape(name: str, root: Path, nominal: str, hidden: str | int) -> TaskShape:
    """The shape of a vendored task from its manifest row (one-hot inputs: from the data).

    ``n_train`` is 60 % of the instances, as the stratified split gives to within
    one instance per class.
    """
    entry = manifest_entry(name, Path(root))
    n_classes = int(entry["classes"])
    if nominal == "onehot":
        n_inputs = load_dataset(name, Path(root), nominal).x.shape[1]
    else:
        n_inputs = int(entry["inputs"])
    n_hidden = hidden_units(ModelSpec(hidden=hidden), n_inputs, n_classes)
    n_train = round(TRAIN_SHARE * int(entry["instances"]))
    return TaskShape(n_train, n_inputs, n_hidden, n_classes)


README_SECTION = 'README.md, "Running on a SLURM cluster"'

# sbatch's refusal (a substring of its message, lower case) -> what to change.
SBATCH_HINTS: dict[str, str] = {
    "invalid partition": (
        "the partition does not exist: set SBATCH_PARTITION to one that `sinfo` lists"
    ),
    "no partition specified": (
        "this cluster has no default partition: set SBATCH_PARTITION to one that `sinfo` lists"
    ),
    "invalid account": (
        "the account is not yours: set SBATCH_ACCOUNT to one that "
        "`sacctmgr show associations user=$USER` lists, or pass --slurm-no-account"
    ),
    "invalid generic resource": (
        "the partition has no GPUs: set SBATCH_PARTITION to a GPU partition, or train on "
        "the CPU (training.engine.device: cpu or auto)"
    ),
    "time limit": (
        "the runtime exceeds the partition's limit: choose a partition with a longer "
        "MaxTime, or set a smaller runtime in profiles/slurm/config.yaml"
    ),
    "node configuration is not available": (
        "no node has the CPUs or memory asked for: lower set-threads or mem_mb in "
        "profiles/slurm/config.yaml, or choose another partition"
    ),
    "memory specification": (
        "no node has the memory asked for: set a smaller mem_mb in "
        "profiles/slurm/config.yaml, or choose another partition"
    ),
}


def scheduler_hint(log_text: str) -> str | None:
    """A hint for the first sbatch refusal in a Snakemake log, or None if there is none.

    The SLURM executor prints sbatch's own message ("SLURM sbatch failed. The
    error message was '...'"); this adds what to change and where it is documented.
    """
    marker = "sbatch failed"
    start = log_text.find(marker)
    if start < 0:
        return None
    message = log_text[start:].split("sbatch call", 1)[0].lower()  # sbatch's own words
    hints = [hint for key, hint in SBATCH_HINTS.items() if key in message]
    advice = hints[0] if hints else "the scheduler refused the job (its message is above)"
    return f"Hint: sbatch refused a job: {advice}. See {README_SECTION}."
