"""The vendored data sets: manifest integrity, loading, and clear errors for bad input."""

import gzip
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from batch_inefficiency.data.datasets import (
    load_dataset,
    read_manifest,
    sha256_of,
    verify,
)
from batch_inefficiency.data.user_datasets import add_dataset
from batch_inefficiency.data.vendoring import convert_dat
from batch_inefficiency.errors import UserError


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


TOY = pd.DataFrame({"a": np.arange(8.0), "b": [1, 1, 2, 2, 3, 3, 4, 4], "class": list("xyxyxyxy")})


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz"])
def test_user_adds_a_dataset_without_code_change(copied_root, suffix):
    path = copied_root / f"toy{suffix}"
    TOY[["class", "a", "b"]].to_csv(path, index=False)  # the class first: any order works
    row, replaced = add_dataset(path, copied_root, original_name="Toy")
    assert replaced is None
    assert (row["name"], row["file"], row["instances"], row["inputs"], row["classes"]) == (
        "toy",
        path.name,
        "8",
        "2",
        "2",
    )
    toy = load_dataset("toy", copied_root)
    assert toy.x.shape == (8, 2) and toy.classes == ("x", "y") and toy.columns == ("a", "b")
    assert not any("toy" in p for p in verify(copied_root))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "the file is empty"),
        ("a,class\n", "needs at least one input column and two rows"),
        ('a,class\n"1,x\n', "cannot be read as CSV"),
        ("a,class\n1,x\n2,x\n3,x\n", r"one class \('x'\); a classification task needs at least 2"),
        (
            "a,class\n" + "".join(f"{i},{c}\n" for i, c in enumerate("xxxxyyy")),
            r"class 'y' has 3 instance\(s\), which the stratified 60/20/20 split cuts into "
            r"2 train, 1 hold-out and 0 test; every class needs at least 4",
        ),
        ("a,class\n1,x\ninf,y\n", "an input is infinite"),
    ],
    ids=["empty", "header-only", "unparsable", "one-class", "small-class", "infinite"],
)
def test_add_refuses_files_no_split_can_serve(copied_root, content, message):
    path = copied_root / "bad.csv"
    path.write_text(content)
    before = (copied_root / "manifest.csv").read_bytes()
    with pytest.raises(UserError, match=f"bad.csv: {message}"):
        add_dataset(path, copied_root)
    assert (copied_root / "manifest.csv").read_bytes() == before


def test_add_refuses_damaged_gzip(copied_root):
    path = copied_root / "bad.csv.gz"
    path.write_bytes(gzip.compress(TOY.to_csv(index=False).encode())[:-9])
    with pytest.raises(UserError, match=r"bad.csv.gz: cannot be read as CSV \("):
        add_dataset(path, copied_root)


def test_add_never_replaces_a_taken_name_silently(copied_root):
    manifest = copied_root / "manifest.csv"
    vendored = {r["name"]: r for r in read_manifest(manifest)}["wine"]
    path = copied_root / "wine.csv"
    TOY.to_csv(path, index=False)
    with pytest.raises(
        UserError, match=r"'wine' is taken \(a vendored data set, file wine.csv.gz\)"
    ):
        add_dataset(path, copied_root)
    assert {r["name"]: r for r in read_manifest(manifest)}["wine"] == vendored
    row, replaced = add_dataset(path, copied_root, replace=True)
    assert replaced == vendored and row["file"] == "wine.csv"
    assert {r["name"]: r for r in read_manifest(manifest)}["wine"] == row
    with pytest.raises(
        UserError, match=r"'wine' is taken \(a data set added before, file wine.csv\)"
    ):
        add_dataset(path, copied_root)


@pytest.mark.parametrize("name", ["my data", "a.b", "-x", "ü"])
def test_add_refuses_names_a_workflow_path_cannot_hold(copied_root, name):
    path = copied_root / "toy.csv"
    TOY.to_csv(path, index=False)
    with pytest.raises(UserError, match=f"data set name {name!r}: use letters, digits"):
        add_dataset(path, copied_root, name=name)


def test_altered_file_says_how_to_restore_it(copied_root):
    (copied_root / "wine.csv.gz").write_bytes(b"x")
    with pytest.raises(UserError, match=r"does not match .*; restore it: git checkout -- "):
        load_dataset("wine", copied_root)
    path = copied_root / "toy.csv"
    TOY.to_csv(path, index=False)
    add_dataset(path, copied_root)
    path.write_text("changed")
    with pytest.raises(UserError, match=r"on purpose: python -m batch_inefficiency datasets add "):
        load_dataset("toy", copied_root)


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


def test_damaged_manifest_is_one_line_saying_how_to_restore_it(copied_root):
    manifest = copied_root / "manifest.csv"
    manifest.write_text(manifest.read_text().splitlines()[0] + '\n"unclosed,quote\n')
    with pytest.raises(UserError, match=r"manifest.csv: cannot be read \(.*\); restore it: git"):
        read_manifest(manifest)


CSV_LIKE = st.lists(
    st.lists(st.sampled_from(["1", "0.5", "-2", "x", "", "class", "inf", '"', "a,b"]), max_size=5),
    max_size=12,
).map(lambda rows: "\n".join(",".join(row) for row in rows))


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(content=st.binary(max_size=300) | CSV_LIKE.map(str.encode), compress=st.booleans())
def test_any_file_is_added_or_refused_in_one_line(copied_root, content, compress):
    """Whatever bytes `datasets add` is given: a manifest row that loads, or a UserError."""
    path = copied_root / ("any.csv.gz" if compress else "any.csv")
    path.write_bytes(gzip.compress(content) if compress else content)
    try:
        row, _ = add_dataset(path, copied_root, replace=True)
    except UserError as err:
        assert "\n" not in str(err) and str(err)
    else:
        dataset = load_dataset(row["name"], copied_root)
        assert dataset.n_classes >= 2 and np.isfinite(dataset.x).all()
    finally:
        path.unlink()
