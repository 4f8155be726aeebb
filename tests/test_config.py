"""The workflow's config checks: one line naming the key, exit status 2, for any bad value."""

import copy
import io
import math
import re
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from batch_inefficiency import cli, models
from batch_inefficiency.errors import exit_on_error
from batch_inefficiency.pipeline.config import check_workflow_config, load_schema

REPO = Path(__file__).resolve().parents[1]
SCHEMAS = REPO / "workflow" / "schemas"
SCHEMA = load_schema(SCHEMAS / "config.schema.yaml")
BASE = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
BASE["datasets"] |= {
    "root": str(REPO / "resources" / "datasets"),
    "sheet": str(REPO / "config" / "datasets.tsv"),
}


def check(config):
    """(exit status, stderr) of the workflow's config checks, as the Snakefile runs them."""
    stream = io.StringIO()
    try:
        with exit_on_error(stream):
            check_workflow_config(config, SCHEMAS)
    except SystemExit as stop:
        return stop.code, stream.getvalue()
    return 0, stream.getvalue()


def with_value(path, value):
    config = copy.deepcopy(BASE)
    *parents, last = path
    node = config
    for key in parents:
        node = node[key]
    node[last] = value
    return config


def test_committed_configs_pass():
    assert check(BASE) == (0, "")
    quick = yaml.safe_load((REPO / "config" / "quick.yaml").read_text())
    merged = copy.deepcopy(BASE)
    for key, value in quick.items():
        merged[key] = merged[key] | value if isinstance(value, dict) else value
    assert check(merged) == (0, "")


@pytest.mark.parametrize(
    ("path", "value", "line"),
    [
        (
            ("training", "model", "hidden"),
            -3,
            "config key training.model.hidden: -3 is not allowed (Hidden units, a rule name "
            "(twice_inputs) or a number >= 1)",
        ),
        (("trials",), "ten", "config key trials: 'ten' is not of type 'integer'"),
        (("trials",), 2.0, "config key trials: 2.0 is not of type 'integer'"),
        (
            ("training", "learning_rates"),
            [0.1, math.nan],
            "config key training.learning_rates[1]: nan is not a finite number",
        ),
        (
            ("training", "batch_sizes"),
            ["1", "full\n"],
            "config key training.batch_sizes[1]: 'full\\n' is not allowed (a batch size",
        ),
        (
            ("datasets", "suite"),
            "papr",
            "config key datasets.suite: unknown suite 'papr'; available: extended, generalization",
        ),
        (("datasets", "root"), "nowhere", "config key datasets.root: no manifest.csv in 'nowhere'"),
        (("training", "epochs"), [5], "training.epochs has 1 budget(s) for 4 training"),
    ],
)
def test_bad_value_is_one_line_naming_the_key(path, value, line):
    status, err = check(with_value(path, value))
    assert status == 2
    assert err.startswith(f"error: {line}") and err.count("\n") == 1


def test_unknown_and_missing_keys_are_named():
    config = with_value(("training", "engine", "devic"), "cpu")
    assert check(config)[1].startswith(
        "error: config key training.engine.devic: not a known key (known here: device, dtype,"
    )
    del config["training"]["engine"]["devic"], config["metrics"]["target_tolerance"]
    assert check(config) == (2, "error: config key metrics.target_tolerance: missing (required)\n")


def test_sheet_mistakes_name_the_line(tmp_path):
    sheet = tmp_path / "datasets.tsv"
    sheet.write_text("name\tsuites\trole\niris\tmine\tstandard\nwine\tMine,\tstandard\n")
    status, err = check(with_value(("datasets", "sheet"), str(sheet)))
    assert status == 2
    assert err.startswith(f"error: {sheet} line 3 (wine): suites: 'Mine,' is not allowed (Comma")
    for content, problem in [
        ("iris\tmine\tstandard\textra\n", "a row has more fields than the header"),
        ('"iris\tmine\tstandard\n', "cannot be read (Error tokenizing data."),
    ]:
        sheet.write_text("name\tsuites\trole\n" + content)
        status, err = check(with_value(("datasets", "sheet"), str(sheet)))
        assert (status, err.count("\n")) == (2, 1)
        assert err.startswith(f"error: {sheet}: {problem}")
        assert err.endswith("; one row per task: name<TAB>suites<TAB>role\n")


def test_cli_choices_are_the_schemas_and_the_engines():
    """The command line's choices are the config schema's enums, and the engine knows each."""
    training = SCHEMA["properties"]["training"]["properties"]
    enums = {
        **{k: v["enum"] for k, v in training["model"]["properties"].items() if "enum" in v},
        **{k: v["enum"] for k, v in training["engine"]["properties"].items()},
        "reduction": training["reduction"]["enum"],
    }
    assert {k: list(v) for k, v in cli.CHOICES.items()} == enums
    assert set(enums["activation"]) == set(models.ACTIVATIONS)
    assert set(enums["loss"]) == set(models.LOSSES)
    assert set(enums["init"]) == set(models.INITS)
    hidden = training["model"]["properties"]["hidden"]["oneOf"][0]["enum"]
    assert hidden == list(cli.HIDDEN_RULES) == list(models.HIDDEN_RULES)


# Generated bad values, each refused by the type or range its key's schema states.
def _not_int(minimum):
    return st.integers(max_value=minimum - 1) | st.floats() | st.text() | st.booleans()


def _bad_number(low=None, high=None):
    too_low = st.floats(max_value=low) if low is not None else st.nothing()
    too_high = st.floats(min_value=high) if high is not None else st.nothing()
    return too_low | too_high | st.sampled_from([math.nan, math.inf, -math.inf]) | st.text()


def _not_in(choices):
    return st.text().filter(lambda t: t not in choices) | st.integers() | st.none()


BAD = {
    ("seed",): _not_int(0) | st.none(),
    ("trials",): _not_int(1) | st.none(),
    ("quick",): st.integers() | st.text() | st.none(),
    ("results",): st.just("") | st.integers() | st.none(),
    ("datasets", "suite"): st.text().filter(lambda t: t not in ("paper", "extended", "quick")),
    ("datasets", "root"): st.text().filter(lambda t: not (Path(t) / "manifest.csv").is_file()),
    ("datasets", "nominal"): _not_in(["ordinal", "onehot"]),
    ("training", "learning_rates"): st.just([]) | st.lists(_bad_number(low=0), min_size=1),
    ("training", "epochs"): st.just([]) | st.lists(_not_int(1), min_size=1),
    ("training", "batch_sizes"): st.lists(
        st.text().filter(lambda t: not re.fullmatch(r"[1-9][0-9]*|full", t)), min_size=1
    ),
    ("training", "reduction"): _not_in(["sum", "mean"]),
    ("training", "patience"): _not_int(1),
    ("training", "divergence_factor"): _bad_number(low=1),
    ("training", "model", "hidden"): st.integers(max_value=0)
    | st.text().filter(lambda t: t != "twice_inputs")
    | st.floats()
    | st.booleans(),
    ("training", "model", "init_scale"): _bad_number(low=0),
    ("training", "engine", "device"): _not_in(["auto", "cpu", "cuda"]),
    ("metrics", "target_tolerance"): _bad_number(low=-1e-9),
    ("statistics", "alpha"): _bad_number(low=0, high=1),
    ("statistics", "bootstrap_seed"): _not_int(0),
}


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_bad_value_ends_in_one_line_naming_its_key(data):
    path = data.draw(st.sampled_from(sorted(BAD)))
    value = data.draw(BAD[path])
    status, err = check(with_value(path, value))
    assert status == 2, (path, value)
    assert err.count("\n") == 1 and err.startswith("error: ")
    assert "Traceback" not in err
    key = ".".join(path)
    assert f"config key {key}" in err or (key == "training.epochs" and key in err), err
