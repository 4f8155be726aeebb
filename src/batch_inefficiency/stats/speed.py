"""C1 (batch is slower) and C2 (the gap grows with size): speeds per task and their tests.

A speed is batch / on-line on one of three measures (the package docstring); C1 tests
its size across tasks and within tasks, and how often it reaches 10x and 100x; C2 its
relation to the training-set size, also given the batch budget.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats as sps

from batch_inefficiency.batch_sizes import FULL, ONLINE
from batch_inefficiency.speedup import USABLE, speedup
from batch_inefficiency.stats.survival import (
    method_times,
    restricted_mean,
)

from .common import (
    MAGNITUDES,
    MEASURES,
    MIN_TASKS,
    MIN_TRIALS,
    Analysis,
    Settings,
    Study,
    TestResult,
    bootstrap_median,
    censored_text,
    holm,
    not_computable,
    signed_rank,
    t_pvalue,
)


def task_speeds(study: Study, analysis: Analysis, measure: str) -> pd.DataFrame:
    """Per task, each method's value on ``measure`` and whether it is censored (a lower bound).

    Columns: task, train_size, online, batch, online_censored, batch_censored (bool),
    online_trials_censored, batch_trials_censored, trials (per method; NaN for epochs
    needed, a trial-mean measure), batch_budget, speedup and speedup_bound
    (:func:`speedup.speedup`).
    """
    table = study.tasks.set_index("task")
    rows = []
    for task in table.index:
        facts = table.loc[task]
        row = {
            "task": task,
            "train_size": facts["train_size"],
            "batch_budget": facts.get("batch_budget", np.nan),
        }
        if measure == "epochs_needed":
            for name in ("online", "batch"):
                row[name] = facts[f"{name}_epochs"]
                row[f"{name}_censored"] = bool(facts.get(f"{name}_needed_censored", False))
                row[f"{name}_trials_censored"] = row["trials"] = np.nan
        else:
            if task not in study.per_task:
                continue
            rates, trials = study.per_task[task]
            times, horizon = method_times(rates, trials, [ONLINE, FULL], analysis.suffix)
            if len(times) < 2:
                continue
            for name, batch_size in (("online", ONLINE), ("batch", FULL)):
                mine = times[batch_size]
                if measure == "epochs_to_target":
                    row[name] = float(np.median(mine.times))
                    row[f"{name}_censored"] = mine.n_censored >= len(mine.times) / 2
                else:
                    row[name] = restricted_mean(mine, horizon)
                    # equal to the horizon when no trial reached the target: a lower bound
                    row[f"{name}_censored"] = mine.n_censored == len(mine.times)
                row[f"{name}_trials_censored"] = mine.n_censored
                row["trials"] = len(mine.times)
        rows.append(row)
    speeds = pd.DataFrame(rows)
    if speeds.empty:
        return speeds
    speeds = speeds.dropna(subset=["online", "batch"]).reset_index(drop=True)
    pairs = [
        speedup(batch, online, batch_censored, online_censored)
        for batch, online, batch_censored, online_censored in zip(
            speeds["batch"],
            speeds["online"],
            speeds["batch_censored"],
            speeds["online_censored"],
            strict=True,
        )
    ]
    speeds["speedup"] = [ratio for ratio, _ in pairs]
    speeds["speedup_bound"] = [word for _, word in pairs]
    return speeds


def usable(speeds: pd.DataFrame) -> pd.DataFrame:
    """The exact ratios and lower bounds, the rows the across-task tests keep
    (docs/statistics.md, *Bounds in the across-task tests*)."""
    return speeds[speeds["speedup_bound"].isin(USABLE)] if len(speeds) else speeds


def speeds_censored(speeds: pd.DataFrame) -> str:
    """The ``censored`` text of an across-task speed row: censored tasks per method, and the
    ratios the tests left out (upper bounds and unknown ones)."""
    tasks = {
        name: (int(speeds[f"{name}_censored"].sum()), len(speeds)) for name in ("online", "batch")
    }
    text = "tasks with a censored value: " + censored_text(
        {"on-line": tasks["online"], "batch": tasks["batch"]}, "tasks"
    )
    if speeds["trials"].notna().any():
        trials = {
            label: (int(speeds[f"{name}_trials_censored"].sum()), int(speeds["trials"].sum()))
            for label, name in (("on-line", "online"), ("batch", "batch"))
        }
        text += "; trials censored at the common horizon: " + censored_text(trials)
    left_out = len(speeds) - len(usable(speeds))
    if left_out:
        text += f"; left out as upper bounds or unknown: {left_out} of {len(speeds)} tasks"
    return text


def exceeds(speeds: pd.DataFrame, factor: float) -> pd.Series:
    """Tasks whose speed-up is known to be at least ``factor``.

    A ratio with a censored on-line value is an upper bound (unknown when both are
    censored), so it never counts; one with only batch censored is a lower bound
    and counts when it reaches the factor ("at least 10x").
    """
    return (speeds["speedup"] >= factor) & speeds["speedup_bound"].isin(USABLE)


# ---- C1: batch is slower, often by orders of magnitude -----------------------------------


def c1_across(speeds: pd.DataFrame, analysis: Analysis, measure: str, seed: int) -> TestResult:
    """Signed-rank on log(batch / on-line) across tasks, with a bootstrap CI of the median."""
    label = analysis.measure_label(measure)
    name = "across tasks: signed-rank on log speed-up (batch / on-line)"
    kept = usable(speeds)
    if kept.empty:
        return not_computable("C1", name, "no task with both methods", measure=label)
    ratio = np.log(kept["speedup"].to_numpy(float))
    result = signed_rank(
        "C1",
        name,
        ratio,
        analysis.sided("greater"),
        alpha=analysis.alpha,
        measure=label,
        censored=speeds_censored(speeds),
    )
    if result.computable:
        speedups = np.exp(ratio)
        result.effect, result.effect_name = float(np.median(speedups)), "median speed-up"
        result.ci_level = analysis.ci_level
        result.ci_low, result.ci_high = bootstrap_median(speedups, seed, analysis.ci_level)
    return result


def c1_magnitude(speeds: pd.DataFrame, analysis: Analysis, measure: str, factor: float):
    """The share of tasks whose speed-up is at least ``factor`` (Clopper-Pearson CI)."""
    label = analysis.measure_label(measure)
    name = f"across tasks: share of tasks with speed-up >= {factor:g}x"
    fields = {"measure": label, "alternative": "descriptive"}
    if len(speeds) < MIN_TASKS:
        return not_computable(
            "C1 magnitude", name, f"only {len(speeds)} tasks", len(speeds), **fields
        )
    hits = int(exceeds(speeds, factor).sum())
    ci = sps.binomtest(hits, len(speeds)).proportion_ci(analysis.ci_level, method="exact")
    return TestResult(
        "C1 magnitude",
        name,
        statistic=float(hits),
        effect=hits / len(speeds),
        effect_name="share of tasks",
        ci_level=analysis.ci_level,
        ci_low=float(ci.low),
        ci_high=float(ci.high),
        n=len(speeds),
        censored=speeds_censored(speeds),
        notes="a speed-up counts only when known to reach the factor (on-line not censored)",
        **fields,
    )


def within_task_speed(study: Study, analysis: Analysis) -> list[TestResult]:
    """Per task, signed-rank over trials of epochs to target (batch - on-line); Holm-adjusted.

    Both methods are censored at their common horizon first. Trials pair by position:
    :func:`survival.method_times` keeps each method's trials in trial order, and every
    method runs the same trials.
    """
    results = []
    label = analysis.measure_label("epochs_to_target")
    for task, (rates, trials) in study.per_task.items():
        name = f"{task}: signed-rank over trials, epochs to target, batch vs on-line"
        times, horizon = method_times(rates, trials, [ONLINE, FULL], analysis.suffix)
        if len(times) < 2:
            results.append(not_computable("C1", name, "a method is missing", measure=label))
            continue
        online, batch = times[ONLINE], times[FULL]
        pairs = min(len(online.times), len(batch.times))
        result = signed_rank(
            "C1",
            name,
            batch.times[:pairs] - online.times[:pairs],
            analysis.sided("greater"),
            MIN_TRIALS,
            analysis.alpha,
            measure=label,
            censored=censored_text(
                {
                    "on-line": (online.n_censored, len(online.times)),
                    "batch": (batch.n_censored, len(batch.times)),
                }
            ),
        )
        result.notes = (result.notes + f" common horizon {horizon:g} epochs").strip()
        results.append(result)
    holm(results)
    return results


def c1_speed(
    study: Study, analysis: Analysis, settings: Settings, within: bool = True
) -> list[TestResult]:
    """C1: batch needs more epochs than on-line, on every measure; shares of large speed-ups.

    ``within``: also the per-task tests over trials (evidence only; no verdict uses them).
    """
    rows, shares = [], []
    factors = sorted({*MAGNITUDES, settings.magnitude["factor"]})
    for measure in MEASURES:
        speeds = task_speeds(study, analysis, measure)
        rows.append(c1_across(speeds, analysis, measure, settings.bootstrap_seed))
        shares += [c1_magnitude(speeds, analysis, measure, f) for f in factors]
    return [*rows, *shares, *(within_task_speed(study, analysis) if within else [])]


# ---- C2: the gap grows with training-set size --------------------------------------------


def ols_coefficient(
    claim: str,
    test: str,
    y: np.ndarray,
    x: np.ndarray,
    analysis: Analysis,
    direction: str,
    covariates: np.ndarray | None = None,
    **fields,
) -> TestResult:
    """OLS (statsmodels) of ``y`` on ``x`` (and ``covariates``): ``x``'s coefficient and CI."""
    design = x[:, None] if covariates is None else np.column_stack([x, covariates])
    fit = sm.OLS(y, sm.add_constant(design)).fit()
    low, high = fit.conf_int(alpha=1 - analysis.ci_level)[1]
    alternative = analysis.sided(direction)
    fields = {k: v for k, v in fields.items() if k != "alternative"}
    return TestResult(
        claim,
        test,
        alternative=alternative,
        statistic=float(fit.tvalues[1]),
        p_value=t_pvalue(float(fit.tvalues[1]), fit.df_resid, alternative),
        effect=float(fit.params[1]),
        effect_name="slope (log-log)",
        ci_level=analysis.ci_level,
        ci_low=float(low),
        ci_high=float(high),
        n=len(x),
        **fields,
    )


def c2_size(speeds: pd.DataFrame, analysis: Analysis | None = None) -> list[TestResult]:
    """C2: the speed-up grows with size (Spearman; log-log slope; slope given the batch budget).

    The third row adds log(batch budget at its best rate) as a covariate: smaller rates
    get longer budgets, and batch's best rate falls with size, so size and budget are
    confounded. When every budget is the same the adjustment is moot (not computable).
    """
    analysis = analysis or Analysis()
    label = analysis.measure_label()
    names = (
        "across tasks: Spearman correlation of speed-up with training size",
        "across tasks: OLS slope of log speed-up on log training size",
        "across tasks: OLS slope of log speed-up on log training size, given log batch budget",
    )
    kept = usable(speeds)
    ok = kept[(kept["speedup"] > 0) & np.isfinite(kept["speedup"])] if len(kept) else kept
    fields = {"measure": label, "alternative": analysis.sided("greater")}
    if len(ok) < MIN_TASKS:
        return [not_computable("C2", n, f"only {len(ok)} tasks", len(ok), **fields) for n in names]
    if ok["speedup"].nunique() == 1:
        return [not_computable("C2", n, "all speed-ups tied", len(ok), **fields) for n in names]
    fields["censored"] = speeds_censored(speeds)
    rho = sps.spearmanr(ok["train_size"], ok["speedup"], alternative=analysis.sided("greater"))
    x, y = np.log(ok["train_size"].to_numpy(float)), np.log(ok["speedup"].to_numpy(float))
    rows = [
        TestResult(
            "C2",
            names[0],
            statistic=float(rho.statistic),
            p_value=float(rho.pvalue),
            effect=float(rho.statistic),
            effect_name="Spearman rho",
            n=len(ok),
            **fields,
        ),
        ols_coefficient("C2", names[1], y, x, analysis, "greater", **fields),
    ]
    budget = np.log(ok["batch_budget"].to_numpy(float))
    if not np.all(np.isfinite(budget)) or np.ptp(budget) == 0:
        rows.append(
            not_computable("C2", names[2], "every batch budget is the same", len(ok), **fields)
        )
    elif len(ok) < MIN_TASKS + 1:
        rows.append(not_computable("C2", names[2], f"only {len(ok)} tasks", len(ok), **fields))
    else:
        adjusted = ols_coefficient("C2", names[2], y, x, analysis, "greater", budget, **fields)
        adjusted.effect_name = "slope on log size (budget-adjusted)"
        rows.append(adjusted)
    return rows


# ---- C3: the same accuracy ---------------------------------------------------------------
