"""From test results to a verdict per claim, by rules stated here and in the report.

Verdicts: ``supported``, ``partly supported``, ``not supported``, ``not computable``.
The rules (alpha and the magnitude thresholds from the config, set before any
result was seen; the measure is the analysis' speed measure, in the primary
analysis the paper's *epochs needed*; tests of a claimed direction are two-sided
with 95% CIs, or in the stability table's one-sided analysis one-sided with 90% CIs):

* C1 (batch is slower): supported if the across-task signed-rank test of
  log(batch / on-line) has p < alpha and the CI of the median speed-up lies
  above 1; partly if the median speed-up is above 1 otherwise; else not supported.
* C1 magnitude ("often by orders of magnitude"): the share of tasks whose
  speed-up is known to be at least `factor` (10) on the measure (a speed-up with
  a censored on-line value never counts): supported if at least `often` (one
  half), partly if at least `partly` (one quarter), else not supported.
* C2 (the gap grows with size): supported if Spearman's rho > 0 with p < alpha,
  the CI of the log-log slope of speed-up on size lies above 0, and so does the
  CI of that slope given log(batch budget) (moot, and left out, when every batch
  budget is the same); partly if rho > 0 and at least one of these holds; else
  not supported.
* C3 (same accuracy, once trained): on the tasks where both methods finished (neither
  censored nor peaking at or after `budget_hit` of its budget), supported if the TOST
  equivalence test within the margin has p < alpha; partly if equivalence is not shown
  but the two-sided signed-rank test finds no difference (p >= alpha); not supported if
  it finds one. The same on every task, within the paper's budgets, is an alternative
  analysis.
* C4 (larger batches need smaller rates and more epochs): supported if Page's
  trend test of epochs to target over batch sizes (permutation p-value) has
  p < alpha with L above its null mean (rising) and the CI of the slope of log
  best rate on log batch size lies below 0; partly if one holds; else not supported.
* C5 (the gradient noise scale predicts the critical batch size; the scaling
  study, docs/design.md §9; rule fixed before its data were seen): a task
  counts if its S(B) fit has a CI (three or more batch sizes reached the
  target) and B_simple is finite; with fewer than three such tasks, not
  computable. Supported if B_simple / B_crit lies within a factor of 3 (1/3 to
  3) in more than half of them; partly if within a factor of 10 in more than
  half; else not supported.

* C2 within a task (the size sweep, docs/design.md §10; rule fixed before its data
  were seen): the log-log slope of on-line's speed-up over full batch (ratio of
  median epochs to target, both at their tuned rates; a size where either median is
  censored is left out, the tables and figure show it as a bound) on the
  training-set size, per task (OLS) and pooled over the tasks
  with task as a factor (OLS with task fixed effects), 95% CIs. A task counts with
  at least three sizes; with none, not computable. Supported if the pooled slope's
  CI lies above 0 and every counted task's slope is above 0; partly if the pooled
  slope is above 0 and either its CI or at least one task's CI lies above 0; else
  not supported.

Finished runs only: a method whose trial-averaged hold-out accuracy peaks at or after
`budget_hit` (95%) of its budget has not finished, and its epochs needed are censored
(at least its peak); a ratio with a censored value is a bound ("at least", "at most",
"unknown"), and the across-task tests keep exact ratios and lower bounds only. Exact
ties of best hold-out accuracy go to fewer epochs, then the larger rate (an
alternative analysis sends them to the smaller rate). A signed-rank test (or a Holm
family of them) whose smallest attainable p is not below alpha with its n is not
computable: it cannot reject, so it decides nothing (docs/statistics.md).

A verdict is **robust** when every alternative analysis of the stability table
that can be computed gives the same verdict, else **fragile**, and the report says
so wherever it states the verdict. An analysis that leaves too few tasks for a
verdict ("not computable") is named beside the label, not counted as a flip.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from batch_inefficiency.stats.common import smallest_signed_rank_p

STATEMENTS = {
    "C1": "Batch training is almost always slower than on-line training in epochs to reach the "
    "best accuracy.",
    "C1 magnitude": "... often by orders of magnitude.",
    "C2": "The gap grows with the size of the training set.",
    "C3": "There is no apparent difference in the accuracy that the two reach.",
    "C4": "Larger batches need smaller learning rates; training time rises with batch size.",
    "C5": "Beyond the paper: the critical batch size (the knee of steps to target against "
    "batch size, rates tuned) is predicted by the gradient noise scale B_simple.",
}
DEFAULT_MAGNITUDE = {"factor": 10, "often": 0.5, "partly": 0.25}
PRIMARY_MEASURE = "epochs needed"  # the paper's speed measure (tests.csv ``measure``)


def _row(tests: pd.DataFrame, claim: str, starts: str, measure: str | None = None):
    """The first computable row of ``claim`` whose test starts with ``starts`` (and measure)."""
    found = tests[(tests["claim"] == claim) & tests["test"].str.startswith(starts)]
    if measure is not None:
        found = found[found["measure"] == measure]
    return None if found.empty or not found.iloc[0]["computable"] else found.iloc[0]


def _fmt_p(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def _ci(row: pd.Series, digits: str = ".3g") -> str:
    return f"{row['ci_level']:.0%} CI {row['ci_low']:{digits}} to {row['ci_high']:{digits}}"


def verdict_c1(
    tests: pd.DataFrame, alpha: float, measure: str = PRIMARY_MEASURE, **_
) -> tuple[str, str]:
    """Verdict and evidence sentence for C1 (direction), on the speed ``measure``."""
    r = _row(tests, "C1", "across tasks: signed-rank", measure)
    if r is None:
        return "not computable", f"too few tasks with both methods ({measure})"
    c1 = tests[(tests["claim"] == "C1") & tests["computable"]]
    within = c1[~c1["test"].str.startswith("across")]
    evidence = (
        f"{measure}: median speed-up of on-line over batch {r['effect']:.3g}x ({_ci(r)}) over "
        f"{r['n']} tasks, signed-rank ({r['alternative']}) {_fmt_p(r['p_value'])}; "
        f"{r['censored']}; {within_task_sentence(within, alpha)}"
    )
    across = c1[c1["test"].str.startswith("across tasks: signed-rank")]
    for _, other in across[across["measure"] != measure].iterrows():
        evidence += f"; {other['measure']}: median speed-up {other['effect']:.3g}x"
    if r["p_value"] < alpha and r["ci_low"] > 1:
        return "supported", evidence
    return ("partly supported" if r["effect"] > 1 else "not supported"), evidence


def within_task_sentence(within: pd.DataFrame, alpha: float) -> str:
    """How many within-task tests find batch slower to the target, unadjusted and Holm-adjusted,
    and whether the Holm family could reject at all with its numbers of trials."""
    slower = within["effect"] > 0
    raw = int(((within["p_value"] < alpha) & slower).sum())
    holm = int(((within["p_adjusted"] < alpha) & slower).sum())
    text = (
        f"batch significantly slower to the target (common horizon) in {raw} of {len(within)} "
        f"tasks unadjusted, {holm} after Holm"
    )
    if len(within):
        sides = within["alternative"].iloc[0]
        smallest = len(within) * min(smallest_signed_rank_p(int(n), sides) for n in within["n"])
        if smallest >= alpha:
            text += (
                f" (the Holm family cannot reject: {int(within['n'].max())} trials over "
                f"{len(within)} tasks give a smallest attainable adjusted p of {smallest:.3g})"
            )
    return text


def verdict_c1_magnitude(
    tests: pd.DataFrame,
    alpha: float,
    magnitude: Mapping | None = None,
    measure: str = PRIMARY_MEASURE,
    **_,
) -> tuple[str, str]:
    """Verdict and evidence sentence for C1's "often by orders of magnitude"."""
    magnitude = magnitude or DEFAULT_MAGNITUDE
    factor = magnitude["factor"]
    r = _row(
        tests, "C1 magnitude", f"across tasks: share of tasks with speed-up >= {factor:g}x", measure
    )
    if r is None:
        return "not computable", f"too few tasks with both methods ({measure})"
    shares = tests[(tests["claim"] == "C1 magnitude") & tests["computable"]]
    parts = [
        f"{m}: "
        + ", ".join(
            f"{int(s['statistic'])} of {s['n']} tasks {s['test'].split('speed-up ')[1]}"
            for _, s in group.iterrows()
        )
        for m, group in shares.groupby("measure", sort=False)
    ]
    evidence = (
        f"{measure}: {r['effect']:.0%} of tasks with a speed-up of at least {factor:g}x "
        f"({_ci(r, '.2f')}); " + "; ".join(parts)
    )
    if r["effect"] >= magnitude["often"]:
        return "supported", evidence
    return ("partly supported" if r["effect"] >= magnitude["partly"] else "not supported"), evidence


def verdict_c2(tests: pd.DataFrame, alpha: float, **_) -> tuple[str, str]:
    """Verdict and evidence sentence for C2."""
    rho = _row(tests, "C2", "across tasks: Spearman")
    slope = _row(tests, "C2", "across tasks: OLS slope of log speed-up on log training size")
    adjusted = tests[tests["claim"] == "C2"]
    adjusted = adjusted[adjusted["test"].str.endswith("given log batch budget")]
    if rho is None or slope is None:
        return "not computable", "too few tasks with a speed-up"
    evidence = (
        f"{rho['measure']}: Spearman rho {rho['effect']:.2f} ({rho['alternative']} "
        f"{_fmt_p(rho['p_value'])}), log-log slope {slope['effect']:.2f} ({_ci(slope, '.2f')}), "
        f"{rho['n']} tasks"
    )
    holds = [rho["p_value"] < alpha and rho["effect"] > 0, slope["ci_low"] > 0]
    if len(adjusted) and adjusted.iloc[0]["computable"]:
        a = adjusted.iloc[0]
        evidence += (
            f"; slope given log batch budget {a['effect']:.2f} ({_ci(a, '.2f')}, "
            f"{_fmt_p(a['p_value'])})"
        )
        holds.append(a["ci_low"] > 0)
    elif len(adjusted):
        evidence += f"; budget-adjusted slope {adjusted.iloc[0]['notes']}"
    if all(holds):
        return "supported", evidence
    return ("partly supported" if rho["effect"] > 0 and any(holds) else "not supported"), evidence


def verdict_c3(tests: pd.DataFrame, alpha: float, **_) -> tuple[str, str]:
    """Verdict and evidence sentence for C3."""
    rank, tost = (
        _row(tests, "C3", "across tasks: signed-rank"),
        _row(tests, "C3", "across tasks: TOST"),
    )
    if rank is None or tost is None:
        return "not computable", "too few tasks, or all accuracy differences tied"
    evidence = (
        f"mean accuracy difference (batch - on-line) {tost['effect']:+.4f} ("
        f"{tost['ci_level']:.0%} CI {tost['ci_low']:+.4f} to {tost['ci_high']:+.4f}), TOST "
        f"{_fmt_p(tost['p_value'])}, signed-rank (two-sided) {_fmt_p(rank['p_value'])}, "
        f"{tost['n']} tasks ({tost['censored']})"
    )
    if tost["p_value"] < alpha:
        return "supported", evidence
    return ("partly supported" if rank["p_value"] >= alpha else "not supported"), evidence


def verdict_c4(tests: pd.DataFrame, alpha: float, **_) -> tuple[str, str]:
    """Verdict and evidence sentence for C4."""
    page = _row(tests, "C4", "large task: Page")
    slope = _row(tests, "C4", "large task: OLS slope of log best rate on log batch size")
    if page is None and slope is None:
        return "not computable", "too few batch sizes or trials on the large task"
    parts, holds = [], []
    if page is not None:
        ranks = page["notes"].split("average ranks ")[-1]
        parts.append(
            f"Page's trend test of epochs to target over batch sizes ({page['alternative']}, "
            f"permutation) {_fmt_p(page['p_value'])}, L - E[L] {page['effect']:+.1f}; "
            f"censored {page['censored']}; average ranks {ranks}"
        )
        holds.append(page["p_value"] < alpha and page["effect"] > 0)
    if slope is not None:
        parts.append(
            f"best rate vs batch size log-log slope {slope['effect']:.2f} ({_ci(slope, '.2f')}; "
            "summed convention, the paper's"
        )
        mean = _row(tests, "C4", "large task: OLS slope of log best rate on log batch size (mean")
        if mean is not None:
            parts[-1] += f"; mean convention {mean['effect']:.2f}, {_ci(mean, '.2f')}"
        parts[-1] += ")"
        holds.append(slope["ci_high"] < 0)
    evidence = "; ".join(parts)
    if len(holds) == 2 and all(holds):
        return "supported", evidence
    return ("partly supported" if any(holds) else "not supported"), evidence


C5_MIN_TASKS = 3  # tasks with both B_crit (with a CI) and B_simple


def verdict_c5(fits: pd.DataFrame) -> tuple[str, str]:
    """Verdict and evidence sentence for C5 from the scaling study's per-task fits."""
    usable = fits[np.isfinite(fits["b_crit_low"]) & np.isfinite(fits["b_simple"])]
    ratios = (usable["b_simple"] / usable["b_crit"]).to_numpy()
    all_ratios = fits["b_simple"] / fits["b_crit"]
    listed = ", ".join(f"{t} {r:.3g}x" for t, r in zip(fits["task"], all_ratios, strict=True))
    if len(usable) < C5_MIN_TASKS:
        return "not computable", (
            f"B_simple / B_crit: {listed or 'none'}; {len(usable)} task(s) with both B_crit "
            f"(with a CI) and B_simple, {C5_MIN_TASKS} needed"
        )
    within3 = int(((ratios >= 1 / 3) & (ratios <= 3)).sum())
    within10 = int(((ratios >= 1 / 10) & (ratios <= 10)).sum())
    evidence = (
        f"B_simple / B_crit: {listed}; within a factor of 3 in {within3} of {len(usable)} tasks, "
        f"of 10 in {within10}"
    )
    if within3 > len(usable) / 2:
        return "supported", evidence
    return ("partly supported" if within10 > len(usable) / 2 else "not supported"), evidence


WITHIN_QUANTITY = "speed-up over full batch"  # size_sweep_fit's quantity of the C2 rule
WITHIN_MIN_SIZES = 3  # sizes a task needs to count


def verdict_c2_within(fits: pd.DataFrame) -> tuple[str, str]:
    """Verdict and evidence sentence for C2 within tasks, from size_sweep_fit's slopes."""
    rows = fits[(fits["quantity"] == WITHIN_QUANTITY) & (fits["rates"] == "tuned")]
    swept = rows[rows["task"] != "pooled"]
    tasks = swept[np.isfinite(swept["slope"]) & (swept["points"] >= WITHIN_MIN_SIZES)]
    pooled = rows[rows["task"] == "pooled"]
    if tasks.empty or pooled.empty or not np.isfinite(pooled.iloc[0]["slope"]):
        return "not computable", (
            f"fewer than {WITHIN_MIN_SIZES} sizes where both on-line and full batch reached the "
            "target (median over trials) in every task"
        )
    p = pooled.iloc[0]
    listed = ", ".join(
        f"{r['task']} {r['slope']:.2f} ({r['ci_low']:.2f} to {r['ci_high']:.2f})"
        for _, r in tasks.iterrows()
    )
    evidence = (
        f"within tasks (size sweep, rates tuned): log-log slope of speed-up over full batch on "
        f"training-set size {listed}; pooled with task as a factor {p['slope']:.2f} (CI "
        f"{p['ci_low']:.2f} to {p['ci_high']:.2f}) over {int(p['points'])} task sizes; "
        f"{len(tasks)} of {len(swept)} tasks with {WITHIN_MIN_SIZES} or more sizes where both "
        "reached the target"
    )
    if p["ci_low"] > 0 and (tasks["slope"] > 0).all():
        return "supported", evidence
    partly = p["slope"] > 0 and (p["ci_low"] > 0 or (tasks["ci_low"] > 0).any())
    return ("partly supported" if partly else "not supported"), evidence


RULES = {
    "C1": verdict_c1,
    "C1 magnitude": verdict_c1_magnitude,
    "C2": verdict_c2,
    "C3": verdict_c3,
    "C4": verdict_c4,
}


def claims_table(
    tests: pd.DataFrame,
    alpha: float,
    magnitude: Mapping | None = None,
    measure: str = PRIMARY_MEASURE,
) -> pd.DataFrame:
    """claims.csv: claim, the paper's statement, our evidence, verdict.

    ``measure``: the speed measure of C1's rules (tests.csv ``measure``; C2's tests are
    run on one measure only).
    """
    tests = tests.assign(
        computable=tests["computable"].astype(bool),
        measure=tests["measure"].fillna(""),
        censored=tests["censored"].fillna(""),
    )
    rows = []
    for claim, rule in RULES.items():
        verdict, evidence = rule(tests, alpha, magnitude=magnitude, measure=measure)
        rows.append(
            {
                "claim": claim,
                "statement": STATEMENTS[claim],
                "evidence": evidence,
                "verdict": verdict,
            }
        )
    return pd.DataFrame(rows).replace({np.nan: ""})
