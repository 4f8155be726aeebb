"""The optimizer study's "why, measured" (issue 28): per-instance gradients against autograd,
B_noise and the Hessian's spectrum measures, the two across-task answers and their figure."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from test_scaling_measures import autograd_b_simple

from batch_inefficiency.figures import FIGURES, make_figure
from batch_inefficiency.models import ModelSpec, initial_weights
from batch_inefficiency.studies.optimizers.curvature import (
    curvature,
    noise_scales,
    spectrum_measures,
)
from batch_inefficiency.studies.optimizers.mechanism import (
    b_noise_explains,
    gain_follows_condition,
)
from batch_inefficiency.studies.scaling.noise_scale import b_simple, per_instance_gradients


@pytest.fixture
def problem(make_data):
    data = make_data(trials=(0,), n_train=40, n_inputs=3, n_classes=3)
    spec = ModelSpec(init_scale=1.0)
    weights = initial_weights(spec, 3, 3, 11, [0])
    return data, spec, weights


def test_per_instance_gradients_equal_autograd(problem):
    data, spec, weights = problem
    x, y = data.x_train[0], data.y_train[0]
    got = per_instance_gradients(x, y, 3, spec, weights, 0)
    params = [torch.tensor(a[0], requires_grad=True) for a in weights.as_dict().values()]
    for i in (0, 17, 39):
        z = torch.sigmoid(torch.tensor(x[i]) @ params[0] + params[1]) @ params[2] + params[3]
        t = torch.nn.functional.one_hot(torch.tensor(y[i]), 3).double()
        loss = 0.5 * (torch.sigmoid(z) - t).square().sum()
        want = torch.cat([g.flatten() for g in torch.autograd.grad(loss, params)]).numpy()
        np.testing.assert_allclose(got[i], want, rtol=1e-12, atol=1e-15)


def test_b_noise_with_the_identity_is_b_simple_and_the_measures_agree(problem):
    data, spec, weights = problem
    x, y = data.x_train[0], data.y_train[0]
    gradients = per_instance_gradients(x, y, 3, spec, weights, 0)
    scales = noise_scales(gradients, np.eye(gradients.shape[1]))
    assert scales["b_noise"] == pytest.approx(scales["b_simple"], rel=1e-12)
    assert scales["b_simple"] == pytest.approx(b_simple(x, y, 3, spec, weights, 0)["b_simple"])
    assert scales["b_simple"] == pytest.approx(autograd_b_simple(x, y, 3, spec, weights))
    row = curvature(data, weights, spec).iloc[0]
    assert row["b_simple"] == pytest.approx(scales["b_simple"], rel=1e-10)
    assert row["weights"] == gradients.shape[1]
    assert row["lambda_max"] >= row["lambda_eff"] > 0 and row["kappa_eff"] >= 1


def test_b_noise_weights_the_noise_by_curvature():
    """Noise only along a flat direction, the mean gradient along a sharp one: B_noise is
    the noise's curvature-weighted share, below B_simple by the curvature ratio."""
    rng = np.random.default_rng(0)
    gradients = np.column_stack([np.ones(2000), rng.choice([-1.0, 1.0], 2000)])
    hessian = np.diag([10.0, 0.1])
    scales = noise_scales(gradients, hessian)
    assert scales["b_simple"] == pytest.approx(1.0, rel=0.01)
    assert scales["b_noise"] == pytest.approx(0.01, rel=0.01)


def test_spectrum_measures_of_known_eigenvalues():
    got = spectrum_measures(np.array([0.5, 10, -0.2, 1, 5, 1e-14]))
    assert got["lambda_max"] == 10 and got["lambda_min"] == -0.2
    assert got["negative_eigenvalues"] == 1
    assert got["lambda_eff"] == 5 and got["kappa_eff"] == 2  # 10 + 5 carry 15 / 16.5 > 90%
    assert got["kappa_all"] == 20  # 1e-14 lies below 1e-10 λ_max
    assert np.isnan(spectrum_measures(np.array([-1.0, -2.0]))["kappa_eff"])


def _gains(kappa, gain):
    return pd.DataFrame({"kappa_eff": kappa, "gain_momentum": gain})


def test_gain_follows_condition_exact_one_sided_spearman():
    kappa = [1, 10, 100, 1000, 1e4, 1e5]
    up = gain_follows_condition(_gains(kappa, [1, 2, 3, 4, 5, 6]), 0.05).iloc[0]
    assert up["rho"] == 1 and up["p_value"] == pytest.approx(1 / 720)
    assert up["verdict"] == "follows"
    down = gain_follows_condition(_gains(kappa, [6, 5, 4, 3, 2, 1]), 0.05).iloc[0]
    assert down["verdict"] == "does not follow"
    few = gain_follows_condition(_gains([1, 10, 100], [1, 2, 3]), 0.05).iloc[0]
    assert few["verdict"] == "not computable"


def test_b_noise_explains_rule():
    def table(simple, noise):
        return pd.DataFrame({"b_crit_over_b_simple": simple, "b_crit_over_b_noise": noise})

    assert b_noise_explains(table([0.1, 0.2, 0.3], [1.1, 0.9, 1.5]))["verdict"] == "explains"
    assert b_noise_explains(table([0.01, 0.02, 0.03], [0.1, 0.2, 0.3]))["verdict"] == "partly"
    assert b_noise_explains(table([1, 1, 1], [5, 5, 5]))["verdict"] == "does not"
    assert b_noise_explains(table([0.1, 0.2], [1.0, 1.0]))["verdict"] == "not computable"


def test_gain_figure_draws_from_the_curvature_table(tmp_path):
    table = pd.DataFrame(
        {
            "task": ["a", "b", "c"],
            "kappa_eff": [3.0, 30.0, 300.0],
            "b_simple": [10.0, 50.0, 90.0],
            "b_noise": [2.0, 9.0, 40.0],
            "b_crit": [3.0, 12.0, 30.0],
            "gain_momentum": [1.2, 2.0, 4.0],
            "gain_adam": [0.8, 1.5, 3.0],
        }
    )
    path = tmp_path / "optimizers_curvature.csv"
    table.to_csv(path, index=False)
    pdf, png = tmp_path / "f.pdf", tmp_path / "f.png"
    make_figure("optimizers_curvature", {"optimizers_curvature": path}, pdf=pdf, png=png)
    assert pdf.stat().st_size > 0 and png.stat().st_size > 0
    assert FIGURES["optimizers_curvature"].section == "optimizers"
