"""The one exception type for problems with the user's input."""

from __future__ import annotations


class InputError(Exception):
    """Bad input from the user: a file, a record or an option.

    The message is one line that names the file, the record and the problem; the CLI prints it
    as it is and exits non-zero, without a traceback.
    """


def where(path: object, record: str | None = None, position: int | None = None) -> str:
    """Format the location part of an error message: ``file: record 'id' position 12``."""
    parts = [str(path)]
    if record is not None:
        parts.append(f"record '{record}'")
    if position is not None:
        parts.append(f"position {position}")
    return ": ".join(parts[:1]) + (": " + " ".join(parts[1:]) if len(parts) > 1 else "")
