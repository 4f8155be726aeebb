"""From per-epoch curves to the paper's measures (docs/design.md §2, §6; issues 4 and 11).

For each task, method (batch size) and learning rate:

* the hold-out accuracy curve averaged over trials (a replica that stopped early
  or diverged keeps its last recorded accuracy: its weights are frozen);
* the *majority share*: per trial, the hold-out accuracy of always predicting the
  training split's most frequent class (the accuracy of a network that learned
  nothing);
* the *peak epoch*, where that average peaks (first such epoch), and the test
  accuracy there (mean and sd over trials);
* *epochs needed* = the peak epoch if the method learned, else its budget,
  marked censored. A rate **learned** when its best trial-averaged hold-out
  accuracy exceeds the trials' mean majority share by more than
  ``learned_margin``; a rate that did not learn "peaks" at an early epoch by
  chance, and must never look fast. Epochs needed are censored too when half or
  more of the rate's replicas stalled;
* the share of trials that diverged (the engine's rule) and that *stalled* (see
  :func:`stalled`);
* per trial, the epochs (and weight updates) to reach a target
  hold-out accuracy: the task's best trial-averaged hold-out accuracy of any
  method and rate minus a tolerance (and above the majority share by more than
  ``learned_margin``). A trial that never reaches it, or stalled, is
  right-censored **at its budget** (its updates at budget x steps per epoch) and
  marked so, never dropped. Epochs to target are computed
  for the primary tolerance and for each alternative tolerance of the
  verdict-stability analysis (columns suffixed ``_tol<tolerance>``).

No wall-clock time is a metric: it differs on every run (the run's curves and
Snakemake's benchmarks keep it), so on CPU the same config and seed give
byte-identical metrics files.

Statuses: the engine records ``complete``, ``diverged`` and ``stopped_early``;
this module adds ``stalled`` (rule in :func:`stalled`), because with sigmoid
outputs and squared error the loss is bounded and the engine's divergence rule
cannot fire: too large a rate saturates the units instead.

The best rate of a method is chosen by hold-out accuracy (never test), ties
broken by fewer epochs, then by the larger rate (docs/statistics.md, *Ties between
rates*; :func:`best_rates` also gives the alternative, ties to the smaller rate).
Speed-up = epochs needed by a method / by on-line, each at its best rate (the
paper's measure); the per-rate table also gives the median epochs to the common
target.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from batch_inefficiency.batch_sizes import ONLINE, sort_key
from batch_inefficiency.data.splits import load_trial_data
from batch_inefficiency.speedup import speedup

KEYS = ["batch_size", "lr"]


def filled_matrix(group: pd.DataFrame, value: str, last_epoch: int) -> pd.DataFrame:
    """``[epoch, trial]`` values of one (batch size, rate), forward-filled after a replica stops."""
    matrix = group.pivot(index="epoch", columns="trial", values=value)
    return matrix.reindex(range(last_epoch + 1)).ffill()


def majority_share(y_train: np.ndarray, y_hold: np.ndarray) -> pd.Series:
    """Per trial: hold-out accuracy of always predicting the training split's majority class.

    ``y_train``, ``y_hold``: ``[trials, n]`` class indices. Ties between classes go to
    the lowest class index (``np.bincount(...).argmax()``).
    """
    shares = []
    for train, hold in zip(y_train, y_hold, strict=True):
        majority = np.bincount(train).argmax()
        shares.append(float(np.mean(hold == majority)))
    return pd.Series(shares)


def split_majority_share(split: Path) -> pd.Series:
    """:func:`majority_share` of a prepared split file, indexed by trial number."""
    data = load_trial_data(split)
    shares = majority_share(data.y_train, data.y_hold)
    shares.index = pd.Index(data.trials, name="trial")
    return shares


def steps_per_epoch(run: pd.DataFrame) -> float:
    """Weight updates per epoch of one replica's (or one rate's) curve rows."""
    trained = run[run["epoch"] > 0]
    return float((trained["updates"] / trained["epoch"]).iloc[0]) if len(trained) else np.nan


def stalled(run: pd.DataFrame, baseline: float, learned_margin: float, loss_drop: float) -> bool:
    """The rule for status ``stalled``, on one replica's curve (rows sorted by epoch).

    Stated before any data were seen (issue 11): a replica that did not diverge
    *stalled* when **both**

    1. at its last epoch its hold-out accuracy is no better than the majority share:
       ``hold_acc <= baseline + learned_margin``; and
    2. its training loss is flat or rising over the second half of its run (the
       gradient vanished, e.g. saturated sigmoid units, or the steps overshoot):
       ``loss[last // 2] - loss[last] < loss_drop * loss[0]``.

    A stalled replica never counts as fast: its epochs to target are censored at
    its budget.

    The training loss is not scored every epoch (docs/run_format.md, *When each
    split is scored*), but the engine scores it at epoch 0, at the last epoch and
    at ``last // 2`` of every run that ended complete or stopped early, so the
    rule reads the same numbers as on an every-epoch curve. Only where that row
    is empty (a run stopped at a target, or diverged, which this rule skips) it
    reads the latest scored epoch before it.
    """
    loss = run["train_loss"].to_numpy(float)
    last = len(loss) - 1
    scored = np.flatnonzero(~np.isnan(loss[: last // 2 + 1]))
    middle = loss[scored[-1]] if len(scored) else np.nan
    at_chance = float(run["hold_acc"].iloc[-1]) <= baseline + learned_margin
    flat_or_rising = middle - loss[last] < loss_drop * loss[0]
    return bool(at_chance and flat_or_rising)


def replica_status(
    curves: pd.DataFrame,
    replicas: pd.DataFrame,
    baseline: pd.Series,
    learned_margin: float,
    loss_drop: float,
) -> pd.DataFrame:
    """``replicas`` with ``status`` re-derived: the engine's, or ``stalled`` (:func:`stalled`).

    The engine's own status is kept as ``recorded_status``.
    """
    out = replicas.copy()
    out["recorded_status"] = out["status"]
    runs = dict(iter(curves.sort_values("epoch").groupby([*KEYS, "trial"], sort=False)))
    for i, (batch_size, lr, trial, status) in enumerate(
        out[[*KEYS, "trial", "status"]].itertuples(index=False)
    ):
        run = runs[(batch_size, lr, trial)]
        if status != "diverged" and stalled(run, baseline[trial], learned_margin, loss_drop):
            out.iloc[i, out.columns.get_loc("status")] = "stalled"
    return out


def rate_summary(
    curves: pd.DataFrame, replicas: pd.DataFrame, baseline: pd.Series, learned_margin: float
) -> pd.DataFrame:
    """One row per (batch size, rate): epochs needed (censored if not learned), accuracy there.

    ``replicas`` carries the derived statuses (:func:`replica_status`); ``baseline``
    is the majority share per trial. Epochs needed are censored at the budget
    (``needed_censored``) when the rate did not learn, or when half or more of its
    replicas stalled (the typical trial stalled: a transient early peak must not
    count as fast).
    """
    rows = []
    for (batch_size, lr), group in curves.groupby(KEYS, sort=False):
        last = int(group["epoch"].max())
        hold = filled_matrix(group, "hold_acc", last).mean(axis=1)
        peak = int(hold.to_numpy().argmax())
        test = filled_matrix(group, "test_acc", last).loc[peak]
        mine = replicas[(replicas["batch_size"] == batch_size) & (replicas["lr"] == lr)]
        budget = int(mine["budget"].max())
        majority = float(baseline[sorted(set(group["trial"]))].mean())
        learned = bool(hold.iloc[peak] > majority + learned_margin)
        stalled_share = float((mine["status"] == "stalled").mean())
        censored = not learned or stalled_share >= 0.5
        if censored:
            updates = budget * steps_per_epoch(group)
        else:
            updates = float(filled_matrix(group, "updates", last).loc[peak].mean())
        rows.append(
            {
                "batch_size": batch_size,
                "lr": lr,
                "budget": budget,
                "trials": len(mine),
                "majority_hold_acc": majority,
                "max_hold_acc": float(hold.iloc[peak]),
                "learned": learned,
                "peak_epoch": peak,
                "epochs_needed": budget if censored else peak,
                "needed_censored": censored,
                "updates_needed": updates,
                "test_acc": float(test.mean()),
                "test_acc_sd": float(test.std(ddof=1)) if len(test) > 1 else np.nan,
                "diverged_share": float((mine["status"] == "diverged").mean()),
                "stalled_share": stalled_share,
            }
        )
    return pd.DataFrame(rows)


def task_target(rates: pd.DataFrame, tolerance: float) -> float:
    """The task's target hold-out accuracy: best trial-averaged accuracy minus ``tolerance``."""
    return float(rates["max_hold_acc"].max()) - tolerance


def tolerance_suffix(tolerance: float) -> str:
    """Column suffix of an alternative tolerance's epochs to target, e.g. ``_tol0.005``."""
    return f"_tol{tolerance:g}"


def time_to_target(
    run: pd.DataFrame, target: float, floor: float, budget: int, stalled_run: bool
) -> dict[str, float | bool]:
    """Epochs and updates to ``target`` of one replica (rows sorted by epoch).

    Reached = the first epoch whose hold-out accuracy is at least ``target`` and above
    ``floor`` (the majority share plus the learned margin). Never reached, or the
    replica stalled: censored at ``budget`` (updates = budget x steps per epoch).
    """
    reached = run[(run["hold_acc"] >= target) & (run["hold_acc"] > floor)]
    if reached.empty or stalled_run:
        return {
            "epochs_to_target": budget,
            "updates_to_target": budget * steps_per_epoch(run),
            "censored": True,
        }
    hit = reached.iloc[0]
    return {
        "epochs_to_target": int(hit["epoch"]),
        "updates_to_target": float(hit["updates"]),
        "censored": False,
    }


def trials_to_target(
    curves: pd.DataFrame,
    replicas: pd.DataFrame,
    targets: dict[str, float],
    rates: pd.DataFrame,
    baseline: pd.Series,
    learned_margin: float,
) -> pd.DataFrame:
    """One row per replica: epochs / updates to each target, censored at the budget.

    ``targets`` maps a column suffix ("" for the primary tolerance) to a target
    accuracy. Also the replica's budget and derived status, and its test accuracy at
    its rate's peak epoch (for the paired accuracy tests).
    """
    at_peak = rates.set_index(KEYS)["peak_epoch"]
    facts = replicas.set_index([*KEYS, "trial"])
    rows = []
    for (batch_size, lr, trial), run in curves.groupby([*KEYS, "trial"], sort=False):
        run = run.sort_values("epoch")
        fact = facts.loc[(batch_size, lr, trial)]
        floor = float(baseline[trial]) + learned_margin
        row = {"batch_size": batch_size, "lr": lr, "trial": int(trial)}
        for suffix, target in targets.items():
            hit = time_to_target(
                run, target, floor, int(fact["budget"]), fact["status"] == "stalled"
            )
            row |= {f"{name}{suffix}": value for name, value in hit.items()}
        peak = int(at_peak[(batch_size, lr)])
        row["test_acc_at_needed"] = float(run.loc[run["epoch"] <= peak, "test_acc"].iloc[-1])
        row["budget"] = int(fact["budget"])
        row["status"] = fact["status"]
        rows.append(row)
    return pd.DataFrame(rows)


TIES = ("larger", "smaller")  # where an exact tie of best hold-out accuracy goes


def best_rates(rates: pd.DataFrame, ties: str = "larger") -> pd.DataFrame:
    """Per batch size, the rate of highest trial-mean hold-out accuracy.

    ``ties="larger"`` (the rule of docs/statistics.md, *Ties between rates*): an exact tie
    goes to fewer epochs needed, then to the larger rate; ``"smaller"`` (the stability
    table's alternative): straight to the smaller rate.
    """
    if ties == "larger":
        keys, ascending = ["max_hold_acc", "epochs_needed", "lr"], [False, True, False]
    else:
        keys, ascending = ["max_hold_acc", "lr"], [False, True]
    ranked = rates.sort_values(keys, ascending=ascending, kind="stable")
    best = ranked.groupby("batch_size", sort=False).head(1)
    return best.sort_values("batch_size", key=sort_key).reset_index(drop=True)


def mark_best(rates: pd.DataFrame, ties: str = "larger") -> pd.DataFrame:
    """``rates`` with the ``best`` flag of each batch size's best rate and, at those rates,
    ``speedup_vs_online`` (epochs needed / on-line's)."""
    best = best_rates(rates, ties)
    flagged = rates.set_index(KEYS).index.isin(best.set_index(KEYS).index)
    return rates.assign(
        best=flagged,
        speedup_vs_online=rates["batch_size"].map(speedups(best)).where(flagged),
    )


def best_rate_trials(rates: pd.DataFrame, trials: pd.DataFrame, batch_size: str) -> pd.DataFrame:
    """The per-trial rows of ``batch_size`` at its best rate (empty if it was not run)."""
    best = rates[rates["best"].astype(bool)].set_index("batch_size")["lr"]
    if batch_size not in best.index:
        return trials.iloc[0:0]
    mine = trials[(trials["batch_size"] == batch_size) & np.isclose(trials["lr"], best[batch_size])]
    return mine.sort_values("trial")


def speedups(best: pd.DataFrame) -> pd.Series:
    """Epochs needed by each batch size / by on-line, at best rates (:func:`speedup.speedup`)."""
    epochs = best.set_index("batch_size")["epochs_needed"]
    if ONLINE not in epochs.index:
        return pd.Series(np.nan, index=epochs.index)
    return epochs.map(lambda e: speedup(e, epochs[ONLINE])[0])


def summarise_task(
    curves: pd.DataFrame,
    replicas: pd.DataFrame,
    tolerance: float,
    baseline: pd.Series,
    learned_margin: float = 0.01,
    loss_drop: float = 0.01,
    alternative_tolerances: Sequence[float] = (),
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """All metrics of one task: (per-rate table with best-rate flags, per-trial table).

    ``baseline``: majority share per trial number (:func:`split_majority_share`).
    """
    replicas = replica_status(curves, replicas, baseline, learned_margin, loss_drop)
    rates = rate_summary(curves, replicas, baseline, learned_margin)
    targets = {"": task_target(rates, tolerance)} | {
        tolerance_suffix(t): task_target(rates, t)
        for t in alternative_tolerances
        if not np.isclose(t, tolerance)
    }
    per_trial = trials_to_target(curves, replicas, targets, rates, baseline, learned_margin)
    grouped = per_trial.groupby(KEYS, sort=False)
    to_target = pd.DataFrame(
        {
            "censored_trials": grouped["censored"].sum(),
            "median_epochs_to_target": grouped["epochs_to_target"].median(),
        }
    )
    rates = rates.merge(to_target.reset_index(), on=KEYS)
    rates["target_hold_acc"] = targets[""]
    rates = mark_best(rates).sort_values(
        ["batch_size", "lr"], key=lambda c: sort_key(c) if c.name == "batch_size" else -c
    )
    return rates.reset_index(drop=True), per_trial


def summarise_task_files(
    curves: list[Path],
    replicas: list[Path],
    split: Path,
    settings: dict,
    rates_out: Path,
    trials_out: Path,
) -> pd.DataFrame:
    """Read every run of a task, summarise it and write the per-rate and per-trial tables.

    ``settings``: the config's ``metrics`` section (target_tolerance, learned_margin,
    stall_loss_drop) plus ``alternative_tolerances``.
    """
    read = {"batch_size": str}
    all_curves = pd.concat([pd.read_csv(p, dtype=read) for p in curves], ignore_index=True)
    all_replicas = pd.concat([pd.read_csv(p, dtype=read) for p in replicas], ignore_index=True)
    rates, per_trial = summarise_task(
        all_curves,
        all_replicas,
        settings["target_tolerance"],
        split_majority_share(split),
        settings["learned_margin"],
        settings["stall_loss_drop"],
        settings.get("alternative_tolerances", ()),
    )
    rates.to_csv(rates_out, index=False, lineterminator="\n")
    per_trial.to_csv(trials_out, index=False, lineterminator="\n")
    return rates
