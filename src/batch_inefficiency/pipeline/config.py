"""Checking the workflow's configuration and datasets sheet: one line naming the key.

The JSON schemas in ``workflow/schemas/`` say what is allowed; :func:`check_config` reports
the first violation as ``config key training.model.hidden: ...`` (a
:class:`~batch_inefficiency.errors.UserError`), and adds what a schema cannot say: numbers
are finite, the data set folder and sheet exist and the results folder can be made.
:func:`check_batch_sizes_fit` adds what needs a task's size: every batch size trained
fits the task's training split.
"""

from __future__ import annotations

import math
import reprlib
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from jsonschema import validators
from jsonschema.exceptions import ValidationError
from jsonschema.validators import validator_for

from batch_inefficiency import batch_sizes
from batch_inefficiency.errors import UserError
from batch_inefficiency.files import check_creatable_folder

_SHORT = reprlib.Repr()  # values in messages, shortened
_SHORT.maxstring = _SHORT.maxother = 60


def load_schema(path: str | Path) -> dict[str, Any]:
    """A JSON schema written as YAML."""
    return yaml.safe_load(Path(path).read_text())


def key_name(path: Sequence[str | int]) -> str:
    """``training.epochs[1]`` for the path ``('training', 'epochs', 1)``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else str(part)
    return text or "(top level)"


def schema_problem(instance: Any, schema: Mapping[str, Any]) -> str | None:
    """``<key>: <what is wrong>`` for the first violation of ``schema``, or None."""
    base = validator_for(schema)
    # YAML's 2.0 is a float; JSON Schema would take it as an integer, Python would not.
    strict = base.TYPE_CHECKER.redefine("integer", lambda _, value: _is_int(value))
    validator = validators.extend(base, type_checker=strict)(schema)
    errors = list(validator.iter_errors(instance))
    if not errors:
        return None
    error = min(errors, key=lambda e: [str(p) for p in e.absolute_path])
    return _describe(error)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _describe(error: ValidationError) -> str:
    where = list(error.absolute_path)
    if error.validator == "additionalProperties":
        known = sorted(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - set(known))[0]
        return f"{key_name([*where, extra])}: not a known key (known here: {', '.join(known)})"
    if error.validator == "required":
        missing = next(k for k in error.validator_value if k not in error.instance)
        return f"{key_name([*where, missing])}: missing (required)"
    # a text of a given form: its description says it (a batch size 1 for "1": quote it)
    textual = error.validator == "type" and "pattern" in error.schema
    if (textual or error.validator in ("oneOf", "anyOf", "pattern")) and "description" in (
        error.schema
    ):
        allowed = error.schema["description"].rstrip(".")
        return f"{key_name(where)}: {_SHORT.repr(error.instance)} is not allowed ({allowed})"
    message = error.message if len(error.message) <= 200 else error.message[:197] + "..."
    return f"{key_name(where)}: {message}"


def non_finite(instance: Any, path: tuple[str | int, ...] = ()) -> Iterator[str]:
    """``<key>: nan is not a finite number`` for every NaN or infinity in ``instance``."""
    if isinstance(instance, float) and not math.isfinite(instance):
        yield f"{key_name(path)}: {instance} is not a finite number"
    elif isinstance(instance, Mapping):
        for key, value in instance.items():
            yield from non_finite(value, (*path, str(key)))
    elif isinstance(instance, list | tuple):
        for index, value in enumerate(instance):
            yield from non_finite(value, (*path, index))


def check_config(config: Mapping[str, Any], schema_path: str | Path) -> None:
    """Raise a UserError naming the first bad key of ``config`` (module docstring)."""
    problem = schema_problem(dict(config), load_schema(schema_path))
    problem = problem or next(non_finite(dict(config)), None)
    if problem:
        raise UserError(f"config key {problem}")
    check_creatable_folder(config["results"], "config key results")
    datasets = config["datasets"]
    if not (Path(datasets["root"]) / "manifest.csv").is_file():
        raise UserError(f"config key datasets.root: no manifest.csv in {datasets['root']!r}")
    if not Path(datasets["sheet"]).is_file():
        raise UserError(f"config key datasets.sheet: no such file {datasets['sheet']!r}")


def check_sheet(sheet: pd.DataFrame, schema_path: str | Path, sheet_path: str | Path) -> None:
    """Raise a UserError naming the row and column of the sheet's first bad value."""
    schema = load_schema(schema_path)
    for number, row in enumerate(sheet.to_dict("records"), start=2):
        if problem := schema_problem(row, schema):
            raise UserError(f"{sheet_path} line {number} ({row.get('name', '?')}): {problem}")


def check_workflow_config(
    config: Mapping[str, Any], schemas: str | Path
) -> tuple[pd.DataFrame, list[str], list[str]]:
    """Every check the workflow makes before it plans a job: (sheet, tasks, large tasks).

    ``schemas`` is the folder of ``config.schema.yaml`` and ``datasets.schema.yaml``.
    Raises a UserError naming the key (or the sheet's line) of the first mistake.
    """
    from batch_inefficiency.data.suites import large_tasks, read_sheet, suite_tasks
    from batch_inefficiency.studies.replication.runs import (
        check_training,  # imports the engine (torch)
    )

    check_config(config, Path(schemas) / "config.schema.yaml")
    check_training(config["training"])
    datasets = config["datasets"]
    sheet = read_sheet(Path(datasets["sheet"]), Path(datasets["root"]))
    check_sheet(sheet, Path(schemas) / "datasets.schema.yaml", datasets["sheet"])
    return sheet, suite_tasks(sheet, datasets["suite"]), large_tasks(sheet, datasets["suite"])


def train_split_size(task: str, root: str | Path) -> int:
    """Rows of a task's training split, exactly: its classes cut as the stratified split cuts."""
    import numpy as np

    from batch_inefficiency.data.datasets import load_dataset
    from batch_inefficiency.data.splits import class_split_sizes

    counts = np.bincount(load_dataset(task, Path(root)).y)
    return sum(class_split_sizes(int(n))[0] for n in counts)


def check_batch_sizes_fit(
    training: Mapping[str, Any],
    tasks: Sequence[str],
    large: Sequence[str],
    n_train_bound: Mapping[str, int],
    root: str | Path,
) -> None:
    """Refuse a batch size of ``training.batch_sizes`` (``large_task_batch_sizes`` on the
    large tasks) above a task's training split, naming the key and the task.

    ``n_train_bound`` is a lower bound of each split's size (from the manifest); only a
    task with a batch size above it has its data read for the exact size.
    """
    for task in tasks:
        key = "large_task_batch_sizes" if task in large else "batch_sizes"
        numbers = [int(b) for b in training[key] if b != batch_sizes.FULL]
        if max(numbers, default=0) <= n_train_bound[task]:
            continue
        n_train = train_split_size(task, root)
        for size in training[key]:
            try:
                batch_sizes.rows(size, n_train)
            except batch_sizes.BatchSizeError as error:
                role = " (role large in the datasets sheet)" if task in large else ""
                raise UserError(f"config key training.{key} on {task}{role}: {error}") from None
