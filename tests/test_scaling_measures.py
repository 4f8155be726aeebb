"""The scaling study's measures (issue 12): the exact gradient noise scale against
autograd, seconds per step, the tables from search files, and the three figures."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from batch_inefficiency.figures import FIGURES, make_figure
from batch_inefficiency.models import ModelSpec, Weights, initial_weights
from batch_inefficiency.studies.scaling.noise_scale import b_simple, noise_scales
from batch_inefficiency.studies.scaling.step_cost import step_costs


def autograd_b_simple(x, y, n_classes, spec: ModelSpec, weights: Weights) -> float:
    """B_simple from per-instance gradients computed one by one with autograd."""
    params = [torch.tensor(a[0], requires_grad=True) for a in weights.as_dict().values()]
    act = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu}[spec.activation]
    grads = []
    for xi, yi in zip(torch.tensor(x), torch.tensor(y), strict=True):
        z = act(xi @ params[0] + params[1]) @ params[2] + params[3]
        t = torch.nn.functional.one_hot(yi, n_classes).double()
        if spec.loss == "squared_error":
            loss = 0.5 * (torch.sigmoid(z) - t).square().sum()
        else:
            loss = -(torch.log_softmax(z, -1) * t).sum()
        grads.append(torch.cat([g.flatten() for g in torch.autograd.grad(loss, params)]).numpy())
    g = np.array(grads)
    mean = g.mean(axis=0)
    return float(np.trace(np.cov(g.T)) / (mean @ mean))


@pytest.mark.parametrize(
    "spec",
    [
        ModelSpec(),
        ModelSpec(activation="tanh", loss="cross_entropy", init="fan_in"),
        ModelSpec(activation="relu", loss="squared_error", init_scale=1.0, hidden=7),
    ],
)
def test_closed_form_noise_scale_equals_autograd(spec):
    rng = np.random.default_rng(4)
    x, y = rng.random((60, 5)), rng.integers(0, 3, 60)
    start = initial_weights(spec, 5, 3, 9, [0])
    weights = Weights(*(3 * a for a in start.as_dict().values()))  # away from the start
    got = b_simple(x, y, 3, spec, weights, 0)
    assert got["b_simple"] == pytest.approx(autograd_b_simple(x, y, 3, spec, weights), rel=1e-9)
    assert got["trace_sigma"] > 0 and got["grad_sq_norm"] > 0


def test_noise_scales_per_trial_with_the_start_for_reference(make_data):
    data = make_data(trials=(0, 1), n_train=30)
    spec = ModelSpec()
    start = initial_weights(spec, 4, 3, 7, [0, 1])
    frame = noise_scales(data, start, spec, base_seed=7)
    assert list(frame["trial"]) == [0, 1]
    np.testing.assert_allclose(frame["b_simple"], frame["b_simple_init"])  # same weights


def test_step_costs_time_every_batch_size_on_the_cpu(make_data):
    data = make_data(trials=(0,), n_train=40)
    frame = step_costs(data, ["1", "8", "full"], ModelSpec(), "sum", threads=1, min_seconds=0.01)
    cpu = frame[frame["device"] == "cpu"]
    assert list(cpu["batch_rows"]) == [1, 8, 40] and (cpu["seconds_per_step"] > 0).all()
    assert (cpu["steps_timed"] >= 1).all() and (cpu["threads"] == 1).all()


def scaling_tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    """A two-task scaling table as scaling_tables writes it (one censored row)."""
    batch = np.array([1, 16, 256, 1000])
    steps = 5000 * (1 + 20 / batch)
    rows = []
    for task, scale in (("a", 1.0), ("b", 0.5)):
        for b, s in zip(batch, steps * scale, strict=True):
            censored = task == "b" and b == 1000
            rows.append(
                {
                    "task": task, "batch_size": "full" if b == 1000 else str(b), "batch_rows": b,
                    "target": 0.8, "search": "edge" if censored else "interior",
                    "best_lr_mean": 0.5 * b**0.3, "trials": 3, "censored": 3 if censored else 0,
                    "budget_steps": 2000, "steps": np.inf if censored else s,
                    "steps_low": s * 0.9, "steps_high": np.inf if censored else s * 1.1,
                    "seconds_per_step_cpu": 1e-4 * b**0.5, "device_name_cpu": "test cpu",
                    "seconds_cpu": s * 1e-4 * b**0.5,
                }
            )  # fmt: skip
    fits = pd.DataFrame(
        {"task": ["a", "b"], "s_min": [5000, 2500], "b_crit": [20, 20], "b_simple": [60, np.nan]}
    )
    return pd.DataFrame(rows), fits


@pytest.mark.parametrize("name", [n for n, s in FIGURES.items() if s.section == "beyond"])
def test_scaling_figures_draw_from_the_tables(name, tmp_path):
    table, fits = scaling_tables()
    table.to_csv(tmp_path / "scaling.csv", index=False)
    fits.to_csv(tmp_path / "scaling_fit.csv", index=False)
    files = {"scaling": tmp_path / "scaling.csv", "scaling_fit": tmp_path / "scaling_fit.csv"}
    inputs = {k: files[k] for k in FIGURES[name].inputs}
    fig = make_figure(name, inputs, tmp_path / "1.pdf", tmp_path / "1.png")
    make_figure(name, inputs, tmp_path / "2.pdf", tmp_path / "2.png")
    assert any(ax.has_data() for ax in fig.axes)
    for ext in ("pdf", "png"):  # the same bytes every time
        assert (tmp_path / f"1.{ext}").read_bytes() == (tmp_path / f"2.{ext}").read_bytes()
