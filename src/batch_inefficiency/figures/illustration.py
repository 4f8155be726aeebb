"""The paper's argument on a toy error surface: why on-line training can take larger steps.

Computed, not read from the experiments.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from .style import (
    DOUBLE,
    FAINT,
    PALETTE,
    new_figure,
    panel_letters,
    plain_log_ticks,
    styled,
)  # fmt: skip


def error_surface(
    centres: np.ndarray, along: float = 1.0, across: float = 2.0
) -> tuple[Callable[[np.ndarray, np.ndarray], np.ndarray], Callable[[np.ndarray, int], np.ndarray]]:
    """A 2-D per-instance error with a curved valley, and its per-instance gradient.

    Instance i: ``E_i(w) = along/2 (w1 - c_i)^2 + across/2 (w2 - w1^2)^2``: its minimum
    ``(c_i, c_i^2)`` lies on the parabola ``w2 = w1^2``; the sum is a curved (banana)
    valley, steep across and shallow along. Returns (total error on a grid, gradient of
    one instance at a point).
    """

    def total(w1: np.ndarray, w2: np.ndarray) -> np.ndarray:
        valley = 0.5 * across * (w2 - w1**2) ** 2
        return sum(0.5 * along * (w1 - c) ** 2 + valley for c in centres)

    def gradient(w: np.ndarray, i: int) -> np.ndarray:
        off = w[1] - w[0] ** 2
        return np.array([along * (w[0] - centres[i]) - 2 * across * off * w[0], across * off])

    return total, gradient


def descent_paths(
    learning_rate: float, epochs: int, instances: int, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """On-line and batch gradient descent on :func:`error_surface` from the same start.

    Returns (on-line weights after each epoch ``[epochs+1, 2]``, on-line weights after
    each instance ``[epochs*instances+1, 2]``, batch weights after each epoch ``[epochs+1, 2]``).
    """
    centres = np.linspace(0.4, 1.6, instances)
    _, gradient = error_surface(centres)
    start = np.array([-1.0, 1.5])
    order = np.random.default_rng(seed)
    online, steps, batch = [start], [start], [start]
    w = start
    for _ in range(epochs):
        for i in order.permutation(instances):  # one step per instance, shuffled each epoch
            w = w - learning_rate * gradient(w, i)
            steps.append(w)
        online.append(w)
    w = start
    for _ in range(epochs):  # one step per epoch along the summed gradient
        w = w - learning_rate * sum(gradient(w, i) for i in range(instances))
        batch.append(w)
    return np.array(online), np.array(steps), np.array(batch)


def legend_handles(on_colour: tuple, batch_colour: tuple) -> list[Line2D]:
    """The illustration's legend: both methods' paths, the start and the minimum."""
    on_line = {"color": on_colour, "marker": "o", "ms": 2.8, "lw": 0.7}
    batch = {"color": batch_colour, "marker": "s", "ms": 2.8, "lw": 0.9}
    return [
        Line2D([], [], **on_line, label="on-line (step per instance)"),
        Line2D([], [], **batch, label="batch (step per epoch)"),
        Line2D([], [], ls="", marker="^", color="k", ms=5, label="start"),
        Line2D([], [], ls="", marker="*", color="k", ms=7, label="minimum"),
    ]


@styled
def error_surface_illustration(
    learning_rate: float = 0.05, epochs: int = 20, instances: int = 8, seed: int = 0
) -> Figure:
    """On-line vs batch gradient descent on a curved 2-D error surface (the paper's argument).

    Same rate, same start: on-line takes one step per instance (shuffled each epoch,
    seeded) and follows the valley; batch takes one step per epoch along the summed
    gradient, which points off the curved valley and overshoots across it. (a) the
    contours and both paths (dots = end of each epoch); (b) total error per epoch.
    """
    total, _ = error_surface(np.linspace(0.4, 1.6, instances))
    online, steps, batch = descent_paths(learning_rate, epochs, instances, seed)
    fig, (left, right) = new_figure(DOUBLE, 3.0, ncols=2, width_ratios=[1.15, 1])
    w1, w2 = np.meshgrid(np.linspace(-1.5, 1.8, 300), np.linspace(-0.4, 2.4, 300))
    surface = total(w1, w2)  # [300, 300]
    levels = np.geomspace(surface.min() * 1.05, surface.max(), 14)
    left.contour(w1, w2, surface, levels=levels, colors="0.8", linewidths=0.6)
    minimum = np.unravel_index(surface.argmin(), surface.shape)
    palette = sns.color_palette(PALETTE)
    on_colour, batch_colour = palette[0], palette[3]
    left.plot(steps[:, 0], steps[:, 1], color=on_colour, lw=0.7)
    left.plot(online[:, 0], online[:, 1], "o", color=on_colour, ms=2.8)
    left.plot(batch[:, 0], batch[:, 1], "s-", color=batch_colour, ms=2.8, lw=0.9)
    left.plot(*online[0], "k^", ms=5)
    left.plot(w1[minimum], w2[minimum], "k*", ms=7)
    left.set_xlabel("Weight $w_1$")
    left.set_ylabel("Weight $w_2$")
    epoch = np.arange(epochs + 1)
    right.plot(epoch, total(*online.T), "o-", color=on_colour, ms=2.8)
    right.plot(epoch, total(*batch.T), "s-", color=batch_colour, ms=2.8)
    right.axhline(surface.min(), color=FAINT, ls=":", lw=0.8)
    right.set_yscale("log")
    plain_log_ticks(right.yaxis)
    right.xaxis.set_major_locator(MaxNLocator(integer=True, steps=[1, 2, 5, 10]))
    right.annotate(
        "minimum",
        (0, surface.min()),
        xytext=(0, 2),
        textcoords="offset points",
        va="bottom",
        fontsize=6.5,
        color=FAINT,
    )
    right.set_xlabel("Epoch")
    right.set_ylabel("Total error (sum over instances)")
    panel_letters((left, right))
    fig.legend(handles=legend_handles(on_colour, batch_colour), loc="outside upper center", ncol=4)
    sns.despine(fig)
    return fig
