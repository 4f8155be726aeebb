# What each training job asks the scheduler for (batch_inefficiency.pipeline.resources: the
# calibrated estimates), the jobs' priorities, and the hint printed after a refused job.
from types import SimpleNamespace

from batch_inefficiency.pipeline.resources import (
    Workload,
    scheduler_hint,
    train_mem_mb,
    train_runtime_minutes,
    train_seconds,
)


def gpu_count(wildcards):
    """Training jobs ask for a GPU when the engine is told to use CUDA."""
    return int(config["training"]["engine"]["device"] == "cuda")


def train_workload(wildcards):
    """What a training job's resource estimates depend on (batch_inefficiency.pipeline.resources)."""
    training = config["training"]
    shape = task_shape(
        wildcards.task,
        DATASETS_ROOT,
        config["datasets"]["nominal"],
        training["model"]["hidden"],
    )
    device = "cuda" if gpu_count(wildcards) else "cpu"
    return Workload(
        shape, wildcards.batch, tuple(training["epochs"]), config["trials"], device
    )


def train_runtime(wildcards, attempt):
    """Minutes a training job asks the scheduler for: the calibrated estimate, x attempt."""
    return attempt * train_runtime_minutes(train_workload(wildcards))


def train_priority(wildcards):
    """Longest first: a training job's priority is its estimated seconds, so the long jobs
    start while the short ones can still fill the other cores (docs/design.md §8)."""
    return round(train_seconds(train_workload(wildcards)))


def split_priority(wildcards):
    """A task's split comes as early as its longest training job needs it."""
    return max(
        train_priority(SimpleNamespace(task=wildcards.task, batch=batch))
        for batch in batch_sizes(wildcards.task)
    )


def train_mem(wildcards, attempt):
    """Megabytes a training job asks the scheduler for: the calibrated estimate, x attempt."""
    return attempt * train_mem_mb(train_workload(wildcards))


def print_scheduler_hint(log):
    """After a failed run: what to change if sbatch refused a job (README, SLURM section)."""
    logs = [log] if isinstance(log, (str, Path)) else list(log or [])
    text = "".join(
        Path(f).read_text(errors="replace") for f in logs if Path(f).is_file()
    )
    hint = scheduler_hint(text)
    if hint:
        print(hint, file=sys.stderr)


onerror:
    print_scheduler_hint(log)
