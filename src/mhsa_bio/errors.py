"""The one exception type for problems with the user's input."""

from __future__ import annotations


class InputError(Exception):
    """Bad input from the user: a file, a record or an option.

    The message is one line that names the file, the record and the problem; the CLI prints it
    as it is and exits non-zero, without a traceback.
    """

