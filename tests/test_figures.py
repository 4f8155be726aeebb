"""The figures: right data on the right axes (read back from the artists), stable bytes.

Small synthetic tables with the workflow's column layout stand in for real results.
"""

from __future__ import annotations

import hashlib
import inspect
from pathlib import Path

import matplotlib as mpl
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PolyCollection, QuadMesh
from matplotlib.container import ErrorbarContainer
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from matplotlib.text import Annotation

from batch_inefficiency import figures
from batch_inefficiency.figures import across_tasks, illustration, large_task, style
from batch_inefficiency.studies.replication.tables import GRID_COLUMNS

BATCHES = ["1", "10", "full"]
RATES = [0.1, 0.01]
TRIALS = 3
TRAIN_SIZE = 500
EPOCHS = 20


def rates_frame() -> pd.DataFrame:
    """rates.csv of a large task: 3 batch sizes x 2 rates; full diverges at 0.1."""
    rows = []
    for b_index, batch in enumerate(BATCHES):
        for lr in RATES:
            best = lr == (0.01 if batch == "full" else 0.1)
            rows.append(
                {
                    "batch_size": batch,
                    "lr": lr,
                    "budget": EPOCHS,
                    "trials": TRIALS,
                    "max_hold_acc": 0.8 - 0.1 * b_index - (0 if best else 0.2),
                    "epochs_needed": 10 + 3 * b_index,
                    "updates_needed": 1000.0 / (b_index + 1),
                    "test_acc": 0.78 - 0.1 * b_index - (0 if best else 0.3),
                    "test_acc_sd": 0.01,
                    "diverged_share": 1 / 3 if (batch == "full" and lr == 0.1) else 0.0,
                    "censored_trials": 0 if best else TRIALS,
                    "median_epochs_to_target": 12.0,
                    "target_hold_acc": 0.79,
                    "best": best,
                    "speedup_vs_online": 1.0 if best else np.nan,
                }
            )
    return pd.DataFrame(rows)


def trials_frame() -> pd.DataFrame:
    """trials.csv: per (batch, rate, trial); trial 2 of full is censored."""
    rows = []
    for b_index, batch in enumerate(BATCHES):
        size = TRAIN_SIZE if batch == "full" else int(batch)
        for lr in RATES:
            for trial in range(TRIALS):
                epochs = 8 + 4 * b_index + trial
                censored = batch == "full" and trial == 2
                rows.append(
                    {
                        "batch_size": batch,
                        "lr": lr,
                        "trial": trial,
                        "epochs_to_target": EPOCHS if censored else epochs,
                        "updates_to_target": (EPOCHS if censored else epochs) * TRAIN_SIZE / size,
                        "censored": censored,
                        "test_acc_at_needed": 0.7,
                        "status": "complete",
                    }
                )
    return pd.DataFrame(rows)


def curves_frame() -> pd.DataFrame:
    """curves.csv.gz rows of every batch size and rate; full's trial 1 stops at epoch 15."""
    rows = []
    for b_index, batch in enumerate(BATCHES):
        for lr in RATES:
            for trial in range(TRIALS):
                last = 15 if (batch == "full" and trial == 1) else EPOCHS
                for epoch in range(last + 1):
                    acc = 0.05 + 0.75 * (1 - np.exp(-epoch / (3 + 2 * b_index))) - 0.02 * trial
                    rows.append(
                        {
                            "batch_size": batch,
                            "replica": trial,
                            "trial": trial,
                            "lr": lr,
                            "epoch": epoch,
                            "train_loss": 1.0 / (epoch + 1),
                            "train_acc": acc,
                            "hold_acc": acc,
                            "test_acc": acc,
                            "seconds": 0.01 * epoch,
                            "updates": float(epoch),
                        }
                    )
    return pd.DataFrame(rows)


def tasks_frame() -> pd.DataFrame:
    """tables/tasks.csv of five tasks; the large one last; two with censored batch trials."""
    sizes = [50, 100, 200, 300, TRAIN_SIZE]
    speedups = [1.0, 1.5, 2.2, 2.0, 5.0]
    online = [0.9, 0.8, 0.85, 0.7, 0.8]
    batch = [0.89, 0.81, 0.84, 0.7, 0.3]
    return pd.DataFrame(
        {
            "task": ["a", "b", "c", "d", "large"],
            "classes": 2,
            "inputs": 4,
            "train_size": sizes,
            "online_lr": 0.1,
            "online_acc": online,
            "online_acc_sd": 0.02,
            "online_epochs": 10,
            "online_epochs_to_target": 10.0,
            "online_censored": 0,
            "batch_lr": 0.01,
            "batch_acc": batch,
            "batch_acc_sd": 0.02,
            "batch_epochs": 20,
            "batch_epochs_to_target": 20.0,
            "batch_censored": [0, 1, 0, 2, 0],
            "speedup": speedups,
            "speedup_bound": ["", "at least", "", "at most", ""],
            "speedup_to_target": speedups,
        }
    )


def grid_frame() -> pd.DataFrame:
    """tables/large_task_grid.csv (the rates table's columns)."""
    return rates_frame()[GRID_COLUMNS]


def cd_frame() -> pd.DataFrame:
    """tables/critical_difference.csv: 1 and 10 tied, full significantly slower."""
    p = pd.DataFrame(
        [[1.0, 0.9, 0.01], [0.9, 1.0, 0.02], [0.01, 0.02, 1.0]], index=BATCHES, columns=BATCHES
    )
    table = pd.DataFrame(
        {"batch_size": BATCHES, "average_rank": [1.4, 1.6, 3.0], "critical_difference": 1.2}
    )
    return table.join(p.add_prefix("p_vs_"), on="batch_size")


def data_lines(ax) -> list[Line2D]:
    """Lines that carry data (not the axes' own artists)."""
    return [line for line in ax.get_lines() if len(line.get_xdata()) > 0]


def test_registry_holds_the_named_figures():
    beyond = {"scaling_steps_to_target", "scaling_best_rate", "scaling_seconds_to_target"}
    assert {n for n, s in figures.FIGURES.items() if s.section == "beyond"} == beyond
    sweep = {"size_sweep_speedup", "size_sweep_best_rate"}
    assert {n for n, s in figures.FIGURES.items() if s.section == "size_sweep"} == sweep
    noise = {
        "generalization_test_accuracy",
        "generalization_gap",
        "generalization_sharpness",
        "generalization_curves",
    }
    assert {n for n, s in figures.FIGURES.items() if s.section == "generalization"} == noise
    optimizers = {"optimizers_steps_to_target", "optimizers_fit", "optimizers_curvature"}
    assert {n for n, s in figures.FIGURES.items() if s.section == "optimizers"} == optimizers
    assert set(figures.FIGURES) - beyond - sweep - noise - optimizers == {
        "large_task_curves",
        "large_task_grid",
        "speedup_vs_size",
        "accuracy_online_vs_batch",
        "epochs_to_target_vs_batch_size",
        "best_rate_vs_batch_size",
        "critical_difference",
        "error_surface_illustration",
    }
    with pytest.raises(KeyError, match="unknown figure"):
        figures.make_figure("nope", {}, "x.pdf", "x.png")


def test_large_task_curves_show_each_batch_size_at_its_best_rate():
    curves, rates = curves_frame(), rates_frame()
    fig = large_task.large_task_curves(curves, rates)
    (ax,) = fig.axes
    assert ax.get_xscale() == "log"
    assert ax.get_xlabel().startswith("Epoch") and ax.get_ylabel() == "Hold-out accuracy (%)"
    means = [line for line in ax.get_lines() if line.get_label() and line.get_label()[0] != "_"]
    assert [line.get_label() for line in means] == [
        "1 (on-line), η = 0.1",
        "10, η = 0.1",
        "full (batch), η = 0.01",
    ]
    bands = [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert len(bands) == len(BATCHES)
    # the full-batch mean at its best rate, trial 1 frozen at its last epoch (15)
    full = curves[(curves["batch_size"] == "full") & (curves["lr"] == 0.01)]
    matrix = full.pivot(index="epoch", columns="trial", values="hold_acc").ffill()
    x, y = means[2].get_data()
    assert x[0] == 1 and x[-1] == EPOCHS and len(x) == EPOCHS  # epoch 0 left out
    np.testing.assert_allclose(y, 100 * matrix.mean(axis=1).to_numpy()[1:])
    assert fig.legends and len(fig.legends[0].get_texts()) == len(BATCHES)


def test_large_task_grid_colours_accuracy_and_marks_divergence_censoring_and_best():
    grid = grid_frame()
    fig = large_task.large_task_grid(grid)
    ax = fig.axes[0]
    (mesh,) = [c for c in ax.collections if isinstance(c, QuadMesh)]
    values = np.asarray(mesh.get_array()).reshape(len(BATCHES), len(RATES))
    expected = 100 * grid.set_index(["batch_size", "lr"])["test_acc"].unstack()
    np.testing.assert_allclose(values, expected.loc[BATCHES, sorted(RATES)].to_numpy())
    texts = [t.get_text() for t in ax.texts if not isinstance(t, Annotation)]  # not the key
    assert len(texts) == len(grid)
    assert sum("†" in t for t in texts) == 1  # full at 0.1
    assert sum(f"c {TRIALS}/{TRIALS}" in t for t in texts) == int((~grid["best"]).sum())
    hatched = [p for p in ax.patches if isinstance(p, Rectangle) and p.get_hatch()]
    framed = [p for p in ax.patches if isinstance(p, Rectangle) and not p.get_hatch()]
    assert len(hatched) == 1 and len(framed) == int(grid["best"].sum())
    assert [t.get_text() for t in ax.get_yticklabels()] == ["1\n(on-line)", "10", "full\n(batch)"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0.01", "0.1"]
    assert ax.get_xlabel() == "Learning rate η"
    assert fig.axes[1].get_ylabel() == "Test accuracy (%)"  # the colour bar


def test_speedup_vs_size_fits_ols_on_logs_and_marks_the_bounds_of_the_table():
    tasks = tasks_frame()
    fig = across_tasks.speedup_vs_size(tasks)
    (ax,) = fig.axes
    assert (ax.get_xscale(), ax.get_yscale()) == ("log", "log")
    assert ax.get_xlabel() == "Training-set size (instances)"
    drawn = {line.get_marker(): line for line in ax.get_lines() if line.get_marker() != "None"}
    assert sum(len(line.get_xdata()) for line in drawn.values()) == len(tasks)
    # a task is drawn as a bound exactly where tasks.csv calls its speed-up one
    for marker, word in (("o", ""), ("^", "at least"), ("v", "at most")):
        expected = tasks.loc[tasks["speedup_bound"] == word, "train_size"].to_numpy(float)
        assert list(drawn[marker].get_xdata()) == list(expected)
        assert (drawn[marker].get_markerfacecolor() == "none") == (word != "")
    slope, _ = np.polyfit(np.log10(tasks["train_size"]), np.log10(tasks["speedup"]), 1)
    (fit,) = [line for line in ax.get_lines() if line.get_label().startswith("OLS")]
    x, y = fit.get_data()
    assert np.log10(y[-1] / y[0]) / np.log10(x[-1] / x[0]) == pytest.approx(slope)
    assert f"{abs(slope):.2f}" in fit.get_label()
    assert any(isinstance(c, PolyCollection) for c in ax.collections)  # the CI band
    assert [t.get_text() for t in ax.texts] == ["large"]  # only the largest task labelled


def test_accuracy_online_vs_batch_puts_tasks_around_the_diagonal():
    tasks = tasks_frame()
    fig = across_tasks.accuracy_online_vs_batch(tasks)
    (ax,) = fig.axes
    (bars,) = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    x, y = bars.lines[0].get_data()
    np.testing.assert_allclose(x, 100 * tasks["online_acc"])
    np.testing.assert_allclose(y, 100 * tasks["batch_acc"])
    assert ax.get_xlim() == ax.get_ylim() and ax.get_aspect() == 1.0
    diagonal = [line for line in ax.get_lines() if line.get_linestyle() == "--"]
    assert len(diagonal) == 1 and np.array_equal(*diagonal[0].get_data())
    labels = [t.get_text() for t in ax.texts if "accurate" not in t.get_text()]
    assert labels == ["large"]  # the only task far off the diagonal
    assert "(%)" in ax.get_xlabel() and "(%)" in ax.get_ylabel()


def test_epochs_to_target_plots_trials_at_best_rates_with_perfect_scaling():
    trials, rates, tasks = trials_frame(), rates_frame(), tasks_frame()
    fig = large_task.epochs_to_target_vs_batch_size(trials, rates, tasks, task="large")
    epochs_ax, updates_ax = fig.axes
    best = trials.merge(rates.loc[rates["best"], ["batch_size", "lr"]])
    for ax, column in ((epochs_ax, "epochs_to_target"), (updates_ax, "updates_to_target")):
        assert (ax.get_xscale(), ax.get_yscale()) == ("log", "log")
        assert [t.get_text() for t in ax.get_xticklabels()] == BATCHES
        assert ax.get_xticks()[-1] == TRAIN_SIZE  # full at the training-set size
        markers = [line for line in data_lines(ax) if line.get_linestyle() == "None"]
        shown = np.concatenate([line.get_ydata() for line in markers])
        np.testing.assert_allclose(np.sort(shown), np.sort(best[column].to_numpy(float)))
        open_ = [line for line in markers if line.get_markerfacecolor() == "none"]
        assert sum(len(line.get_xdata()) for line in open_) == int(best["censored"].sum())
        (reference,) = [line for line in ax.get_lines() if line.get_linestyle() == "--"]
        online = best.loc[best["batch_size"] == "1", column].median()
        x, y = reference.get_data()
        expected = online * (np.ones_like(x) if column == "epochs_to_target" else 1 / x)
        np.testing.assert_allclose(y, expected)
    assert epochs_ax.get_ylabel() == "Epochs to target"
    assert updates_ax.get_ylabel() == "Weight updates to target"
    assert len(fig.legends[0].get_texts()) == 4


def test_best_rate_vs_batch_size_joins_the_best_rates_over_all_rates_tried():
    rates, tasks = rates_frame(), tasks_frame()
    fig = large_task.best_rate_vs_batch_size(rates, tasks, task="large")
    (ax,) = fig.axes
    assert (ax.get_xscale(), ax.get_yscale()) == ("log", "log")
    (path,) = [line for line in ax.get_lines() if line.get_linestyle() == "-"]
    np.testing.assert_allclose(path.get_xdata(), [1, 10, TRAIN_SIZE])
    np.testing.assert_allclose(path.get_ydata(), [0.1, 0.1, 0.01])
    tried = [line for line in ax.get_lines() if line.get_marker() in ("_", "x")]
    assert sum(len(line.get_xdata()) for line in tried) == len(rates)
    assert sum(len(line.get_xdata()) for line in tried if line.get_marker() == "x") == 1
    assert ax.get_ylabel() == "Learning rate η"


def test_critical_difference_diagram_labels_batch_sizes_and_joins_ties():
    fig = large_task.critical_difference(cd_frame())
    (ax,) = fig.axes
    texts = [t.get_text() for t in ax.texts]
    assert {"1 (on-line)", "10", "full (batch)"} <= set(texts)
    assert "critical difference = 1.20" in texts
    thick = [line for line in ax.get_lines() if line.get_linewidth() == 1.6]
    assert len(thick) == 1  # one bar: 1 and 10 tied, full apart
    np.testing.assert_allclose(thick[0].get_xdata(), [1.4, 1.6])
    assert "Average rank" in ax.get_xlabel()


@pytest.mark.parametrize("table", [pd.DataFrame(), cd_frame().iloc[0:0]])
def test_empty_critical_difference_says_it_was_not_computable(table):
    fig = large_task.critical_difference(table)
    assert "not computable" in fig.axes[0].texts[0].get_text()


def test_error_surface_illustration_batch_overshoots_where_online_follows_the_valley():
    online, steps, batch = illustration.descent_paths(0.05, 20, 8, seed=0)
    assert online.shape == batch.shape == (21, 2) and steps.shape == (161, 2)
    total, _ = illustration.error_surface(np.linspace(0.4, 1.6, 8))
    on_error, batch_error = total(*online.T), total(*batch.T)
    assert on_error[-1] < batch_error[-1]
    assert np.diff(on_error).max() < 0.01 * on_error[0]  # on-line descends (bar noise)
    assert np.diff(batch_error).max() > 0.1 * batch_error[0]  # batch overshoots, error jumps
    fig = illustration.error_surface_illustration()
    contour, errors = fig.axes
    paths = [line for line in contour.get_lines() if len(line.get_xdata()) > 2]
    assert sorted(len(line.get_xdata()) for line in paths) == [21, 21, 161]
    assert contour.collections or contour.get_children()  # the contour set
    assert errors.get_yscale() == "log" and errors.get_xlabel() == "Epoch"
    assert contour.get_xlabel() == "Weight $w_1$"


def test_large_task_figures_without_a_large_task_draw_a_panel_that_says_so():
    empty = pd.DataFrame()
    for fig in (
        large_task.large_task_curves(empty, empty),
        large_task.large_task_grid(empty),
        large_task.epochs_to_target_vs_batch_size(empty, empty, tasks_frame(), task=None),
        large_task.best_rate_vs_batch_size(empty, tasks_frame(), task=None),
    ):
        assert all(style.NO_LARGE_TASK in ax.texts[0].get_text() for ax in fig.axes)


def test_figures_fit_the_column_widths_and_leave_global_style_alone():
    before = dict(mpl.rcParams)
    single = across_tasks.speedup_vs_size(tasks_frame())
    double = illustration.error_surface_illustration()
    assert single.get_figwidth() == pytest.approx(3.5)
    assert double.get_figwidth() == pytest.approx(7.0)
    assert dict(mpl.rcParams) == before


def write_inputs(folder: Path) -> dict[str, dict]:
    """The synthetic tables as the workflow's files, and make_figure's arguments per figure."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    curves = curves_frame()
    for batch in BATCHES:
        paths[f"curves_{batch}"] = folder / f"curves_{batch}.csv.gz"
        curves[curves["batch_size"] == batch].to_csv(paths[f"curves_{batch}"], index=False)
    tables = {
        "rates": rates_frame(),
        "trials": trials_frame(),
        "tasks": tasks_frame(),
        "grid": grid_frame(),
        "cd": cd_frame(),
    }
    for name, table in tables.items():
        paths[name] = folder / f"{name}.csv"
        table.to_csv(paths[name], index=False)
    large = {"rates": paths["rates"], "tasks": paths["tasks"]}
    return {
        "large_task_curves": {
            "inputs": {
                "curves": [paths[f"curves_{b}"] for b in BATCHES],
                "rates": paths["rates"],
            }
        },
        "large_task_grid": {"inputs": {"grid": paths["grid"]}},
        "speedup_vs_size": {"inputs": {"tasks": paths["tasks"]}},
        "accuracy_online_vs_batch": {"inputs": {"tasks": paths["tasks"]}},
        "epochs_to_target_vs_batch_size": {
            "inputs": {"trials": paths["trials"], **large},
            "task": "large",
        },
        "best_rate_vs_batch_size": {"inputs": large, "task": "large"},
        "critical_difference": {"inputs": {"cd": paths["cd"]}, "alpha": 0.05},
        "error_surface_illustration": {"inputs": {}},
    }


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_make_figure_writes_each_figure_from_files_with_the_same_bytes_twice(tmp_path):
    specs = write_inputs(tmp_path / "inputs")  # the scaling figures: tests/test_scaling_measures
    assert set(specs) == {n for n, s in figures.FIGURES.items() if s.section == "paper"}
    for name, spec in specs.items():
        spec = dict(spec)
        inputs = spec.pop("inputs")
        outputs = []
        for run in ("first", "second"):
            pdf, png = tmp_path / f"{name}_{run}.pdf", tmp_path / f"{name}_{run}.png"
            figures.make_figure(name, inputs, pdf, png, **spec)
            outputs.append((pdf, png))
        (pdf1, png1), (pdf2, png2) = outputs
        assert png1.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert pdf1.read_bytes()[:5] == b"%PDF-"
        assert digest(png1) == digest(png2), name
        assert digest(pdf1) == digest(pdf2), name
        assert b"CreationDate" not in pdf1.read_bytes()


def test_png_is_300_dpi(tmp_path):
    from PIL import Image

    png = tmp_path / "surface.png"
    figures.make_figure("error_surface_illustration", {}, None, png)
    with Image.open(png) as image:
        assert image.size == (7 * 300, 3 * 300)
        assert round(image.info["dpi"][0]) == 300


def test_empty_critical_difference_file_is_read_as_an_empty_table(tmp_path):
    empty = tmp_path / "critical_difference.csv"
    empty.write_text("\n")
    assert style.read_table(empty).empty
    header_only = tmp_path / "header.csv"
    header_only.write_text("batch_size,average_rank,critical_difference\n")
    fig = figures.make_figure("critical_difference", {"cd": header_only}, None, None)
    assert "not computable" in fig.axes[0].texts[0].get_text()


def test_each_figure_spec_names_exactly_its_functions_parameters():
    """The plot rule passes a figure its inputs and options by name: they must be the
    drawing function's parameters, every required one included."""
    for name, spec in figures.FIGURES.items():
        assert spec.name == name
        parameters = inspect.signature(spec.resolve()).parameters
        given = set(spec.inputs) | set(spec.options)
        assert given <= set(parameters), name
        required = {p for p, v in parameters.items() if v.default is inspect.Parameter.empty}
        assert required <= given, name
        assert spec.title and spec.label and len(spec.caption) > 100, name


def test_size_sweep_figures_draw_lines_slopes_and_censored_bounds():
    from test_size_sweep import synthetic_sweep

    from batch_inefficiency.studies.size_sweep.tables import fit_table

    table = synthetic_sweep({"a": 1.0, "b": 0.5}).assign(budget_epochs=1e3)
    table = pd.concat([table, table.assign(rates="grid")], ignore_index=True)
    table.loc[(table["size"] == 2000) & (table["batch_size"] == "full"), "epochs"] = np.inf
    from batch_inefficiency.studies.size_sweep.tables import add_speedups

    table = add_speedups(table)
    fig = figures.FIGURES["size_sweep_speedup"].draw(table, fit_table(table, "32", 0.95))
    tuned, _ = fig.axes
    labels = tuned.get_legend_handles_labels()[1]
    assert "a, full (batch): slope 1.00 [1.00, 1.00]" in labels and len(labels) == 4
    fig = figures.FIGURES["size_sweep_best_rate"].draw(table)
    rate, epochs = fig.axes
    assert rate.get_yscale() == epochs.get_yscale() == "log"
    assert epochs.get_ylabel() == "Median epochs to target"


def test_size_sweep_speedup_says_so_where_online_never_reached_the_target(tmp_path):
    from test_size_sweep import synthetic_sweep

    from batch_inefficiency.studies.size_sweep.tables import add_speedups, fit_table

    table = synthetic_sweep({"a": 1.0}).assign(budget_epochs=1e3)
    grid = table.assign(rates="grid")
    grid.loc[grid["batch_size"] == "1", "epochs"] = np.inf  # on-line censored everywhere
    table = add_speedups(pd.concat([table, grid], ignore_index=True))
    fig = figures.FIGURES["size_sweep_speedup"].draw(table, fit_table(table, "32", 0.95))
    fig.savefig(tmp_path / "speedup.png")  # a log axis with no data would fail here
    assert "never reached" in fig.axes[1].texts[0].get_text()
