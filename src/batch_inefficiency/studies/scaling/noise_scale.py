"""The gradient noise scale B_simple = tr(Σ) / |G|², exactly, over the training split.

McCandlish et al. (2018) predict the critical batch size from the noise of the
per-example gradients: G is the mean gradient of the per-instance loss over
the training split and Σ the covariance of the per-instance gradients g_i.
Both come from the whole training split, with no sampling:

* For a dense layer y = a W + b, the gradient of instance i is the outer
  product a_iᵀ δ_i (and δ_i for the bias), so its squared norm is
  (|a_i|² + 1) |δ_i|². For this one-hidden-layer MLP,
  |g_i|² = (|x_i|² + 1) |δ1_i|² + (|a1_i|² + 1) |δ2_i|², where δ2 is the
  error signal at the output pre-activation and δ1 at the hidden one: one
  batched forward and backward, no per-instance autograd loop.
* G = (1/n) Σ g_i is the same backward summed over instances.
* tr(Σ) = n / (n - 1) · ((1/n) Σ |g_i|² - |G|²) (the unbiased covariance).

The scale of the loss (½ Σ, or a mean) cancels in the ratio. The study
measures B_simple at the weights where on-line training (batch size 1, at its
best rate) first reached the target (docs/design.md §9).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from batch_inefficiency.data.splits import TrialData, load_trial_data
from batch_inefficiency.engine.contract import hidden
from batch_inefficiency.engine.records import load_weights
from batch_inefficiency.models import ACTIVATIONS, LOSSES, ModelSpec, Weights, initial_weights
from batch_inefficiency.studies.rate_search import subset_trials

CHUNK_ROWS = 4096  # rows per chunk (memory stays small on letter's 12,000 rows)


def _chunk_deltas(
    x: np.ndarray, y: np.ndarray, n_classes: int, spec: ModelSpec, weights: Weights, replica: int
):
    """Per chunk of rows: ``(x, d1, a1, d2)``, each ``[c, ·]`` in float64, where the gradient
    of instance i is ``(x_i ⊗ d1_i, d1_i, a1_i ⊗ d2_i, d2_i)`` (module docstring)."""
    act, loss = ACTIVATIONS[spec.activation], LOSSES[spec.loss]
    w1, b1, w2, b2 = (
        torch.as_tensor(a[replica : replica + 1], dtype=torch.float64)
        for a in weights.as_dict().values()
    )
    for start in range(0, len(x), CHUNK_ROWS):
        xs = torch.as_tensor(x[None, start : start + CHUNK_ROWS], dtype=torch.float64)
        t = torch.nn.functional.one_hot(
            torch.as_tensor(y[None, start : start + CHUNK_ROWS]), n_classes
        ).double()
        a1 = hidden(xs, w1, b1, act)  # [1, c, h]
        d2 = loss.delta_(torch.baddbmm(b2[:, None], a1, w2), t)  # [1, c, k]
        d1 = act.backward(torch.bmm(d2, w2.transpose(1, 2)), a1)  # [1, c, h]
        yield xs[0], d1[0], a1[0], d2[0]


def gradient_moments(
    x: np.ndarray, y: np.ndarray, n_classes: int, spec: ModelSpec, weights: Weights, replica: int
) -> tuple[float, np.ndarray]:
    """(mean of |g_i|², flat mean gradient G) of one replica's weights on rows ``x [n, d]``.

    Float64, chunked over rows; the loss is the model's per-instance loss.
    """
    sums: list[torch.Tensor] | None = None
    squared = 0.0
    for xs, d1, a1, d2 in _chunk_deltas(x, y, n_classes, spec, weights, replica):
        norms = (xs.square().sum(-1) + 1) * d1.square().sum(-1)
        norms += (a1.square().sum(-1) + 1) * d2.square().sum(-1)
        squared += float(norms.sum())
        parts = [xs.T @ d1, d1.sum(0), a1.T @ d2, d2.sum(0)]
        sums = parts if sums is None else [s + p for s, p in zip(sums, parts, strict=True)]
    n = len(x)
    assert sums is not None
    return squared / n, torch.cat([s.flatten() for s in sums]).numpy() / n


def per_instance_gradients(
    x: np.ndarray, y: np.ndarray, n_classes: int, spec: ModelSpec, weights: Weights, replica: int
) -> np.ndarray:
    """The gradient of every instance's loss, ``[n, p]`` in float64, flattened in the order
    of ``Weights.as_dict()`` (w1 [d, h], b1, w2 [h, k], b2), one replica's weights."""
    rows = []
    for xs, d1, a1, d2 in _chunk_deltas(x, y, n_classes, spec, weights, replica):
        c = len(xs)
        outer1 = (xs[:, :, None] * d1[:, None, :]).reshape(c, -1)
        outer2 = (a1[:, :, None] * d2[:, None, :]).reshape(c, -1)
        rows.append(torch.cat([outer1, d1, outer2, d2], dim=1).numpy())
    return np.concatenate(rows)


def b_simple(
    x: np.ndarray, y: np.ndarray, n_classes: int, spec: ModelSpec, weights: Weights, replica: int
) -> dict[str, float]:
    """B_simple, tr(Σ) and |G|² of one replica's weights on the rows ``x [n, d]``."""
    n = len(x)
    mean_squared, gradient = gradient_moments(x, y, n_classes, spec, weights, replica)
    g2 = float(gradient @ gradient)
    trace = n / (n - 1) * (mean_squared - g2)
    return {"b_simple": trace / g2 if g2 > 0 else np.inf, "trace_sigma": trace, "grad_sq_norm": g2}


def noise_scales(
    data: TrialData, weights: Weights, spec: ModelSpec, base_seed: int
) -> pd.DataFrame:
    """Per trial: B_simple at ``weights`` (one replica per trial) and at initialisation."""
    start = initial_weights(
        spec, data.x_train.shape[2], data.n_classes, base_seed, list(data.trials)
    )
    rows = []
    for i, trial in enumerate(data.trials):
        x, y = data.x_train[i], data.y_train[i]
        there = b_simple(x, y, data.n_classes, spec, weights, i)
        rows.append(
            {
                "trial": trial,
                **there,
                "b_simple_init": b_simple(x, y, data.n_classes, spec, start, i)["b_simple"],
            }
        )
    return pd.DataFrame(rows)


def at_online_target(
    split: Path,
    weights: Path,
    rates: Path,
    trials: Path,
    out: Path,
    task: str,
    n_trials: int,
    measure: Callable[[TrialData, Weights], pd.DataFrame],
) -> pd.DataFrame:
    """``measure(data, weights)`` (a row per trial) where on-line training reached the target.

    ``weights``, ``rates`` and ``trials`` are the on-line search's best_weights.npz,
    rates.csv and trials.csv; a trial that never reached the target is measured where it
    stopped and marked ``censored``. The rows, with the rate and epochs, go to ``out``.
    """
    data = subset_trials(load_trial_data(split), n_trials)
    frame = measure(data, load_weights(Path(weights)))
    per_trial = pd.read_csv(trials)
    best_lr = pd.read_csv(rates).query("best")["lr"].iloc[0]
    mine = per_trial[np.isclose(per_trial["lr"], best_lr)].set_index("trial")
    frame.insert(0, "task", task)
    frame.insert(2, "lr", best_lr)
    frame["censored"] = mine.loc[frame["trial"], "censored"].to_numpy()
    frame["epochs_to_target"] = mine.loc[frame["trial"], "epochs_to_target"].to_numpy()
    frame.to_csv(out, index=False, lineterminator="\n")
    return frame


def noise_scale_task(
    split: Path,
    weights: Path,
    rates: Path,
    trials: Path,
    out: Path,
    task: str,
    model: Mapping[str, Any],
    n_trials: int,
    seed: int,
) -> pd.DataFrame:
    """The ``noise_scale`` rule: B_simple where on-line training reached the target."""
    spec = ModelSpec(**model)
    return at_online_target(
        split, weights, rates, trials, out, task, n_trials,
        lambda data, found: noise_scales(data, found, spec, seed),
    )  # fmt: skip
