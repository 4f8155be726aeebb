"""A new user's sweep of bad inputs and faults: each ends non-zero in one line naming it.

Config keys, the datasets sheet, CSVs for ``datasets add``, the command line, damaged
result files of every stage and a full disk; most cases call the checks and the stages'
functions directly, the workflow's own start-of-run checks run in one dry-run loop.
"""

import contextlib
import copy
import gzip
import io
import json
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from test_cli import run_cli
from test_config import BASE, check, with_value
from test_workflow import SCALING, SIZE_SWEEP, TRAINING, snakemake, tiny_config

from batch_inefficiency import cli
from batch_inefficiency.data.splits import save_trial_data, write_splits
from batch_inefficiency.errors import exit_on_error
from batch_inefficiency.pipeline import jobs
from batch_inefficiency.pipeline.config import check_batch_sizes_fit
from batch_inefficiency.studies.rate_search import search_task
from batch_inefficiency.studies.replication.metrics import summarise_task_files
from batch_inefficiency.studies.replication.runs import train_task
from batch_inefficiency.studies.replication.statistics import write_statistics
from batch_inefficiency.studies.replication.tables import write_tables
from batch_inefficiency.studies.scaling.config import check_scaling
from batch_inefficiency.studies.scaling.noise_scale import noise_scale_task
from batch_inefficiency.studies.scaling.step_cost import step_cost_task
from batch_inefficiency.studies.scaling.tables import write_scaling_tables
from batch_inefficiency.studies.size_sweep.config import check_size_sweep
from batch_inefficiency.studies.size_sweep.runs import write_method, write_target
from batch_inefficiency.studies.size_sweep.tables import write_size_sweep_tables

REPO = Path(__file__).resolve().parents[1]


def assert_one_line(status, text, expected, fault=False):
    """Status 2 (1: a fault), no traceback, one last line ``error: ...`` holding ``expected``."""
    assert status == (1 if fault else 2), text
    assert "Traceback" not in text
    (line,) = [line for line in text.splitlines() if line.startswith("error: ")]
    assert expected in line, line
    assert text.endswith(f"{line}\n"), text  # before it at most progress (a run's)


def without(path):
    """BASE less the key at ``path``."""
    config = copy.deepcopy(BASE)
    *parents, last = path
    node = config
    for key in parents:
        node = node[key]
    del node[last]
    return config


# ---- config: what the schema and the checks of the config alone refuse ----

CONFIG_CASES = {
    "unknown key": (BASE | {"epoch": 5}, "config key epoch: not a known key (known here:"),
    "typo of a nested key": (
        with_value(("training", "learning_rate"), [0.1]),
        "config key training.learning_rate: not a known key",
    ),
    "missing key": (without(("training", "reduction")), "training.reduction: missing (required)"),
    "trials as text": (with_value(("trials",), "ten"), "trials: 'ten' is not of type 'integer'"),
    "negative seed": (with_value(("seed",), -1), "config key seed: -1 is less than the minimum"),
    "zero rate": (
        with_value(("training", "learning_rates"), [0.1, 0]),
        "config key training.learning_rates[1]: 0 is less than or equal to the minimum of 0",
    ),
    "infinite rate": (
        with_value(("training", "learning_rates"), [0.1, float("inf")]),
        "config key training.learning_rates[1]: inf is not a finite number",
    ),
    "zero epochs": (
        with_value(("training", "epochs"), [1000, 0, 5000, 10000]),
        "config key training.epochs[1]: 0 is less than the minimum of 1",
    ),
    "budgets and rates differ": (
        with_value(("training", "epochs"), [1000, 1000]),
        "training.epochs has 2 budget(s) for 4 training.learning_rates",
    ),
    "batch size unquoted": (
        with_value(("training", "batch_sizes"), [1, "full"]),
        "config key training.batch_sizes[0]: 1 is not allowed (a batch size",
    ),
    "batch size zero": (
        with_value(("training", "batch_sizes"), ["0", "full"]),
        "config key training.batch_sizes[0]: '0' is not allowed (a batch size",
    ),
    "unknown device": (
        with_value(("training", "engine", "device"), "gpu"),
        "config key training.engine.device: 'gpu' is not one of ['auto', 'cpu', 'cuda']",
    ),
    "unknown encoding": (
        with_value(("datasets", "nominal"), "one-hot"),
        "config key datasets.nominal: 'one-hot' is not one of ['ordinal', 'onehot']",
    ),
    "alpha above 1": (
        with_value(("statistics", "alpha"), 1.5),
        "config key statistics.alpha: 1.5 is",
    ),
    "target above 1": (
        with_value(("scaling", "targets"), {"letter": 1.5}),
        "config key scaling.targets.letter: 1.5 is greater than the maximum of 1",
    ),
    "one sweep size": (
        with_value(("size_sweep", "sizes"), [250]),
        "config key size_sweep.sizes: [250] is too short",
    ),
    "no such sheet": (
        with_value(("datasets", "sheet"), "config/datasets.csv"),
        "config key datasets.sheet: no such file 'config/datasets.csv'",
    ),
    "no such data folder": (
        with_value(("datasets", "root"), "data"),
        "config key datasets.root: no manifest.csv in 'data'",
    ),
    "results is a file": (
        with_value(("results",), str(REPO / "README.md")),
        f"config key results '{REPO / 'README.md'}': is a file, not a folder; choose a folder",
    ),
    "results under a file": (
        with_value(("results",), str(REPO / "README.md" / "results")),
        f"config key results '{REPO / 'README.md' / 'results'}': lies under a file, "
        f"{REPO / 'README.md'}, not a folder",
    ),
}


@pytest.mark.parametrize(("config", "expected"), CONFIG_CASES.values(), ids=CONFIG_CASES)
def test_bad_config_is_one_line_naming_the_key(config, expected):
    assert_one_line(*check(config), expected)


# ---- config values only a task can refuse: its training split, its best accuracy ----

N_TRAIN = {"iris": 87, "wine": 104}  # the lower bounds common.smk computes (split 90, 107)
TASK_CASES = {
    "batch size above the split": (
        lambda: check_batch_sizes_fit(
            TRAINING | {"batch_sizes": ["1", "95", "full"]},
            ["iris"],
            [],
            N_TRAIN,
            "resources/datasets",
        ),
        "config key training.batch_sizes on iris: batch size 95 is larger than the training "
        "split (90 instances); use 'full' for the whole split",
    ),
    "large-task batch size above the split": (
        lambda: check_batch_sizes_fit(
            TRAINING | {"large_task_batch_sizes": ["1", "200", "full"]},
            ["iris", "wine"],
            ["wine"],
            N_TRAIN,
            "resources/datasets",
        ),
        "config key training.large_task_batch_sizes on wine (role large in the datasets sheet): "
        "batch size 200 is larger than the training split (107 instances)",
    ),
    "a small task marked large in the sheet": (
        lambda: check_batch_sizes_fit(
            TRAINING | {"large_task_batch_sizes": ["1", "100", "full"]},
            ["iris"],
            ["iris"],
            N_TRAIN,
            "resources/datasets",
        ),
        "config key training.large_task_batch_sizes on iris (role large in the datasets sheet): "
        "batch size 100 is larger than the training split (90 instances)",
    ),
    "scaling batch size above the split": (
        lambda: check_scaling(SCALING | {"batch_sizes": ["1", "500"]}, ["iris"], 2, N_TRAIN),
        "scaling.batch_sizes on iris: batch size 500 is larger than the training split",
    ),
    "scaling target missing": (
        lambda: check_scaling(SCALING | {"targets": {"wine": 0.6}}, ["iris"], 2, N_TRAIN),
        "scaling.targets.iris is missing: give a hold-out accuracy to reach on iris",
    ),
    "scaling target above the best seen": (
        lambda: check_scaling(SCALING | {"targets": {"letter": 0.9}}, ["letter"], 2, {"letter": 1}),
        "scaling.targets.letter = 0.9 is above the best hold-out accuracy seen on letter (0.8445",
    ),
    "sweep size above the split": (
        lambda: check_size_sweep(SIZE_SWEEP | {"sizes": [30, 500]}, SCALING, ["iris"], 2, N_TRAIN),
        "size_sweep.sizes: 500 is larger than the training split of iris (about 87 rows)",
    ),
    "sweep target above the best seen": (
        lambda: check_size_sweep(
            SIZE_SWEEP | {"targets": {"letter": 0.95}, "sizes": [250, 500]},
            SCALING,
            ["letter"],
            2,
            {"letter": 11999},
        ),
        "size_sweep.targets.letter = 0.95 is above the best hold-out accuracy seen on letter",
    ),
    "sweep trials above the prepared": (
        lambda: check_size_sweep(SIZE_SWEEP | {"trials": 5}, SCALING, ["iris"], 2, N_TRAIN),
        "size_sweep.trials = 5 but trials = 2 are prepared",
    ),
}


@pytest.mark.parametrize(("call", "expected"), TASK_CASES.values(), ids=TASK_CASES)
def test_config_impossible_for_a_task_is_one_line_naming_key_and_task(call, expected):
    err = io.StringIO()
    with pytest.raises(SystemExit) as stop, exit_on_error(err):
        call()
    assert_one_line(stop.value.code, err.getvalue(), expected)


def test_the_workflow_refuses_them_before_any_job(repo, tmp_path):
    """common.smk runs the checks at the start of every command (a dry run here)."""
    cases = [
        (
            {"training": TRAINING | {"batch_sizes": ["1", "500", "full"]}},
            "error: config key training.batch_sizes on iris: batch size 500 is larger than the "
            "training split (90 instances); use 'full' for the whole split",
        ),
        (
            {"results": str(repo / "README.md")},
            f"error: config key results '{repo / 'README.md'}': is a file, not a folder",
        ),
    ]
    for number, (overrides, expected) in enumerate(cases):
        config = tiny_config(tmp_path, results=f"r{number}")
        config.write_text(yaml.safe_dump(yaml.safe_load(config.read_text()) | overrides))
        result = snakemake("-n", "--configfile", str(config), cwd=repo)
        output = result.stdout + result.stderr
        assert result.returncode == 2 and "Traceback" not in output, output
        errors = [line for line in output.splitlines() if "error" in line.lower()]
        assert len(errors) == 1 and errors[0].startswith(expected), output


# ---- the datasets sheet ----

SHEET_CASES = {
    "unknown data set": ("name\tsuites\trole\nirsi\tpaper\tstandard\n", "'irsi' is not in"),
    "no role column": ("name\tsuites\niris\tpaper\n", "missing column(s) role"),
    "unknown role": ("name\tsuites\trole\niris\tpaper\tbig\n", "role 'big' of 'iris' is not one"),
    "task twice": (
        "name\tsuites\trole\niris\tpaper\tstandard\niris\textended\tstandard\n",
        "duplicate name 'iris'",
    ),
    "suite in capitals": (
        "name\tsuites\trole\niris\tPaper\tstandard\n",
        "line 2 (iris): suites: 'Paper' is not allowed (Comma-separated suites",
    ),
    "commas, not tabs": (
        "name,suites,role\niris,paper,standard\n",
        "missing column(s) name, role, suites",
    ),
    "empty sheet": ("", "cannot be read (No columns to parse from file)"),
}


@pytest.mark.parametrize(("content", "expected"), SHEET_CASES.values(), ids=SHEET_CASES)
def test_bad_sheet_is_one_line_naming_it(tmp_path, content, expected):
    sheet = tmp_path / "datasets.tsv"
    sheet.write_text(content)
    assert_one_line(*check(with_value(("datasets", "sheet"), str(sheet))), f"{sheet}")
    assert expected in check(with_value(("datasets", "sheet"), str(sheet)))[1]


# ---- CSVs for `datasets add` ----

ROWS = "".join(f"{i},{i % 3},{'abc'[i % 3]}\n" for i in range(12))
CSV_CASES = {
    "two columns of one name": ("a,a,class\n" + ROWS, "duplicate column name(s) 'a'; give every"),
    "two class columns": ("a,class,class\n" + ROWS, "duplicate column name(s) 'class'"),
    "no class column": ("a,b,label\n" + ROWS, "no column named 'class'"),
    "text input": (
        "a,b,class\n" + ROWS.replace("4,1", "four,1"),
        "input column 'a' is not numeric",
    ),
    "missing value": ("a,b,class\n" + ROWS.replace("4,1", ",1"), "column 'a' has missing values"),
    "infinite input": ("a,b,class\n" + ROWS.replace("4,1", "inf,1"), "an input is infinite"),
    "one class": ("a,class\n" + "".join(f"{i},x\n" for i in range(9)), "one class ('x')"),
    "class too small": ("a,b,class\n" + ROWS + "12,0,d\n", "class 'd' has 1 instance(s)"),
    "extra field in a row": (
        "a,b,class\n0,0,a,9\n" + ROWS,
        "a row has more fields than the header",
    ),
    "header only": ("a,b,class\n", "needs at least one input column and two rows"),
    "empty file": ("", "the file is empty"),
}


@pytest.fixture
def user_root(tmp_path, datasets_root):
    """A data set folder with the committed manifest and no data files (add reads only its own)."""
    root = tmp_path / "datasets"
    root.mkdir()
    (root / "manifest.csv").write_bytes((datasets_root / "manifest.csv").read_bytes())
    return root


def cli_output(argv):
    """(exit status, stdout + stderr) of the command line, run in this process."""
    out = io.StringIO()
    with contextlib.redirect_stderr(out), contextlib.redirect_stdout(out):
        try:
            status = cli.main(argv)
        except SystemExit as stop:
            status = stop.code
    return status, out.getvalue()


@pytest.mark.parametrize(("content", "expected"), CSV_CASES.values(), ids=CSV_CASES)
def test_bad_csv_for_datasets_add_is_one_line_naming_it(user_root, content, expected):
    path = user_root / "mine.csv"
    path.write_text(content)
    before = (user_root / "manifest.csv").read_bytes()
    status, text = cli_output(["datasets", "add", str(path), "--root", str(user_root)])
    assert_one_line(status, text, f"error: {path}: {expected}")
    assert (user_root / "manifest.csv").read_bytes() == before


def test_gzip_that_is_not_is_one_line(user_root):
    path = user_root / "mine.csv.gz"
    path.write_bytes(b"a,class\n1,x\n")
    status, text = cli_output(["datasets", "add", str(path), "--root", str(user_root)])
    assert_one_line(status, text, f"{path}: cannot be read as CSV (Not a gzipped file")


# ---- the command line ----

RUN = ["run", "--dataset", "iris", "--lr", "0.1", "--epochs", "3"]
CLI_CASES = {
    "no command": ([], "the following arguments are required: command"),
    "misspelt command": (["trian"], "argument command: invalid choice: 'trian'"),
    "run without its arguments": (["run", "--dataset", "iris"], "required: --batch-size, --lr"),
    "batch size zero": ([*RUN, "--batch-size", "0", "--out", "o"], "argument --batch-size:"),
    "batch size above the split": (
        [*RUN, "--batch-size", "1000", "--out", "{tmp}/run"],
        "batch size 1000 is larger than the training split (90 instances)",
    ),
    "unknown data set": (
        ["run", "--dataset", "irsi", *RUN[3:], "--batch-size", "1", "--out", "{tmp}/run"],
        "unknown data set 'irsi'; available:",
    ),
    "epochs as text": ([*RUN, "--batch-size", "1", "--epochs", "ten", "--out", "o"], "--epochs"),
    "out is a file": (
        [*RUN, "--batch-size", "1", "--out", "{tmp}/file/run"],
        "--out {tmp}/file/run: cannot write there (not a directory)",
    ),
    "no manifest": (["datasets", "verify", "--root", "{tmp}"], "manifest not found: {tmp}"),
    "add outside the folder": (
        ["datasets", "add", "{tmp}/file", "--root", "resources/datasets"],
        "{tmp}/file: copy the file into resources/datasets first",
    ),
    "unknown option": (["datasets", "list", "--rot", "x"], "unrecognized arguments: --rot x"),
}


@pytest.mark.parametrize(("argv", "expected"), CLI_CASES.values(), ids=CLI_CASES)
def test_bad_command_line_is_one_line_naming_it(repo, tmp_path, argv, expected):
    (tmp_path / "file").write_text("a file")
    argv = [arg.replace("{tmp}", str(tmp_path)) for arg in argv]
    status, text = cli_output(argv)
    assert_one_line(status, text, expected.replace("{tmp}", str(tmp_path)))


def test_the_installed_command_line_refuses_in_one_line(repo):
    """The same through ``python -m batch_inefficiency``, as a user types it."""
    result = run_cli("run", "--dataset", "iris", "--batch-size", "full", "--lr", "-1", cwd=repo)
    assert_one_line(result.returncode, result.stdout + result.stderr, "argument --lr: must be")


# ---- damaged result files, in each stage's job frame ----


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A good split and replicas table, and damaged files of each kind the stages read."""
    from conftest import synthetic_data

    folder = tmp_path_factory.mktemp("damaged")
    paths = SimpleNamespace(**{k: folder / v for k, v in NAMES.items()})
    save_trial_data(paths.split, synthetic_data())
    paths.npz.write_bytes(paths.split.read_bytes()[:300])
    lines = b"".join(b"1,%d,0,0.1,%d,0.5\n" % (i % 7, i) for i in range(400))
    paths.curves.write_bytes(
        gzip.compress(b"batch_size,replica,trial,lr,epoch,hold\n" + lines)[:60]
    )
    paths.json.write_text(json.dumps({"target": 0.6, "trials": [1, 2, 3]})[:15])
    paths.csv.write_text("")
    paths.replicas.write_text(
        "batch_size,replica,lr,trial,budget,status,epochs_run\n1,0,0.1,0,3,complete,3\n"
    )
    return paths


NAMES = {
    "split": "good.npz",
    "npz": "damaged.npz",
    "curves": "curves.csv.gz",
    "json": "damaged.json",
    "csv": "damaged.csv",
    "replicas": "replicas.csv",
}
METRICS = yaml.safe_load((REPO / "config" / "config.yaml").read_text())["metrics"]
STATISTICS = yaml.safe_load((REPO / "config" / "config.yaml").read_text())["statistics"]
# stage -> (call on the files, its inputs, the damaged one); each stage reads it first.
STAGES = {
    "train": (lambda f, out: train_task(f.npz, out, "iris", "1", TRAINING, 5, 1), "npz"),
    "summarise_task": (
        lambda f, out: summarise_task_files(
            [f.curves],
            [f.replicas],
            f.split,
            METRICS | {"alternative_tolerances": []},
            out / "r.csv",
            out / "t.csv",
        ),
        "curves",
    ),
    "make_tables": (
        lambda f, out: write_tables(["iris"], [f.csv], [f.csv], [f.split], None, {}, 0.95),
        "csv",
    ),
    "run_statistics": (
        lambda f, out: write_statistics(["iris"], f.csv, [], [], None, STATISTICS, 0.01, {}),
        "csv",
    ),
    "search_rates": (
        lambda f, out: search_task(f.npz, out / "1", "iris", "1", TRAINING, SCALING, 5, 1),
        "npz",
    ),
    "noise_scale": (
        lambda f, out: noise_scale_task(
            f.split, f.npz, f.replicas, f.replicas, out / "n.csv", "iris", TRAINING["model"], 2, 5
        ),
        "npz",
    ),
    "step_cost": (
        lambda f, out: step_cost_task(f.npz, out / "c.csv", "iris", ["1"], TRAINING, 1, 0.01),
        "npz",
    ),
    "scaling_tables": (lambda f, out: write_scaling_tables([f.json], [], [], {}), "json"),
    "size_sweep_target": (
        lambda f, out: write_target(
            f.npz, out / "t.json", "iris", TRAINING, SIZE_SWEEP, SCALING, 5, 1
        ),
        "npz",
    ),
    "size_sweep_runs": (
        lambda f, out: write_method(
            f.split, f.json, {}, "iris", "1", TRAINING, SIZE_SWEEP, SCALING, 5, 1
        ),
        "json",
    ),
    "size_sweep_tables": (
        lambda f, out: write_size_sweep_tables([f.json], [f.json], "8", {}),
        "json",
    ),
}


@pytest.mark.parametrize(("call", "damaged"), STAGES.values(), ids=STAGES)
def test_damaged_input_of_every_stage_ends_the_job_in_one_line(files, tmp_path, call, damaged):
    path = getattr(files, damaged)
    inputs = [[files.split], [path], [files.replicas]]  # as Snakemake nests them
    with pytest.raises(Exception) as raised:  # whatever the reader raises
        call(files, tmp_path)
    text = jobs.failure_text(raised.value, SimpleNamespace(input=inputs, output=["out"]))
    assert_one_line(1, text, f"error: {path} is damaged or incomplete (", fault=True)
    assert text.endswith(f"`snakemake --forcerun {path}` (plus the --configfile you ran with)\n")


def test_damaged_data_set_is_one_line_with_how_to_restore_it(user_root, datasets_root, tmp_path):
    """prepare_split's input: a vendored data set file that changed."""
    (user_root / "iris.csv.gz").write_bytes((datasets_root / "iris.csv.gz").read_bytes()[:100])
    with pytest.raises(Exception) as raised:
        write_splits("iris", user_root, 2, 5, "ordinal", tmp_path / "iris.npz")
    text = jobs.failure_text(raised.value, SimpleNamespace(input=[], output=["iris.npz"]))
    assert_one_line(2, text, "iris.csv.gz: sha256 ")
    assert "restore it: git checkout --" in text and not (tmp_path / "iris.npz").exists()


def test_rate_search_job_on_a_truncated_split_logs_one_line(repo, tmp_path):
    """A real search_rates job of the workflow (start_job, then the search)."""
    config = tiny_config(tmp_path)
    split = tmp_path / "results" / "splits" / "iris.npz"
    split.parent.mkdir(parents=True)
    write_splits("iris", repo / "resources" / "datasets", 2, 5, "ordinal", split)
    split.write_bytes(split.read_bytes()[:500])
    target = tmp_path / "results" / "scaling" / "iris" / "1" / "search.json"
    result = snakemake(str(target), "--configfile", str(config), cwd=repo)
    output = result.stdout + result.stderr
    assert result.returncode != 0 and "Traceback" not in output
    assert f"error: {split} is damaged or incomplete (" in output
    assert "Error in rule search_rates:" in output and not target.exists()


# ---- a full disk ----


def test_full_disk_under_a_run_is_one_line_with_status_1(small_disk, repo):
    # the torch path: a fused kernel not yet cached costs 40-80 s to compile, and the disk
    # fills the same under either path
    run = [*RUN, "--batch-size", "full", "--path", "torch", "--out", str(small_disk / "run")]
    status, text = cli_output([*run, "--trial", "0", "1"])
    assert_one_line(
        status, text, f"{small_disk / 'run'}: no space left on device; free space", fault=True
    )
    assert not any(p.is_file() for p in small_disk.rglob("*"))


def test_full_disk_under_datasets_add_leaves_the_manifest_whole(small_disk, datasets_root):
    manifest = small_disk / "manifest.csv"
    manifest.write_text("".join((datasets_root / "manifest.csv").read_text().splitlines(True)[:2]))
    toy = small_disk / "toy.csv"
    toy.write_text("a,class\n" + "".join(f"{i},{'xy'[i % 2]}\n" for i in range(8)))
    before = manifest.read_bytes()
    with contextlib.suppress(OSError), open(small_disk / "filler", "wb") as fill:
        fill.write(b"\0" * (1 << 16))  # fills the disk
    status, text = cli_output(["datasets", "add", str(toy), "--root", str(small_disk)])
    assert_one_line(status, text, f"{manifest}: no space left on device", fault=True)
    assert manifest.read_bytes() == before
