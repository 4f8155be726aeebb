"""The size sweep (issue 13): subsets, sizes, config checks, the target, slopes, C2 within tasks."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import REPO, synthetic_data

from batch_inefficiency.data.subsets import nested_subsets, stratified_order, subset_orders
from batch_inefficiency.errors import UserError
from batch_inefficiency.seeds import Purpose, rng_for
from batch_inefficiency.stats.stability import WITHIN_TASK, with_within_claim, with_within_task
from batch_inefficiency.stats.verdicts import verdict_c2_within
from batch_inefficiency.studies.size_sweep.config import (
    check_size_sweep,
    epoch_budget,
    sweep_methods,
    sweep_sizes,
)
from batch_inefficiency.studies.size_sweep.runs import (
    calibration_rates,
    choose_target,
    lowered_target,
    sweep_method,
)
from batch_inefficiency.studies.size_sweep.tables import (
    add_speedups,
    censoring_summary,
    fit_table,
    slope_row,
    write_size_sweep_tables,
)

CONFIG = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
SWEEP, SCALING = CONFIG["size_sweep"], CONFIG["scaling"]
TRAINING = CONFIG["training"] | {
    "engine": {"device": "cpu", "dtype": "float32", "matmul_precision": "highest", "path": "auto"}
}


@pytest.mark.parametrize("seed", range(5))
def test_every_prefix_of_the_order_is_stratified(seed):
    rng = np.random.default_rng(seed)
    y = rng.choice(5, size=300, p=[0.5, 0.2, 0.15, 0.1, 0.05])
    order = stratified_order(y, rng)
    assert sorted(order) == list(range(len(y)))  # a permutation
    share = np.bincount(y) / len(y)
    for n in range(1, len(y) + 1):
        counts = np.bincount(y[order[:n]], minlength=5)
        assert np.all(np.abs(counts - n * share) < 1), n


def test_subsets_are_nested_stratified_and_keep_hold_out_and_test():
    data = synthetic_data(trials=(0, 1), n_train=200)
    subsets = nested_subsets(data, 7, [25, 50, 100, 200])
    for t in range(2):
        rows = {n: {tuple(r) for r in s.x_train[t]} for n, s in subsets.items()}
        assert rows[25] <= rows[50] <= rows[100] <= rows[200]  # nested
        share = np.bincount(data.y_train[t], minlength=3) / 200
        for n, s in subsets.items():
            assert np.all(np.abs(np.bincount(s.y_train[t], minlength=3) - n * share) < 1)
            np.testing.assert_array_equal(s.x_hold, data.x_hold)
            np.testing.assert_array_equal(s.y_test, data.y_test)
    assert subsets[200].x_train.shape == data.x_train.shape
    # seeds from (seed, trial, SUBSET): same seed, same subsets; trials differ
    again = subset_orders(data, 7)
    np.testing.assert_array_equal(again, subset_orders(data, 7))
    assert not np.array_equal(again[0], again[1])
    expected = stratified_order(data.y_train[1], rng_for(7, 1, Purpose.SUBSET))
    np.testing.assert_array_equal(again[1], expected)


def test_sizes_halve_the_split_down_to_min_size_or_follow_the_list():
    assert sweep_sizes(SWEEP, 12000) == [375, 750, 1500, 3000, 6000, 12000]
    assert sweep_sizes(SWEEP | {"sizes": [1000, "full", 250]}, 12000) == [250, 1000, 12000]
    assert sweep_methods(SWEEP) == ["1", "32", "full"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"sizes": [250, 20000]}, "size_sweep.sizes: 20000 is larger than the training split"),
        ({"mini_batch": "500"}, "size_sweep.mini_batch = 500 is larger than the smallest size"),
        ({"trials": 20}, "size_sweep.trials = 20 but trials = 10 are prepared"),
    ],
)
def test_config_errors_name_the_key(change, message):
    with pytest.raises(UserError, match=message.replace("(", r"\(")):
        check_size_sweep(SWEEP | change, SCALING, ["letter"], 10, {"letter": 12000})


def test_a_task_without_a_target_is_refused():
    with pytest.raises(UserError, match=r"size_sweep.targets.iris is missing"):
        check_size_sweep(SWEEP, SCALING, ["iris"], 10, {"iris": 90})
    check_size_sweep(SWEEP | {"targets": {"iris": 0.9}}, SCALING, ["iris"], 10, {"iris": 90})
    check_size_sweep({**SWEEP, "suite": None}, SCALING, ["iris"], 10, {})  # off: no check


def test_target_is_the_full_size_one_lowered_to_the_smallest_reach():
    assert lowered_target(0.75, 0.9, 0.05) == 0.75
    assert lowered_target(0.75, 0.6849, 0.05) == 0.63
    assert lowered_target(0.75, 0.68, 0.05) == 0.63  # whole points, no round-off below


def test_the_target_is_calibrated_at_the_searchs_first_online_rates():
    assert calibration_rates(SWEEP, SCALING, "sum") == pytest.approx((10**-0.5, 1, 10**0.5, 10))
    data = synthetic_data(trials=(0, 1), n_train=40, n_hold=20)
    sweep = SWEEP | {"trials": 2, "sizes": [10, "full"], "calibration_epochs": 5}
    info = choose_target(data, "toy", TRAINING, sweep, SCALING | {"targets": {"toy": 0.99}}, 3, 1)
    assert set(info["reach_by_rate"]) == {"0.316228", "1", "3.16228", "10"}
    assert info["reach"] == max(info["reach_by_rate"].values())
    assert info["target"] == lowered_target(0.99, info["reach"], SWEEP["target_margin"])


@pytest.mark.parametrize("paper_rates", [[1.0, 0.1], [0.5, 0.1]], ids=["on-grid", "off-grid"])
def test_one_method_runs_every_size_with_tuned_and_paper_rates(paper_rates):
    data = synthetic_data(trials=(0, 1), n_train=40, n_hold=20)
    sweep = SWEEP | {"trials": 2, "sizes": [10, 20, "full"], "max_epochs": 15, "max_widenings": 1}
    sweep |= {"sample_budget": 300}  # 15 epochs at 10 and 20 rows, 8 at 40
    training = TRAINING | {"learning_rates": paper_rates}
    rows, summaries = sweep_method(data, 0.5, "toy", "full", training, sweep, SCALING, 3, 1)
    assert [s["size"] for s in summaries] == [10, 20, 40]
    assert [s["settings"]["max_epochs"] for s in summaries] == [15, 15, 8]
    assert rows.groupby("size")["epochs_run"].max().le(pd.Series({10: 15, 20: 15, 40: 8})).all()
    for _, at_size in rows.groupby("size"):
        assert at_size["tuned_best"].sum() == at_size["grid_best"].sum() == 2  # one rate x 2
        assert set(at_size.loc[at_size["paper_rate"], "lr"].round(6)) == set(paper_rates)
        assert not at_size[["lr", "trial"]].duplicated().any()  # no rate trained twice
        assert (at_size["censored"] == at_size["steps_to_target"].isna()).all()
    # deterministic
    again, _ = sweep_method(data, 0.5, "toy", "full", training, sweep, SCALING, 3, 1)
    pd.testing.assert_frame_equal(rows, again)


def test_speedup_bounds():
    table = add_speedups(
        pd.DataFrame(
            {
                "task": "t",
                "size": [1, 1, 2, 2, 3, 3, 4, 4],
                "rates": "tuned",
                "batch_size": ["1", "full"] * 4,
                "epochs": [10, 100, 10, np.inf, np.inf, 100, np.inf, np.inf],
                "budget_epochs": 500.0,
            }
        )
    )
    full = table[table["batch_size"] == "full"]
    assert list(full["speedup_bound"]) == ["", "at least", "at most", "unknown"]
    assert list(full["speedup"])[:3] == [10.0, 50.0, 0.2] and np.isnan(list(full["speedup"])[3])


def synthetic_sweep(slopes: dict[str, float], sizes=(250, 500, 1000, 2000), noise=0.0):
    """A size_sweep table whose full-batch speed-up grows as size ** slope per task."""
    rng = np.random.default_rng(0)
    rows = []
    for task, b in slopes.items():
        for n in sizes:
            online = 10.0
            batch = online * (n / 250) ** b * np.exp(noise * rng.normal())
            for method, epochs, lr in (("1", online, 0.1), ("32", 2 * online, 0.05),
                                       ("full", batch, 1 / n)):  # fmt: skip
                rows.append(
                    {"task": task, "size": n, "batch_size": method, "rates": "tuned",
                     "best_lr_sum": lr, "epochs": epochs, "budget_epochs": 1e9}
                )  # fmt: skip
    return add_speedups(pd.DataFrame(rows))


def test_slopes_recover_synthetic_powers_per_task_and_pooled():
    fits = fit_table(synthetic_sweep({"a": 1.0, "b": 0.5}, noise=0.05), "32", 0.95)
    full = fits[fits["quantity"] == "speed-up over full batch"].set_index("task")
    assert full.loc["a", "slope"] == pytest.approx(1.0, abs=0.1)
    assert full.loc["b", "slope"] == pytest.approx(0.5, abs=0.1)
    assert full.loc["pooled", "slope"] == pytest.approx(0.75, abs=0.1)
    pooled = full.loc["pooled"]
    assert pooled["ci_low"] < pooled["slope"] < pooled["ci_high"]
    mini = fits[fits["quantity"] == "speed-up over the mini-batch"].set_index("task")
    assert mini.loc["pooled", "slope"] == pytest.approx(0.0, abs=1e-9)
    rate = fits[fits["quantity"] == "best summed rate, full batch"].set_index("task")
    assert rate.loc["pooled", "slope"] == pytest.approx(-1.0)


def test_slope_needs_two_sizes_and_a_degree_of_freedom():
    frame = pd.DataFrame({"task": ["a", "a"], "log_size": [1.0, 2.0], "y": [0.0, 1.0]})
    assert np.isnan(slope_row(frame, pooled=False, level=0.95)["slope"])


@pytest.mark.parametrize(
    ("slopes", "verdict"),
    [
        ({"a": 1.0, "b": 0.8, "c": 1.2}, "supported"),
        ({"a": 1.0, "b": -0.3, "c": 1.2}, "partly supported"),
        ({"a": -1.0, "b": -0.5, "c": 0.0}, "not supported"),
    ],
)
def test_within_task_verdict_rule(slopes, verdict):
    fits = fit_table(synthetic_sweep(slopes, noise=0.05), "32", 0.95)
    got, evidence = verdict_c2_within(fits)
    assert got == verdict
    assert "3 of 3 tasks with 3 or more sizes" in evidence  # how many tasks it rests on


def test_within_task_verdict_needs_three_sizes():
    fits = fit_table(synthetic_sweep({"a": 1.0}, sizes=(250, 500)), "32", 0.95)
    assert verdict_c2_within(fits)[0] == "not computable"


def test_within_task_column_enters_the_stability_label():
    stability = pd.DataFrame(
        {"claim": ["C1", "C2"], "primary": ["supported"] * 2, "stability": ["robust"] * 2}
    )
    table = with_within_task(stability, "not supported")
    assert list(table.columns) == ["claim", "primary", WITHIN_TASK, "stability"]
    assert table.loc[0, WITHIN_TASK] == "n/a" and table.loc[0, "stability"] == "robust"
    assert table.loc[1, "stability"] == f"fragile: {WITHIN_TASK} -> not supported"
    claims = pd.DataFrame({"claim": ["C1", "C2"], "verdict": ["supported"] * 2})
    within = pd.DataFrame({"claim": ["C2"], "evidence": ["e"], "verdict": ["partly supported"]})
    merged = with_within_claim(claims, within)
    assert list(merged["within_task_verdict"]) == ["", "partly supported"]


def test_tables_from_method_files(tmp_path):
    for task, target in (("toy", 0.5),):
        (tmp_path / task).mkdir()
        (tmp_path / task / "target.json").write_text(json.dumps({"task": task, "target": target}))
        for method, scale in (("1", 1), ("32", 2), ("full", 4)):
            folder = tmp_path / task / method
            folder.mkdir()
            infos = [
                {
                    "task": task,
                    "batch_size": method,
                    "reduction": "sum",
                    "size": n,
                    "settings": {"max_epochs": 40_000 // n},
                }
                for n in (100, 200, 400)
            ]
            (folder / "searches.json").write_text(json.dumps(infos))
            rows = [
                {
                    "size": n,
                    "batch_size": method,
                    "lr": 0.1,
                    "trial": t,
                    "epochs_to_target": scale * n / 10 if method == "full" else 5.0,
                    "steps_to_target": 5.0,
                    "censored": False,
                    "tuned_best": True,
                    "grid_best": True,
                }
                for n in (100, 200, 400)
                for t in range(3)
            ]
            pd.DataFrame(rows).to_csv(folder / "trials.csv", index=False)
    names = ("sweep", "sweep_md", "sweep_tex", "fit", "fit_md", "fit_tex", "claim")
    out = {k: tmp_path / f"{k}.out" for k in names}
    searches = [tmp_path / "toy" / m / "searches.json" for m in ("1", "32", "full")]
    table = write_size_sweep_tables(searches, [tmp_path / "toy" / "target.json"], "32", out)
    full = table[(table["batch_size"] == "full") & (table["rates"] == "tuned")]
    assert list(full["speedup"]) == [8.0, 16.0, 32.0]  # 4n/10 over 5 epochs
    assert list(full["budget_epochs"]) == [400, 200, 100]  # each size's own budget
    assert (table["target"] == 0.5).all()
    claim = pd.read_csv(out["claim"]).iloc[0]
    assert claim["claim"] == "C2" and claim["verdict"] == "supported"


def test_a_censored_median_is_a_bound_and_left_out_of_the_slope():
    table = synthetic_sweep({"a": 1.0}, sizes=(250, 500, 1000, 2000))
    table.loc[(table["size"] == 2000) & (table["batch_size"] == "full"), "epochs"] = np.inf
    table = add_speedups(table.assign(budget_epochs=100.0))
    cut = table[(table["size"] == 2000) & (table["batch_size"] == "full")].iloc[0]
    assert cut["speedup_bound"] == "at least" and cut["speedup"] == 10.0
    fits = fit_table(table, "32", 0.95)
    row = fits[(fits["quantity"] == "speed-up over full batch") & (fits["task"] == "a")].iloc[0]
    assert row["points"] == 3 and row["slope"] == pytest.approx(1.0)


def test_the_epoch_budget_is_a_budget_of_sample_presentations():
    sweep = {"max_epochs": 2000, "sample_budget": 600_000}
    assert epoch_budget(sweep, 250) == 2000  # max_epochs first
    assert epoch_budget(sweep, 12_001) == 50  # ceil(600,000 / 12,001)
    assert epoch_budget(sweep | {"sample_budget": None}, 12_001) == 2000


def test_censoring_summary_counts_censored_sizes_and_lists_the_bounds():
    table = synthetic_sweep({"a": 1.0}, sizes=(250, 500, 1000, 2000))
    full = table["batch_size"] == "full"
    table.loc[full & (table["size"] >= 1000), "epochs"] = np.inf
    table = add_speedups(table.assign(budget_epochs=100.0))
    summary = censoring_summary(table)
    row = summary[(summary["batch_size"] == "full") & (summary["rates"] == "tuned")].iloc[0]
    assert (row["sizes"], row["censored_sizes"], row["counted_sizes"]) == (4, 2, 2)
    assert row["lower_bounds"] == "≥ 10 (n=1000); ≥ 10 (n=2000)"
