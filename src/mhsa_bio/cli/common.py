"""What every command shares: logging to stderr, one-line errors, device and thread set-up."""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator

import typer
from rich.console import Console

from mhsa_bio.errors import InputError

#: All human-facing output goes to stderr; stdout is kept for data (``predict`` TSV).
console = Console(stderr=True)


def setup_logging(verbose: int) -> None:
    """Route the library's logging through rich on stderr; ``-v`` for INFO, ``-vv`` for DEBUG."""
    from rich.logging import RichHandler

    level = logging.WARNING if verbose <= 0 else logging.INFO if verbose == 1 else logging.DEBUG
    root = logging.getLogger("mhsa_bio")
    root.handlers.clear()
    handler = RichHandler(console=console, show_time=verbose > 1, show_path=False, markup=False)
    handler.setFormatter(logging.Formatter("%(message)s"))
    root.addHandler(handler)
    root.setLevel(level)
    root.propagate = False


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print a one-line error and return the ``typer.Exit`` to raise."""
    console.print(f"[bold red]error:[/] {message}", markup=True, highlight=False, soft_wrap=True)
    return typer.Exit(code)


@contextlib.contextmanager
def user_errors(verbose: int = 0) -> Iterator[None]:
    """Turn the library's ``InputError`` (and a few OS errors) into one line and a non-zero exit.

    With ``-vv`` the traceback of an unexpected error is shown; user errors never show one.
    """
    setup_logging(verbose)
    try:
        yield
    except InputError as exc:
        raise fail(str(exc)) from None
    except FileNotFoundError as exc:
        raise fail(f"{exc.filename}: no such file") from None
    except PermissionError as exc:
        raise fail(f"{exc.filename}: permission denied") from None
    except BrokenPipeError:  # `mhsa-bio predict ... | head`: stop quietly, like cat or grep
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        raise typer.Exit(141) from None
    except KeyboardInterrupt:
        raise fail("interrupted", 130) from None
    except (typer.Exit, typer.Abort):
        raise
    except Exception as exc:  # an internal error: say so, once, and show the trace with -vv
        if verbose > 1:
            raise
        raise fail(f"internal error: {type(exc).__name__}: {exc} (rerun with -vv for details)",
                   1) from None


def setup_threads(threads: int) -> None:
    """Cap torch's CPU threads (0 = leave the default)."""
    if threads > 0:
        import torch

        torch.set_num_threads(threads)

