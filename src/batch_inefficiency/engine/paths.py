"""The registry of training paths: name -> trainer class built from a Problem.

``torch`` (torch_path.py, CPU or CUDA, any batch size), ``fused`` (fused_path.py,
numba, CPU) and ``triton`` (triton_path.py, one Triton kernel launch per epoch,
CUDA; imported on first use, as triton comes only with CUDA builds of torch).
Adding a path is one module with a class following ``contract.Trainer`` and one
entry here.
"""

from __future__ import annotations

from collections.abc import Callable

from .contract import Problem, Trainer
from .fused_path import FusedTrainer
from .torch_path import TorchTrainer


def _triton_trainer(problem: Problem) -> Trainer:
    """The Triton path, imported on first use."""
    from .triton_path import TritonTrainer

    return TritonTrainer(problem)


PATHS: dict[str, Callable[[Problem], Trainer]] = {
    "torch": TorchTrainer,
    "fused": FusedTrainer,
    "triton": _triton_trainer,
}
