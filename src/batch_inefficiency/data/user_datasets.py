"""A user's own CSV added to the data sets' manifest once it is known to split (`datasets add`)."""

from __future__ import annotations

import re
from pathlib import Path

from batch_inefficiency.data.datasets import (
    CLASS_COLUMN,
    DEFAULT_ROOT,
    MANIFEST_COLUMNS,
    USER_SOURCE,
    frame_statistics,
    is_vendored,
    read_frame,
    read_manifest,
    sha256_of,
    write_manifest,
)
from batch_inefficiency.data.splits import check_splittable
from batch_inefficiency.errors import UserError

NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")


def add_dataset(
    path: Path, root: Path = DEFAULT_ROOT, *, replace: bool = False, **fields: str
) -> tuple[dict[str, str], dict[str, str] | None]:
    """Add the manifest row of a CSV (``.csv`` or e.g. ``.csv.gz``) already placed in ``root``.

    Returns (the new row, the row it replaced or None). A name already in the manifest is
    refused unless ``replace``; a file that no stratified 60/20/20 split can serve (fewer
    than 2 classes, a class too small) is refused.
    """
    path = Path(path)
    if path.parent.resolve() != Path(root).resolve():
        raise UserError(f"{path}: copy the file into {root} first")
    if not path.is_file():
        raise UserError(f"{path}: no such file")
    name = fields.pop("name", None) or path.name.split(".")[0]
    if not NAME_PATTERN.fullmatch(name):
        raise UserError(
            f"data set name {name!r}: use letters, digits, '-' and '_' (starting with a "
            "letter or digit); rename the file or give --name"
        )
    manifest = Path(root) / "manifest.csv"
    rows = read_manifest(manifest)
    old = next((r for r in rows if r["name"] == name), None)
    if old is not None and not replace:
        kind = "a vendored data set" if is_vendored(old) else "a data set added before"
        raise UserError(
            f"data set name {name!r} is taken ({kind}, file {old['file']}); "
            "give another --name, or --replace to replace its manifest row"
        )
    frame = read_frame(path)
    check_splittable(str(path), frame[CLASS_COLUMN].to_numpy(dtype=str))
    row = {c: "" for c in MANIFEST_COLUMNS} | {
        "name": name,
        "file": path.name,
        **frame_statistics(frame),
        "sha256": sha256_of(path),
        "source": USER_SOURCE,
    }
    row.update({k: v for k, v in fields.items() if v})
    kept = [r for r in rows if r["name"] != name]
    write_manifest(manifest, sorted([*kept, row], key=lambda r: r["name"]))
    return row, old
