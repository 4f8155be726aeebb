"""The one exception type for user mistakes (bad names, files, settings).

The command line prints its message on one line and exits with status 2; no
traceback is shown for these.
"""


class UserError(Exception):
    """A mistake in the user's input, reported as a one-line message (exit status 2)."""
