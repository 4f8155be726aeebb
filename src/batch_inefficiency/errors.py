"""The errors that end a command or a workflow job with one line instead of a traceback.

:class:`UserError` is a mistake in the user's input (a bad name, file, setting): one line,
exit status 2. :class:`FaultError` is a fault of the machine or of a file the user did not
write by hand (a full disk, a damaged result file): one line, exit status 1. An
``OSError`` of the machine (no space left, read-only file system, no permission) counts
as a fault too. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import errno
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

USER_MISTAKE = 2
FAULT = 1

# errno -> what to do about it, for OSErrors that are the machine's, not a bug.
MACHINE_FAULTS = {
    errno.ENOSPC: "free space on that disk, then run again",
    errno.EDQUOT: "free space within your disk quota, then run again",
    errno.EROFS: "choose a folder on a writable file system",
    errno.EACCES: "choose a folder you may write to",
    errno.EPERM: "choose a folder you may write to",
    errno.EIO: "check the disk, then run again",
}


class UserError(Exception):
    """A mistake in the user's input, reported as a one-line message (exit status 2)."""


class FaultError(Exception):
    """A fault of the machine or a damaged file, reported as a one-line message (exit status 1)."""


def machine_fault(err: OSError, path: object = None) -> FaultError | None:
    """The :class:`FaultError` of an OSError of the machine (full disk, ...), else None.

    ``path`` names the file when the error does not (numpy and zipfile drop it).
    """
    if err.errno not in MACHINE_FAULTS:
        return None
    where = err.filename if err.filename is not None else path
    prefix = f"{where}: " if where is not None else ""
    reason = (err.strerror or errno.errorcode.get(err.errno, "error")).lower()
    return FaultError(f"{prefix}{reason}; {MACHINE_FAULTS[err.errno]}")


def one_line(err: BaseException) -> tuple[str, int] | None:
    """(message on one line, exit status) of an error reported without traceback; None: a bug."""
    if isinstance(err, OSError):
        err = machine_fault(err) or err
    if isinstance(err, UserError):
        status = USER_MISTAKE
    elif isinstance(err, FaultError):
        status = FAULT
    else:
        return None
    return " ".join(str(err).split()), status


def report(err: BaseException, stream: TextIO | None = None) -> int | None:
    """Print ``error: <message>`` for a reportable error and return its exit status.

    Returns None (printing nothing) for a bug, whose traceback the caller keeps.
    """
    reported = one_line(err)
    if reported is None:
        return None
    message, status = reported
    print(f"error: {message}", file=stream or sys.stderr, flush=True)
    return status


@contextmanager
def exit_on_error(stream: TextIO | None = None) -> Iterator[None]:
    """Turn a reportable error in the block into its line and ``SystemExit(status)``."""
    try:
        yield
    except Exception as err:
        status = report(err, stream)
        if status is None:
            raise
        raise SystemExit(status) from None
