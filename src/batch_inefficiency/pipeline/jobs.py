"""The frame of every workflow script: stderr to the job's log, one line for what is not a bug.

After :func:`start_job` a script's stderr (progress bars, notes) goes to the job's log.
When the job then fails on a user mistake (:class:`~batch_inefficiency.errors.UserError`,
e.g. ``device: cuda`` where there is none), on a fault of the machine (a full disk) or on
a damaged input file (one that no longer reads, looked for after the failure), the log
gets one line ``error: ...`` and no traceback; Snakemake shows that log
(``show-failed-logs`` in the profiles). A bug writes its traceback there as before.
Where the log cannot be written (the disk is full), the text goes to the job's own stderr.
"""

from __future__ import annotations

import sys
import traceback
from contextlib import suppress
from types import TracebackType
from typing import Any, TextIO

from batch_inefficiency.errors import machine_fault, one_line
from batch_inefficiency.files import first_damaged


def start_job(snakemake: Any) -> TextIO:
    """Send ``sys.stderr`` to ``snakemake.log[0]`` and report uncaught errors as above."""
    stream = open(snakemake.log[0], "w")  # noqa: SIM115 - open for the rest of the job
    sys.stderr = stream

    def hook(kind: type[BaseException], err: BaseException, tb: TracebackType | None) -> None:
        _write(failure_text(err, snakemake), stream)

    sys.excepthook = hook
    return stream


def failure_text(err: BaseException, snakemake: Any) -> str:
    """``error: <one line>`` for a mistake, a fault or a damaged input; else the traceback."""
    if isinstance(err, OSError) and (
        fault := machine_fault(err, next(iter(snakemake.output), None))
    ):
        err = fault
    reported = one_line(err)
    if reported is None and isinstance(err, Exception):
        damaged = first_damaged(snakemake.input)
        reported = one_line(damaged) if damaged is not None else None
    if reported is None:
        return "".join(traceback.format_exception(err))
    return f"error: {reported[0]}\n"


def _write(text: str, stream: TextIO) -> None:
    """Write to the log; where that fails (full disk), to the job's own stderr."""
    try:
        stream.write(text)
        stream.flush()
    except OSError:
        sys.stderr = sys.__stderr__
        with suppress(OSError):
            stream.close()  # drops what cannot be written, so that exiting does not retry it
        sys.stderr.write(text)
        sys.stderr.flush()
