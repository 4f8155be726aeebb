"""Shared fixtures: repository paths, and small synthetic TrialData for the engine tests."""

from __future__ import annotations

import importlib.util
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

from batch_inefficiency.data.splits import TrialData

REPO = Path(__file__).resolve().parents[1]

# Without a GPU the Triton path's kernel runs on CPU tensors through Triton's
# interpreter, so the same tests hold it to the oracle (slowly). Triton reads
# this when engine/triton_path.py is imported, which the engine does on first use.
if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")
TRITON_DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
needs_triton = pytest.mark.skipif(
    importlib.util.find_spec("triton") is None, reason="triton is not installed"
)


@pytest.fixture(scope="session")
def repo() -> Path:
    """The repository root."""
    return REPO


@pytest.fixture(scope="session")
def datasets_root() -> Path:
    """The committed vendored data sets."""
    return REPO / "resources" / "datasets"


def synthetic_data(
    trials: tuple[int, ...] = (0, 1),
    n_train: int = 23,
    n_hold: int = 9,
    n_test: int = 7,
    n_inputs: int = 4,
    n_classes: int = 3,
    seed: int = 0,
) -> TrialData:
    """Inputs uniform in [0, 1], labels a noisy function of the first input (learnable)."""
    rng = np.random.default_rng(seed)

    def split(n: int) -> tuple[np.ndarray, np.ndarray]:
        x = rng.random((len(trials), n, n_inputs))
        y = np.minimum((x[..., 0] + 0.2 * rng.random(x.shape[:2])) * n_classes / 1.2, n_classes - 1)
        return x, y.astype(np.int64)

    (xt, yt), (xh, yh), (xs, ys) = split(n_train), split(n_hold), split(n_test)
    return TrialData(tuple(trials), xt, yt, xh, yh, xs, ys, n_classes)


@pytest.fixture
def make_data() -> Callable[..., TrialData]:
    """The :func:`synthetic_data` factory."""
    return synthetic_data


@pytest.fixture
def small_disk(tmp_path: Path):
    """A 16 KiB tmpfs: a disk that fills up. Needs root and mount; skipped elsewhere."""
    mount = tmp_path / "disk"
    mount.mkdir()
    command = ["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", str(mount)]
    if os.geteuid() != 0 or subprocess.run(command, capture_output=True).returncode != 0:
        pytest.skip("mounting a tmpfs needs root and mount(8)")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)


@pytest.fixture(scope="session")
def tiny_run(repo: Path, tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    """One uninterrupted run of tests/test_workflow.py's tiny configuration, shared by the
    session's xdist workers: the first to ask runs it, the others wait for it (a lock)."""
    from filelock import FileLock
    from test_workflow import snakemake, tiny_config

    base = tmp_path_factory.getbasetemp()
    shared = (base if worker_id == "master" else base.parent) / "tiny-shared"
    with FileLock(f"{shared}.lock"):
        if not (shared / "done").is_file():
            shared.mkdir(exist_ok=True)
            result = snakemake("--configfile", str(tiny_config(shared)), cwd=repo)
            assert result.returncode == 0, result.stdout + result.stderr
            (shared / "done").touch()
    return shared / "results"
