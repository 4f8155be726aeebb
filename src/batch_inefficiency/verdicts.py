"""From test results to a verdict per claim, by rules stated here and in the report.

Verdicts: ``supported``, ``partly supported``, ``not supported``, ``not computable``.
The rules (alpha from the config):

* C1 (batch is slower): supported if the across-task signed-rank test of
  log(epochs batch / on-line) has p < alpha and the 95% CI of the median
  speed-up lies above 1; partly if the median speed-up is above 1 otherwise;
  else not supported.
* C2 (the gap grows with size): supported if Spearman's rho > 0 with p < alpha
  and the log-log slope's 95% CI lies above 0; partly if rho > 0 and one of the
  two holds; else not supported.
* C3 (same accuracy): supported if the TOST equivalence test within the margin
  has p < alpha; partly if equivalence is not shown but the signed-rank test
  finds no difference (p >= alpha); not supported if it finds one.
* C4 (larger batches need smaller rates and more epochs): supported if Page's
  trend test (epochs rise with batch size) has p < alpha and the slope of
  log best rate on log batch size has its 95% CI below 0; partly if one holds.
* C5 (the gradient noise scale predicts the critical batch size; the scaling
  study, docs/design.md §9; rule fixed before its data were seen): a task
  counts if its S(B) fit has a CI (three or more batch sizes reached the
  target) and B_simple is finite; with fewer than three such tasks, not
  computable. Supported if B_simple / B_crit lies within a factor of 3 (1/3 to
  3) in more than half of them; partly if within a factor of 10 in more than
  half; else not supported.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

STATEMENTS = {
    "C1": "Batch training is almost always slower than on-line training, often by orders of "
    "magnitude, in epochs to reach the best accuracy.",
    "C2": "The gap grows with the size of the training set.",
    "C3": "There is no apparent difference in the accuracy that the two reach.",
    "C4": "Larger batches need smaller learning rates; training time rises with batch size.",
    "C5": "Beyond the paper: the critical batch size (the knee of steps to target against "
    "batch size, rates tuned) is predicted by the gradient noise scale B_simple.",
}


def _row(tests: pd.DataFrame, claim: str, starts: str) -> pd.Series | None:
    found = tests[(tests["claim"] == claim) & tests["test"].str.startswith(starts)]
    return None if found.empty or not found.iloc[0]["computable"] else found.iloc[0]


def _fmt_p(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def verdict_c1(tests: pd.DataFrame, alpha: float) -> tuple[str, str]:
    """Verdict and evidence sentence for C1."""
    r = _row(tests, "C1", "across tasks:")
    if r is None:
        return "not computable", "too few tasks with both methods"
    c1 = tests[(tests["claim"] == "C1") & tests["computable"]]
    within = c1[~c1["test"].str.startswith("across")]
    slower = int(((within["p_adjusted"] < alpha) & (within["effect"] > 0)).sum())
    evidence = (
        f"median speed-up of on-line over batch {r['effect']:.3g}x (95% CI {r['ci_low']:.3g}-"
        f"{r['ci_high']:.3g}) over {r['n']} tasks, signed-rank {_fmt_p(r['p_value'])}; batch "
        f"significantly slower to the target in {slower} of {len(within)} tasks (Holm)"
    )
    target = _row(tests, "C1", "across tasks (sensitivity)")
    if target is not None:
        evidence += f"; median speed-up to the common target {target['effect']:.3g}x"
    if r["p_value"] < alpha and r["ci_low"] > 1:
        return "supported", evidence
    return ("partly supported" if r["effect"] > 1 else "not supported"), evidence


def verdict_c2(tests: pd.DataFrame, alpha: float) -> tuple[str, str]:
    """Verdict and evidence sentence for C2."""
    rho, slope = _row(tests, "C2", "across tasks: Spearman"), _row(tests, "C2", "across tasks: OLS")
    if rho is None or slope is None:
        return "not computable", "too few tasks with a speed-up"
    evidence = (
        f"Spearman rho {rho['effect']:.2f} ({_fmt_p(rho['p_value'])}), log-log slope "
        f"{slope['effect']:.2f} (95% CI {slope['ci_low']:.2f} to {slope['ci_high']:.2f}), "
        f"{rho['n']} tasks"
    )
    holds = [rho["p_value"] < alpha and rho["effect"] > 0, slope["ci_low"] > 0]
    if all(holds):
        return "supported", evidence
    return ("partly supported" if rho["effect"] > 0 and any(holds) else "not supported"), evidence


def verdict_c3(tests: pd.DataFrame, alpha: float) -> tuple[str, str]:
    """Verdict and evidence sentence for C3."""
    rank, tost = (
        _row(tests, "C3", "across tasks: signed-rank"),
        _row(tests, "C3", "across tasks: TOST"),
    )
    if rank is None or tost is None:
        return "not computable", "too few tasks, or all accuracy differences tied"
    evidence = (
        f"mean accuracy difference (batch - on-line) {tost['effect']:+.4f} (90% CI "
        f"{tost['ci_low']:+.4f} to {tost['ci_high']:+.4f}), TOST {_fmt_p(tost['p_value'])}, "
        f"signed-rank {_fmt_p(rank['p_value'])}, {tost['n']} tasks"
    )
    if tost["p_value"] < alpha:
        return "supported", evidence
    return ("partly supported" if rank["p_value"] >= alpha else "not supported"), evidence


def verdict_c4(tests: pd.DataFrame, alpha: float) -> tuple[str, str]:
    """Verdict and evidence sentence for C4."""
    page, slope = _row(tests, "C4", "large task: Page"), _row(tests, "C4", "large task: OLS")
    if page is None and slope is None:
        return "not computable", "too few batch sizes or trials on the large task"
    parts, holds = [], []
    if page is not None:
        parts.append(
            f"Page's trend test of epochs to target over batch sizes {_fmt_p(page['p_value'])}"
        )
        holds.append(page["p_value"] < alpha)
    if slope is not None:
        parts.append(
            f"best rate vs batch size log-log slope {slope['effect']:.2f} "
            f"(95% CI {slope['ci_low']:.2f} to {slope['ci_high']:.2f})"
        )
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


RULES = {"C1": verdict_c1, "C2": verdict_c2, "C3": verdict_c3, "C4": verdict_c4}


def claims_table(tests: pd.DataFrame, alpha: float) -> pd.DataFrame:
    """claims.csv: claim, the paper's statement, our evidence, verdict."""
    tests = tests.assign(computable=tests["computable"].astype(bool))
    rows = []
    for claim, rule in RULES.items():
        verdict, evidence = rule(tests, alpha)
        rows.append(
            {
                "claim": claim,
                "statement": STATEMENTS[claim],
                "evidence": evidence,
                "verdict": verdict,
            }
        )
    return pd.DataFrame(rows).replace({np.nan: ""})
