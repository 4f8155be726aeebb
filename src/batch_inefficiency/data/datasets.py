"""The vendored data sets: manifest, verification and loading (docs/design.md §3).

``resources/datasets/manifest.csv`` lists every data set with its file and the
SHA-256 of that file. A user adds a data set by copying a CSV (plain or gzip'd;
header row, numeric inputs, the class in a column named ``class``) into the
folder; ``python -m batch_inefficiency datasets add FILE`` checks it and writes
its manifest row (README, "Adding a data set").
"""

from __future__ import annotations

import hashlib
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from batch_inefficiency.errors import UserError
from batch_inefficiency.files import atomic_output

DEFAULT_ROOT = Path("resources/datasets")
CLASS_COLUMN = "class"
USER_SOURCE = "added by user"
MANIFEST_COLUMNS = (
    "name",
    "file",
    "original_name",
    "original_repository",
    "instances",
    "inputs",
    "classes",
    "majority_share",
    "nominal_columns",
    "sha256",
    "source",
    "licence",
    "citation",
)


@dataclass(frozen=True)
class Dataset:
    """One classification task: numeric inputs and integer class labels."""

    name: str
    x: np.ndarray  # [n, d] float64
    y: np.ndarray  # [n] int64, index into ``classes``
    classes: tuple[str, ...]
    columns: tuple[str, ...]

    @property
    def n_classes(self) -> int:
        return len(self.classes)


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def read_manifest(path: Path) -> list[dict[str, str]]:
    """The manifest's rows as dictionaries of strings."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"manifest not found: {path}")
    frame = read_text_table(path, f"restore it: git checkout -- {path}")
    missing = [c for c in MANIFEST_COLUMNS if c not in frame.columns]
    if missing:
        raise UserError(f"{path}: missing column(s) {', '.join(missing)}")
    return frame[list(MANIFEST_COLUMNS)].to_dict("records")


def read_text_table(path: Path, fix: str, sep: str = ",") -> pd.DataFrame:
    """A CSV/TSV of strings; one that does not parse is a UserError saying ``fix``."""
    try:
        frame = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False)
    except (ValueError, UnicodeDecodeError) as err:  # pandas' ParserError is a ValueError
        reason = " ".join(str(err).split())
        raise UserError(f"{path}: cannot be read ({reason}); {fix}") from None
    if has_extra_fields(frame):
        raise UserError(f"{path}: a row has more fields than the header; {fix}")
    return frame


def has_extra_fields(frame: pd.DataFrame) -> bool:
    """Whether pandas made a row's fields beyond the header the index (0, 1, ... otherwise)."""
    return not frame.index.equals(pd.RangeIndex(len(frame)))


def write_manifest(path: Path, rows: list[dict]) -> None:
    """Write manifest rows (in the given order) with the standard columns, whole or not at all."""
    frame = pd.DataFrame(rows, columns=list(MANIFEST_COLUMNS))
    with atomic_output(path) as tmp:
        frame.to_csv(tmp, index=False, lineterminator="\n")


def manifest_entry(name: str, root: Path = DEFAULT_ROOT) -> dict[str, str]:
    """The manifest row of data set ``name``; unknown names list the available ones."""
    rows = {r["name"]: r for r in read_manifest(Path(root) / "manifest.csv")}
    if name not in rows:
        raise UserError(f"unknown data set {name!r}; available: {', '.join(sorted(rows))}")
    return rows[name]


def check_file(entry: dict[str, str], root: Path) -> str | None:
    """None if the entry's file exists with the expected hash, else a one-line problem."""
    path = Path(root) / entry["file"]
    if not path.is_file():
        return f"{path}: missing (expected sha256 {entry['sha256']})"
    actual = sha256_of(path)
    if actual != entry["sha256"]:
        return f"{path}: sha256 {actual} does not match the manifest's {entry['sha256']}"
    return None


def restore_hint(entry: dict[str, str], root: Path) -> str:
    """How to get a data set file back in line with its manifest row."""
    path = Path(root) / entry["file"]
    if is_vendored(entry):
        return (
            f"restore it: git checkout -- {path}, or python -m batch_inefficiency datasets "
            "rebuild (README, Data)"
        )
    return (
        f"put the file you added back, or if you changed it on purpose: "
        f"python -m batch_inefficiency datasets add {path} --replace"
    )


def verify(root: Path = DEFAULT_ROOT) -> list[str]:
    """Re-hash every data set against the manifest; returns the problems (empty if all good)."""
    return [p for e in read_manifest(Path(root) / "manifest.csv") if (p := check_file(e, root))]


def read_frame(path: Path) -> pd.DataFrame:
    """Read and validate a data set CSV (plain or compressed, e.g. ``.csv.gz``): a header
    row of distinct names, a ``class`` column anywhere in it, numeric and complete inputs."""
    path = Path(path)
    try:
        header = pd.read_csv(path, header=None, nrows=1, dtype=str, keep_default_na=False)
        frame = pd.read_csv(path, dtype={CLASS_COLUMN: str}, keep_default_na=False, na_values=[""])
    except pd.errors.EmptyDataError:
        raise UserError(f"{path}: the file is empty") from None
    except (OSError, ValueError, UnicodeDecodeError, EOFError, zlib.error) as err:
        reason = " ".join(str(err).split())
        raise UserError(f"{path}: cannot be read as CSV ({reason})") from None
    if has_extra_fields(frame):
        raise UserError(f"{path}: a row has more fields than the header")
    names = list(header.iloc[0])  # as written: pandas renames a repeated name "a" to "a.1"
    if repeated := sorted({n for n in names if names.count(n) > 1}):
        raise UserError(
            f"{path}: duplicate column name(s) {', '.join(map(repr, repeated))}; "
            "give every column its own name"
        )
    if CLASS_COLUMN not in frame.columns:
        raise UserError(
            f"{path}: no column named {CLASS_COLUMN!r} (the first row must name the columns, "
            f"the class in one named {CLASS_COLUMN!r})"
        )
    if frame.shape[1] < 2 or len(frame) < 2:
        raise UserError(f"{path}: needs at least one input column and two rows")
    for column in frame.columns.drop(CLASS_COLUMN):
        if not pd.api.types.is_numeric_dtype(frame[column]):
            raise UserError(f"{path}: input column {column!r} is not numeric")
    if frame.isna().any().any():
        column = frame.columns[frame.isna().any()][0]
        raise UserError(f"{path}: column {column!r} has missing values")
    if not np.isfinite(frame.drop(columns=CLASS_COLUMN).to_numpy(dtype=np.float64)).all():
        raise UserError(f"{path}: an input is infinite")
    return frame


def describe_frame(path: Path) -> dict[str, str]:
    """Manifest statistics of a data set file: instances, inputs, classes, majority share."""
    return frame_statistics(read_frame(path))


def frame_statistics(frame: pd.DataFrame) -> dict[str, str]:
    """Manifest statistics of a data set read by :func:`read_frame`."""
    shares = frame[CLASS_COLUMN].value_counts(normalize=True)
    return {
        "instances": str(len(frame)),
        "inputs": str(frame.shape[1] - 1),
        "classes": str(len(shares)),
        "majority_share": f"{shares.iloc[0]:.4f}",
    }


def load_dataset(name: str, root: Path = DEFAULT_ROOT, nominal: str = "ordinal") -> Dataset:
    """Load a verified data set by name.

    ``nominal='onehot'`` expands the manifest's nominal columns into one 0/1
    input per value; ``'ordinal'`` keeps their integer codes.
    """
    entry = manifest_entry(name, root)
    if problem := check_file(entry, root):
        raise UserError(f"{problem}; {restore_hint(entry, Path(root))}")
    frame = read_frame(Path(root) / entry["file"])
    labels = frame.pop(CLASS_COLUMN)
    if nominal == "onehot":
        columns = [c for c in entry["nominal_columns"].split(";") if c]
        frame = pd.get_dummies(frame, columns=columns, dtype=float)
    elif nominal != "ordinal":
        raise UserError(f"unknown nominal encoding {nominal!r}; use 'ordinal' or 'onehot'")
    classes, y = np.unique(labels.to_numpy(dtype=str), return_inverse=True)
    return Dataset(
        name=name,
        x=frame.to_numpy(dtype=np.float64),
        y=y.astype(np.int64),
        classes=tuple(str(c) for c in classes),
        columns=tuple(frame.columns),
    )


def is_vendored(row: dict[str, str]) -> bool:
    """Whether a manifest row is one of the vendored (KEEL) data sets, not one a user added."""
    return row["source"] != USER_SOURCE
