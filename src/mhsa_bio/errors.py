"""The one exception type for problems with the user's input, and the check that an input file is there."""

from __future__ import annotations

from pathlib import Path


class InputError(Exception):
    """Bad input from the user: a file, a record or an option.

    The message is one line that names the file, the record and the problem; the CLI prints it
    as it is and exits non-zero, without a traceback.
    """


def require_file(path: Path, *, what: str = "file") -> None:
    """Raise ``InputError`` unless ``path`` exists and is not a folder (``what`` names the file)."""
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a folder, not a {what}")
