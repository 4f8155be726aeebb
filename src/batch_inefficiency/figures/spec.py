"""The figure specification: every figure's name, function, inputs, options, title, caption.

One entry per figure, and everything else comes from it: the workflow's plot rule
(its inputs, options and report caption, workflow/rules/figures.smk), the list of
final outputs, and the paper-style report (title and caption). Adding a figure is
one function and one entry here.

Inputs name the tables a figure reads; the workflow maps each name to files
(``FIGURE_INPUTS`` in workflow/rules/common.smk): ``curves`` and ``rates`` and
``trials`` of the large task, ``tasks`` (tasks.csv), ``grid`` (large_task_grid.csv),
``cd`` (critical_difference.csv). Options are the other keyword arguments: ``task``
(the large task's name) and ``alpha`` (the significance level). Input and option
names are the drawing function's parameter names (a test checks this).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.figure import Figure


@dataclass(frozen=True)
class FigureSpec:
    """One figure: how it is drawn, from what, and how it is presented."""

    name: str
    # "module.function" in this package: imported when drawn, so that the workflow reads
    # the specification without loading matplotlib and seaborn
    function: str
    inputs: tuple[str, ...]  # tables read, by parameter name
    options: tuple[str, ...]  # other keyword arguments, set by the workflow
    title: str  # heading in the paper-style report
    label: str  # label in Snakemake's report
    caption: str  # reStructuredText, one paragraph
    # report section: "paper" (the replication), "beyond" (the scaling study, issue 12),
    # "size_sweep" (C2 inside a task, issue 13), "generalization" (docs/design.md §11) or
    # "optimizers" (docs/design.md §12)
    section: str = "paper"

    def resolve(self) -> Callable[..., Figure]:
        """The drawing function, imported on first use."""
        module, name = self.function.rsplit(".", 1)
        return getattr(importlib.import_module(f"{__package__}.{module}"), name)

    def draw(self, *args: Any, **kwargs: Any) -> Figure:
        """Draw the figure: its function called with these arguments."""
        return self.resolve()(*args, **kwargs)


SPECS = (
    FigureSpec(
        name="large_task_curves",
        function="large_task.large_task_curves",
        inputs=("curves", "rates"),
        options=(),
        title="Hold-out accuracy against epochs on the large task",
        label="large task: hold-out accuracy vs epoch",
        caption=(
            "The large task: hold-out accuracy (%) against epochs (log scale) for each batch size "
            "(1 = on-line, 'full' = batch: the whole training split per update), each at its best "
            "learning rate (legend). Lines: mean over trials; bands: min to max over trials. A "
            "trial that stopped early or diverged keeps its last accuracy. Dots mark the epochs "
            "needed (the epoch where the trial-averaged hold-out accuracy peaks). Epoch 0 is not "
            "shown."
        ),
    ),
    FigureSpec(
        name="large_task_grid",
        function="large_task.large_task_grid",
        inputs=("grid",),
        options=(),
        title="Batch size x learning rate on the large task",
        label="large task: batch size x rate grid",
        caption=(
            "The large task: test accuracy (colour, %) for every batch size x learning rate, at "
            "the epoch of peak trial-averaged hold-out accuracy. The number in each cell is the "
            "epochs needed to reach that peak; 'c k/n' counts the trials that never reached the "
            "common target accuracy within the epoch budget (right-censored); '†' and hatching "
            "mark cells where some trials diverged; the frame and bold text mark each batch "
            "size's best rate (chosen on hold-out accuracy). The same numbers are in the large- "
            "task grid table."
        ),
    ),
    FigureSpec(
        name="speedup_vs_size",
        function="across_tasks.speedup_vs_size",
        inputs=("tasks",),
        options=(),
        title="Speed-up of on-line over batch against training-set size",
        label="speed-up vs training-set size",
        caption=(
            "Speed-up of on-line over batch training (epochs needed by batch ÷ by on-line, each "
            "at its best learning rate; above 1: on-line needs fewer epochs) against training-set "
            "size, one point per task, log-log. Open triangles: speed-ups that are bounds, as in "
            "tasks.csv: pointing up, at least (batch did not finish: it peaked at 95% of its "
            "budget or later, or did not learn); pointing down, at most (on-line did not finish); "
            "a task where neither finished is not drawn. The fit uses every drawn point. Line "
            "and band: ordinary least-squares fit of log speed-up on log size with the 95% "
            "confidence band of the mean (statsmodels); the dotted line marks equal epochs. The "
            "paper predicts a positive slope: the larger the training set, the larger on-line's "
            "advantage."
        ),
    ),
    FigureSpec(
        name="accuracy_online_vs_batch",
        function="across_tasks.accuracy_online_vs_batch",
        inputs=("tasks",),
        options=(),
        title="Test accuracy of on-line and batch training per task",
        label="on-line vs batch accuracy",
        caption=(
            "Test accuracy (%) of on-line against batch training, one point per task, each method "
            "at its best learning rate and at its epochs needed; error bars: ±1 sd over trials. "
            "Dashed line: equal accuracy (points below it: on-line more accurate). Tasks further "
            "from the line than twice their combined sd are labelled. The paper reports that on- "
            "line is at least as accurate as batch."
        ),
    ),
    FigureSpec(
        name="epochs_to_target_vs_batch_size",
        function="large_task.epochs_to_target_vs_batch_size",
        inputs=("trials", "rates", "tasks"),
        options=("task",),
        title="Epochs and weight updates to the target against batch size",
        label="large task: epochs to target vs batch size",
        caption=(
            "The large task: (a) epochs and (b) weight updates needed to reach the common target "
            "hold-out accuracy (the task's best trial-averaged hold-out accuracy minus the "
            "tolerance) against batch size, each batch size at its best learning rate; 'full' is "
            "drawn at the training-set size. Points: trials (spread sideways to stay visible); "
            "open points: censored trials, which never reached the target within the budget and "
            "are drawn at their epoch budget (updates there), a lower bound. Line: medians. "
            "Dashed: "
            "perfect data-parallel scaling from the on-line median (constant epochs, updates ∝ "
            "1/batch size); the paper predicts that larger batches fall ever further above it."
        ),
    ),
    FigureSpec(
        name="best_rate_vs_batch_size",
        function="large_task.best_rate_vs_batch_size",
        inputs=("rates", "tasks"),
        options=("task",),
        title="Best learning rate against batch size",
        label="large task: best rate vs batch size",
        caption=(
            "The large task: the best learning rate (highest trial-averaged hold-out accuracy) of "
            "each batch size, log-log; 'full' is drawn at the training-set size. Grey marks: "
            "every rate tried (crosses: some trials diverged). With summed gradients, a larger "
            "batch takes a larger step per update, so the usable rate shrinks as the batch grows."
        ),
    ),
    FigureSpec(
        name="critical_difference",
        function="large_task.critical_difference",
        inputs=("cd",),
        options=("alpha",),
        title="Critical-difference diagram of batch sizes",
        label="large task: critical-difference diagram",
        caption=(
            "The large task: critical-difference diagram of the batch sizes, by average rank of "
            "epochs to the common target over trials (rank 1 = fastest; censored trials ranked at "
            "the common horizon, the shortest budget compared). Batch sizes joined by a bar do "
            "not differ "
            "significantly (Nemenyi post-hoc test after Friedman's test); the bar above the axis "
            "is the critical difference. An empty panel means the test was not computable (see "
            "the statistics table, claim C4)."
        ),
    ),
    FigureSpec(
        name="error_surface_illustration",
        function="illustration.error_surface_illustration",
        inputs=(),
        options=(),
        title="Why on-line training can use larger steps",
        label="error-surface illustration",
        caption=(
            "The paper's argument on a toy error surface (computed, not from the experiments). "
            "Eight training instances, each with its own error on two weights, whose minima lie "
            "along a curved valley; (a) contours of the total error with the paths of on-line "
            "(one step per instance, order shuffled each epoch; dots: end of each epoch) and "
            "batch gradient descent (one step per epoch along the summed gradient), same learning "
            "rate (0.05) and start, 20 epochs; (b) the total error after each epoch. The batch "
            "step follows the gradient at one point, so on a curved surface it overshoots across "
            "the valley, while on-line steps re-evaluate the gradient after every instance and "
            "follow the curve."
        ),
    ),
    FigureSpec(
        name="scaling_steps_to_target",
        function="scaling.steps_to_target_scaling",
        inputs=("scaling", "scaling_fit"),
        options=(),
        title="Beyond the paper: steps to the target against batch size, rates tuned",
        label="scaling: steps to target vs batch size",
        caption=(
            "Beyond the paper (scaling study): weight updates (steps) needed to reach the task's "
            "target hold-out accuracy against batch size, log-log, one panel per task, each batch "
            "size at its own best learning rate (searched until interior). Dots and bars: median "
            "over trials with its order-statistic confidence interval; open triangles: most trials "
            "censored, drawn at the step budget (a lower bound; below the fitted curve it only "
            "says the budget was too short to test it). Dashed grey: perfect scaling from "
            "the smallest batch (steps ∝ 1/batch size). Line: the fitted S(B) = S_min (1 + B_crit "
            "/ B) (McCandlish et al. 2018); dotted: B_crit; dash-dotted: the gradient noise scale "
            "B_simple measured where on-line training reached the target (claim C5)."
        ),
        section="beyond",
    ),
    FigureSpec(
        name="scaling_best_rate",
        function="scaling.best_rate_scaling",
        inputs=("scaling",),
        options=(),
        title="Beyond the paper: best learning rate against batch size",
        label="scaling: best rate vs batch size",
        caption=(
            "Beyond the paper (scaling study): the learning rate that reaches the target in the "
            "fewest steps, in the mean convention (summed rate x batch size), against batch size, "
            "log-log, one line per task. Open markers: the search ended at the edge of its grid "
            "(widening limit) or most trials never reached the target. A flat line means the "
            "summed rate falls as 1/batch size. Grey: the paper's largest (dashed, 0.1) and "
            "smallest (dotted, 0.0001) summed rates in the mean convention."
        ),
        section="beyond",
    ),
    FigureSpec(
        name="scaling_seconds_to_target",
        function="scaling.seconds_to_target_scaling",
        inputs=("scaling",),
        options=(),
        title="Beyond the paper: seconds to the target against batch size",
        label="scaling: seconds to target vs batch size",
        caption=(
            "Beyond the paper (scaling study): the wall-clock seconds a user waits for one model "
            "to reach the target, median steps to target x the measured seconds per step of that "
            "batch size (torch path, one model, no evaluation, the job's threads; one panel per "
            "device measured, its name above), log-log, one line per task. Open triangles: most "
            "trials never reached the target; drawn at the step budget x seconds per step, a "
            "lower bound."
        ),
        section="beyond",
    ),
    FigureSpec(
        name="size_sweep_speedup",
        function="size_sweep.speedup_vs_size_within",
        inputs=("size_sweep", "size_sweep_fit"),
        options=(),
        title="Beyond the paper: speed-up of on-line against training-set size within a task",
        label="size sweep: speed-up vs training-set size",
        caption=(
            "Beyond the paper (size sweep, claim C2 inside a task): on-line training's speed-up "
            "(median epochs to the task's one target of the slower method / on-line's) over full "
            "batch (solid) and over the mini-batch (dashed) against the size of nested stratified "
            "subsets of the training split, log-log, one colour per task; (a) every method at the "
            "rate tuned for that size, (b) at the best of the paper's four rates. Open markers: "
            "the slower method's median was censored and is drawn at the budget (a lower bound). "
            "The legend gives each line's OLS log-log slope with its 95% CI; the paper's argument "
            "predicts a slope near 1 over full batch. Grey: no speed-up."
        ),
        section="size_sweep",
    ),
    FigureSpec(
        name="size_sweep_best_rate",
        function="size_sweep.best_rate_vs_size",
        inputs=("size_sweep",),
        options=(),
        title="Beyond the paper: best learning rate and epochs against training-set size",
        label="size sweep: best rate and epochs vs training-set size",
        caption=(
            "Beyond the paper (size sweep): (a) the summed learning rate that reaches the target "
            "in the fewest steps and (b) the median epochs to the target at that rate, against "
            "training-set size, log-log, one colour per task and one line style per method. "
            "Dashed grey: the paper's argument for full batch with summed updates, drawn through "
            "its smallest observed size: the best rate shrinks like 1/n and the epochs grow like "
            "n. Open markers: most trials never reached the target (the rate the search ranked "
            "best by accuracy; epochs drawn at the budget, a lower bound)."
        ),
        section="size_sweep",
    ),
    FigureSpec(
        name="generalization_test_accuracy",
        function="generalization.test_accuracy_controls",
        inputs=("generalization",),
        options=(),
        title="Beyond the paper: test accuracy against batch size under four controls",
        label="generalization: test accuracy vs batch size",
        caption=(
            "Beyond the paper (generalization study): test accuracy (%) against batch size, one "
            "panel per task, each batch size at its rate of best trial-averaged hold-out accuracy "
            "and trained until it finished (its hold-out accuracy improved by at most the "
            "tolerance over the last half of its epochs). Markers: median over trials with its "
            "order-statistic CI, (a) at the epoch of best hold-out accuracy (early-stopped), (b) "
            "where the training loss first reaches the task's highest final training loss among "
            "the batch sizes, (c) at the fewest epochs any batch size ran, (d) at the fewest "
            "weight updates any batch size made. Star: full batch with the L2 weight decay best on "
            "hold-out, at (a). Open markers: the run had not finished at the cap (never compared "
            "as if it had)."
        ),
        section="generalization",
    ),
    FigureSpec(
        name="generalization_gap",
        function="generalization.generalization_gap",
        inputs=("generalization",),
        options=(),
        title="Beyond the paper: the generalization gap against batch size",
        label="generalization: gap vs batch size",
        caption=(
            "Beyond the paper (generalization study): the generalization gap against batch size, "
            "one line per task (medians over trials): training minus test accuracy (points) at "
            "(a) the early-stopped epoch and (b) matched training loss, and test minus training "
            "loss (mean per-instance loss) at the same points. Open markers: not finished."
        ),
        section="generalization",
    ),
    FigureSpec(
        name="generalization_sharpness",
        function="generalization.sharpness_figure",
        inputs=("generalization",),
        options=(),
        title="Beyond the paper: sharpness against batch size and against the gap",
        label="generalization: sharpness",
        caption=(
            "Beyond the paper (generalization study): (a) sharpness, the largest eigenvalue of the "
            "Hessian of the mean training loss (exact Hessian-vector products, Lanczos), at "
            "matched training loss (b), against batch size, one line per task (median over "
            "trials; log scale); (b) the accuracy gap at (b) against that sharpness, one point per "
            "task and batch size. Keskar et al. (2017) relate large batches to sharp minima and a "
            "larger gap."
        ),
        section="generalization",
    ),
    FigureSpec(
        name="generalization_curves",
        function="generalization.loss_vs_test_accuracy",
        inputs=("points",),
        options=(),
        title="Beyond the paper: training loss against test accuracy along the runs",
        label="generalization: training loss vs test accuracy",
        caption=(
            "Beyond the paper (generalization study): test accuracy (%) against training loss "
            "(log scale, decreasing to the right, so training runs left to right) at log-spaced "
            "epochs of each batch size's run, one panel per curve task (medians over trials). At "
            "equal training loss, a curve above another generalizes better; a curve that bends "
            "down at the right overfits."
        ),
        section="generalization",
    ),
    FigureSpec(
        name="optimizers_steps_to_target",
        function="optimizers.steps_by_optimizer",
        inputs=("optimizers", "optimizers_fit"),
        options=(),
        title="Beyond the paper: steps to the target against batch size, per optimizer",
        label="optimizers: steps to target vs batch size",
        caption=(
            "Beyond the paper (optimizer study): weight updates (steps) needed to reach the "
            "task's target hold-out accuracy against batch size, log-log, one panel per task, one "
            "colour per optimizer, each batch size and optimizer at its own best learning rate "
            "(searched until interior). Dots and bars: median over trials with its "
            "order-statistic confidence interval; open triangles: most trials censored, drawn at "
            "the step budget (a lower bound). Thick line: the optimizer's fitted S(B) = S_min "
            "(1 + B_crit / B); dotted: its B_crit."
        ),
        section="optimizers",
    ),
    FigureSpec(
        name="optimizers_fit",
        function="optimizers.fit_by_optimizer",
        inputs=("optimizers_fit",),
        options=(),
        title="Beyond the paper: S_min and B_crit per optimizer and task",
        label="optimizers: S_min and B_crit",
        caption=(
            "Beyond the paper (optimizer study): the fitted fewest steps S_min (left) and the "
            "critical batch size B_crit (right) of S(B) = S_min (1 + B_crit / B), per task, one "
            "colour per optimizer, log scale, with the fits' 95% confidence intervals (none "
            "where only two batch sizes reached the target)."
        ),
        section="optimizers",
    ),
    FigureSpec(
        name="optimizers_curvature",
        function="optimizers.gain_vs_condition",
        inputs=("optimizers_curvature",),
        options=(),
        title="Beyond the paper: the optimizers' gain against curvature, B_crit against noise",
        label="optimizers: gain vs condition number",
        caption=(
            "Beyond the paper (optimizer study), at the weights where on-line SGD reached the "
            "target, medians over trials, one point per task: (a) each optimizer's critical "
            "batch size over SGD's against the Hessian's effective condition number κ_eff "
            "(λ_max over the smallest eigenvalue of those carrying 90% of the positive "
            "spectrum); solid line: no gain, dotted: C7's factor 1.5. The noisy quadratic "
            "model predicts gains that grow with κ_eff. (b) SGD's B_crit against the gradient "
            "noise scales B_simple = tr(Σ)/|G|² (circles) and B_noise = tr(HΣ)/(GᵀHG) "
            "(squares); grey line: B_crit equal to the noise scale."
        ),
        section="optimizers",
    ),
)
FIGURES: dict[str, FigureSpec] = {spec.name: spec for spec in SPECS}
