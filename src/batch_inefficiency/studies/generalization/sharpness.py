"""Scores and sharpness of given weights, in float64 (docs/design.md §11).

* :func:`scores`: loss (the model's mean per-instance loss, as ``train_loss`` in
  docs/run_format.md) and accuracy on a split, per replica. The engine records no test
  loss, so every score of the study's points is computed here from the weights.
* :func:`sharpness`: the largest eigenvalue of the Hessian of the mean training loss with
  respect to all weights and biases, exactly: Lanczos (``scipy.sparse.linalg.eigsh``,
  largest algebraic) on Hessian-vector products by double backward (torch.autograd).
  :func:`full_hessian` builds the whole matrix (torch.autograd.functional.hessian), for the
  tests and for checking small networks.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.sparse.linalg import LinearOperator, eigsh

from batch_inefficiency.models import ACTIVATIONS, LOSSES, ModelSpec, Weights

Tensor = torch.Tensor


def _params(weights: Weights, replica: int) -> list[Tensor]:
    return [torch.tensor(a[replica], dtype=torch.float64) for a in weights.as_dict().values()]


def _outputs(x: Tensor, params: list[Tensor], spec: ModelSpec) -> Tensor:
    """The output pre-activation ``[n, k]`` (out-of-place, so autograd can differentiate)."""
    w1, b1, w2, b2 = params
    z1 = x @ w1 + b1
    a1 = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu}[spec.activation](z1)
    return a1 @ w2 + b2


def mean_loss(x: Tensor, t: Tensor, params: list[Tensor], spec: ModelSpec) -> Tensor:
    """The mean per-instance loss (sigmoid + ½ squared error, or softmax + cross-entropy)."""
    z = _outputs(x, params, spec)
    if spec.loss == "squared_error":
        return 0.5 * (torch.sigmoid(z) - t).square().sum() / len(x)
    return -(torch.log_softmax(z, dim=-1) * t).sum() / len(x)


def _tensors(x: np.ndarray, y: np.ndarray, n_classes: int) -> tuple[Tensor, Tensor]:
    xs = torch.as_tensor(x, dtype=torch.float64)
    return xs, torch.nn.functional.one_hot(torch.as_tensor(y), n_classes).double()


def scores(
    x: np.ndarray, y: np.ndarray, n_classes: int, spec: ModelSpec, weights: Weights
) -> tuple[np.ndarray, np.ndarray]:
    """``(loss [R], accuracy [R])`` of every replica on the rows ``x [R, n, d]``, ``y [R, n]``
    (replica r on its own trial's rows)."""
    assert spec.activation in ACTIVATIONS and spec.loss in LOSSES
    losses, accs = [], []
    with torch.no_grad():
        for r in range(len(weights.w1)):
            xs, t = _tensors(x[r], y[r], n_classes)
            params = _params(weights, r)
            losses.append(float(mean_loss(xs, t, params, spec)))
            z = _outputs(xs, params, spec)
            accs.append(float((z.argmax(-1).numpy() == y[r]).mean()))
    return np.array(losses), np.array(accs)


def _flat_loss(x: Tensor, t: Tensor, shapes: list[torch.Size], spec: ModelSpec):
    sizes = [int(np.prod(s)) for s in shapes]

    def loss(theta: Tensor) -> Tensor:
        parts = [p.reshape(s) for p, s in zip(torch.split(theta, sizes), shapes, strict=True)]
        return mean_loss(x, t, parts, spec)

    return loss


def _theta(weights: Weights, replica: int) -> tuple[Tensor, list[torch.Size]]:
    params = _params(weights, replica)
    return torch.cat([p.flatten() for p in params]), [p.shape for p in params]


def full_hessian(
    x: np.ndarray, y: np.ndarray, n_classes: int, spec: ModelSpec, weights: Weights, replica: int
) -> np.ndarray:
    """The Hessian ``[p, p]`` of the mean loss on rows ``x [n, d]`` at one replica's weights."""
    theta, shapes = _theta(weights, replica)
    xs, t = _tensors(x, y, n_classes)
    return torch.autograd.functional.hessian(_flat_loss(xs, t, shapes, spec), theta).numpy()


def sharpness(
    x: np.ndarray,
    y: np.ndarray,
    n_classes: int,
    spec: ModelSpec,
    weights: Weights,
    replica: int,
    tol: float = 1e-8,
) -> float:
    """The largest eigenvalue of the mean loss's Hessian on rows ``x [n, d]`` (Lanczos on
    exact Hessian-vector products; start vector fixed, so the result is reproducible)."""
    theta, shapes = _theta(weights, replica)
    theta.requires_grad_(True)
    xs, t = _tensors(x, y, n_classes)
    (grad,) = torch.autograd.grad(_flat_loss(xs, t, shapes, spec)(theta), theta, create_graph=True)

    def hvp(v: np.ndarray) -> np.ndarray:
        vector = torch.as_tensor(np.ravel(v), dtype=torch.float64)
        (product,) = torch.autograd.grad(grad, theta, vector, retain_graph=True)
        return product.numpy()

    p = theta.numel()
    operator = LinearOperator((p, p), matvec=hvp, dtype=np.float64)
    start = np.random.default_rng(0).standard_normal(p)
    value = eigsh(operator, k=1, which="LA", v0=start, tol=tol, return_eigenvectors=False)
    return float(value[0])
