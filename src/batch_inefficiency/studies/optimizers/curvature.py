"""Curvature where on-line SGD reached the target: the Hessian's spectrum and B_noise.

docs/statistics.md ("Curvature where on-line SGD reached the target") fixes the measures;
docs/design.md §12 says why. Per trial, in float64 over the whole training split, with the
mean per-instance loss:

* the Hessian H, the whole matrix (:func:`batch_inefficiency.studies.generalization.sharpness.
  full_hessian`), and all its eigenvalues: λ_max, λ_min, the negative ones counted;
* κ_eff = λ_max / λ_eff, λ_eff the smallest of the largest positive eigenvalues that together
  carry :data:`CARRIED` of the positive spectrum's sum; κ_all = λ_max over the smallest
  eigenvalue above :data:`RESOLVED` λ_max;
* B_simple = tr(Σ) / |G|² and B_noise = tr(HΣ) / (GᵀHG) from the per-instance gradients
  (:func:`batch_inefficiency.studies.scaling.noise_scale.per_instance_gradients`), Σ their
  unbiased covariance: tr(HΣ) = n/(n-1)·((1/n) Σ_i g_iᵀHg_i - GᵀHG).

Both noise scales are ratios in which the loss's scale cancels.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from batch_inefficiency.data.splits import TrialData
from batch_inefficiency.models import ModelSpec, Weights
from batch_inefficiency.studies.generalization.sharpness import full_hessian
from batch_inefficiency.studies.scaling.noise_scale import at_online_target, per_instance_gradients

CARRIED = 0.9  # share of the positive spectrum's sum that λ_eff's eigenvalues carry
RESOLVED = 1e-10  # eigenvalues below this share of λ_max are left out of κ_all
ROWS = 2048  # instances per product with H (memory stays small on letter's 12,000)


def spectrum_measures(eigenvalues: np.ndarray) -> dict[str, float]:
    """λ_max, λ_min, the negative count, λ_eff, κ_eff and κ_all of a Hessian's eigenvalues."""
    values = np.sort(np.asarray(eigenvalues, dtype=np.float64))[::-1]
    top = float(values[0])
    positive = values[values > 0]
    carried = np.cumsum(positive) / positive.sum() if len(positive) else np.array([])
    if top > 0:
        lam_eff = float(positive[int(np.searchsorted(carried, CARRIED))])
        resolved = positive[positive > RESOLVED * top]
        kappa_all = top / float(resolved[-1])
    else:
        lam_eff, kappa_all = np.nan, np.nan
    return {
        "lambda_max": top,
        "lambda_min": float(values[-1]),
        "negative_eigenvalues": int((values < 0).sum()),
        "lambda_eff": lam_eff,
        "kappa_eff": top / lam_eff if top > 0 else np.nan,
        "kappa_all": kappa_all,
    }


def noise_scales(gradients: np.ndarray, hessian: np.ndarray) -> dict[str, float]:
    """B_simple and B_noise of the per-instance gradients ``[n, p]`` under Hessian ``[p, p]``."""
    n = len(gradients)
    mean = gradients.mean(axis=0)
    weighted = 0.0  # Σ_i g_iᵀ H g_i
    for start in range(0, n, ROWS):
        rows = gradients[start : start + ROWS]
        weighted += float(np.einsum("ip,ip->", rows @ hessian, rows))
    g2 = float(mean @ mean)
    ghg = float(mean @ hessian @ mean)
    trace_sigma = n / (n - 1) * (float(np.einsum("ip,ip->", gradients, gradients)) / n - g2)
    trace_h_sigma = n / (n - 1) * (weighted / n - ghg)
    return {
        "b_simple": trace_sigma / g2 if g2 > 0 else np.inf,
        "b_noise": trace_h_sigma / ghg if ghg > 0 else np.nan,
        "trace_h_sigma": trace_h_sigma,
        "g_h_g": ghg,
    }


def curvature(data: TrialData, weights: Weights, spec: ModelSpec) -> pd.DataFrame:
    """Per trial (one replica each): the spectrum measures and both noise scales."""
    rows = []
    for i, trial in enumerate(data.trials):
        x, y = data.x_train[i], data.y_train[i]
        hessian = full_hessian(x, y, data.n_classes, spec, weights, i)
        hessian = (hessian + hessian.T) / 2  # exact up to rounding; eigvalsh reads one half
        gradients = per_instance_gradients(x, y, data.n_classes, spec, weights, i)
        rows.append(
            {
                "trial": trial,
                "weights": hessian.shape[0],
                **spectrum_measures(np.linalg.eigvalsh(hessian)),
                **noise_scales(gradients, hessian),
            }
        )
    return pd.DataFrame(rows)


def curvature_task(
    split: Path,
    weights: Path,
    rates: Path,
    trials: Path,
    out: Path,
    task: str,
    model: Mapping[str, Any],
    n_trials: int,
) -> pd.DataFrame:
    """The ``optimizer_curvature`` rule: the curvature where on-line SGD reached the target."""
    spec = ModelSpec(**model)
    return at_online_target(
        split, weights, rates, trials, out, task, n_trials,
        lambda data, found: curvature(data, found, spec),
    )  # fmt: skip
