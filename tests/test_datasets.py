"""The vendored data sets: manifest integrity, loading, and clear errors for bad input."""

import gzip
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from batch_inefficiency.datasets import (
    add_dataset,
    load_dataset,
    read_manifest,
    sha256_of,
    verify,
)
from batch_inefficiency.errors import UserError
from batch_inefficiency.vendoring import convert_dat


def test_manifest_lists_43_tasks_and_every_file_verifies(datasets_root):
    rows = read_manifest(datasets_root / "manifest.csv")
    assert len(rows) == 43
    assert verify(datasets_root) == []


@pytest.mark.parametrize(
    "row",
    read_manifest(Path(__file__).parents[1] / "resources/datasets/manifest.csv"),
    ids=lambda r: r["name"],
)
def test_manifest_row_matches_file(row, datasets_root):
    path = datasets_root / row["file"]
    assert sha256_of(path) == row["sha256"]
    dataset = load_dataset(row["name"], datasets_root)
    assert dataset.x.shape == (int(row["instances"]), int(row["inputs"]))
    assert dataset.n_classes == int(row["classes"])
    majority = np.bincount(dataset.y).max() / len(dataset.y)
    assert majority == pytest.approx(float(row["majority_share"]), abs=1e-4)
    assert 150 <= len(dataset.y) <= 20_000
    assert np.isfinite(dataset.x).all()


def test_letter_is_the_large_task(datasets_root):
    letter = load_dataset("letter", datasets_root)
    assert letter.x.shape == (20_000, 16)
    assert letter.n_classes == 26
    assert letter.classes[:3] == ("A", "B", "C")


def test_onehot_expands_nominal_columns(datasets_root):
    ordinal = load_dataset("tic-tac-toe", datasets_root)
    onehot = load_dataset("tic-tac-toe", datasets_root, nominal="onehot")
    assert ordinal.x.shape[1] == 9
    assert onehot.x.shape[1] == 27  # 9 squares x {x, o, blank}
    assert set(np.unique(onehot.x)) == {0.0, 1.0}
    np.testing.assert_array_equal(onehot.x.sum(axis=1), 9)


def test_unknown_name_lists_available(datasets_root):
    with pytest.raises(UserError, match=r"unknown data set 'irs'.*iris"):
        load_dataset("irs", datasets_root)


@pytest.fixture
def copied_root(tmp_path, datasets_root):
    root = tmp_path / "datasets"
    root.mkdir()
    shutil.copy(datasets_root / "manifest.csv", root)
    for name in ("iris.csv.gz", "wine.csv.gz"):
        shutil.copy(datasets_root / name, root)
    return root


def test_verify_names_missing_and_altered_files(copied_root):
    problems = verify(copied_root)
    assert len(problems) == 41  # only iris and wine were copied
    assert all("missing (expected sha256 " in p for p in problems)
    iris = copied_root / "iris.csv.gz"
    iris.write_bytes(
        gzip.compress(gzip.decompress(iris.read_bytes()) + b"5.0,3.0,1.0,0.2,Iris-setosa\n")
    )
    problems = verify(copied_root)
    altered = [p for p in problems if "iris.csv.gz" in p]
    assert len(altered) == 1 and "does not match the manifest's" in altered[0]
    with pytest.raises(UserError, match=r"iris.csv.gz: sha256 .* does not match"):
        load_dataset("iris", copied_root)


def test_user_adds_a_dataset_without_code_change(copied_root):
    frame = pd.DataFrame(
        {"a": [0.0, 1.0, 2.0, 3.0, 4.0, 5.0], "b": [1, 1, 2, 2, 3, 3], "class": list("xyxyxy")}
    )
    path = copied_root / "toy.csv"
    frame.to_csv(path, index=False)
    row = add_dataset(path, copied_root, original_name="Toy")
    assert (row["name"], row["instances"], row["inputs"], row["classes"]) == ("toy", "6", "2", "2")
    toy = load_dataset("toy", copied_root)
    assert toy.x.shape == (6, 2) and toy.classes == ("x", "y")
    assert not any("toy" in p for p in verify(copied_root))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("a,b,label\n1,2,x\n3,4,y\n", "no column named 'class'"),
        ("a,b,class\n1,two,x\n3,4,y\n", "input column 'b' is not numeric"),
        ("a,b,class\n1,,x\n3,4,y\n", "column 'b' has missing values"),
    ],
)
def test_bad_csv_names_file_and_column(copied_root, content, message):
    path = copied_root / "bad.csv"
    path.write_text(content)
    with pytest.raises(UserError, match=f"bad.csv: {message}"):
        add_dataset(path, copied_root)


def test_convert_dat_codes_nominal_columns_deterministically():
    text = "1.5, red, 3, yes\n2.0, blue, 4, no\n2.5, red, 5, yes\n"
    first, nominal = convert_dat(text)
    second, _ = convert_dat(text)
    assert first == second  # byte-for-byte: gzip without name or timestamp
    assert nominal == ["x2"]
    assert (
        gzip.decompress(first).decode() == "x1,x2,x3,class\n1.5,1,3,yes\n2.0,0,4,no\n2.5,1,5,yes\n"
    )
