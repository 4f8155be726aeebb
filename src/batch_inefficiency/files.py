"""Files of the workflow: written whole or not at all, and told apart when damaged.

:func:`atomic_output` writes a file under a temporary name next to it and renames it into
place only when the writing succeeded, so a job killed mid-write (or stopped by a full
disk) leaves no file that looks complete. :func:`damage` says why a result file cannot be
read, so that a later stage reports a damaged input by name, with how to rebuild it.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from batch_inefficiency.errors import FaultError, UserError, machine_fault

PARTIAL_PREFIX = ".partial-"


@contextmanager
def atomic_output(path: str | Path) -> Iterator[Path]:
    """A temporary path in ``path``'s folder, renamed onto ``path`` when the block succeeds.

    The temporary name ends with ``path``'s own name (numpy adds ``.npz`` otherwise) and
    is removed when the block fails; an OSError of the machine (full disk, ...) becomes a
    :class:`FaultError` naming ``path``.
    """
    path = Path(path)
    tmp = path.with_name(f"{PARTIAL_PREFIX}{uuid.uuid4().hex[:12]}-{path.name}")
    try:
        yield tmp
        os.replace(tmp, path)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        fault = machine_fault(err, path)
        if fault is None:
            raise
        raise fault from err
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextmanager
def atomic_folder(out_dir: str | Path, names: Iterable[str]) -> Iterator[Path]:
    """A temporary folder beside ``out_dir``; its entries ``names`` then move into ``out_dir``.

    Nothing reaches ``out_dir`` unless the block succeeds, so an interrupted job leaves
    none of the files that say it is done; an entry that exists in ``out_dir`` already
    (a folder of an earlier attempt) is replaced.
    """
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out_dir.parent, prefix=f".{out_dir.name}-") as tmp:
        yield Path(tmp)
        out_dir.mkdir(exist_ok=True)
        for name in names:
            if (out_dir / name).is_dir():
                shutil.rmtree(out_dir / name)
            shutil.move(Path(tmp) / name, out_dir / name)


def check_writable_folder(path: str | Path, argument: str) -> None:
    """Create folder ``path`` if needed and write a probe file there; else a UserError."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as err:
        reason = (err.strerror or str(err)).lower()
        raise UserError(f"{argument} {path}: cannot write there ({reason})") from None


def check_creatable_folder(path: str | Path, name: str) -> None:
    """Refuse (UserError) a folder ``path`` that could not be created or written; creates nothing.

    ``name`` says where the path comes from (``config key results``).
    """
    path = Path(path).absolute()
    existing = next(p for p in (path, *path.parents) if p.exists())
    if not existing.is_dir():
        kind = "is a file" if existing == path else f"lies under a file, {existing}"
        raise UserError(f"{name} {str(path)!r}: {kind}, not a folder; choose a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UserError(
            f"{name} {str(path)!r}: cannot write to {existing}; choose a folder you may write to"
        )


def damage(path: str | Path) -> str | None:
    """Why the file at ``path`` cannot be read as its kind (by its suffix); None if it reads.

    Kinds: ``.npz``, ``.csv``/``.csv.gz``/``.tsv``, ``.json``, other ``.gz``. A missing
    file or one of another kind is not damaged (None).
    """
    path = Path(path)
    if not path.is_file():
        return None
    if path.stat().st_size == 0:
        return "the file is empty"
    try:
        _read_whole(path)
    except Exception as err:  # any failure to read is what this function reports
        return f"{type(err).__name__}: {' '.join(str(err).split())}"[:200]
    return None


def _read_whole(path: Path) -> None:
    """Read every byte of ``path`` the way the later stages do (raises on damage)."""
    import numpy as np
    import pandas as pd

    name = path.name
    if name.endswith(".npz"):
        with np.load(path, allow_pickle=False) as npz:
            for key in npz.files:
                npz[key]
    elif name.endswith((".csv", ".csv.gz", ".tsv")):
        if name.endswith(".gz"):  # pandas reads a gzip that lost its end without a word
            gzip.decompress(path.read_bytes())
        pd.read_csv(path, sep="\t" if name.endswith(".tsv") else ",")
    elif name.endswith(".json"):
        json.loads(path.read_text())
    elif name.endswith(".gz"):
        gzip.decompress(path.read_bytes())


def damaged_file(path: str | Path, reason: str) -> FaultError:
    """The one-line error of a damaged result file, with the command that rebuilds it."""
    return FaultError(
        f"{path} is damaged or incomplete ({reason}); rebuild it with "
        f"`snakemake --forcerun {path}` (plus the --configfile you ran with)"
    )


def first_damaged(paths: Iterable[str | Path]) -> FaultError | None:
    """The error of the first damaged file among ``paths`` (nested lists allowed), or None."""
    for path in _flatten(paths):
        if (reason := damage(path)) is not None:
            return damaged_file(path, reason)
    return None


def _flatten(paths: Iterable) -> Iterator[str | Path]:
    for item in paths:
        if isinstance(item, str | Path):
            yield item
        else:
            yield from _flatten(item)
