"""What every command shares: ``command_context`` (logging, one-line errors, threads, device,
seed and the output transaction)."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import typer
from rich.console import Console
from rich.text import Text

from mhsa_bio.errors import InputError

if TYPE_CHECKING:
    import torch

    from mhsa_bio.io.outputs import Output

#: All human-facing output goes to stderr; stdout is kept for data (``predict`` TSV). Markup is
#: off: record ids and paths such as ``reads[rep2].fa`` are printed as they are.
console = Console(stderr=True, markup=False)


def progress_bar(*columns: Any) -> Any:
    """A rich progress bar with ``columns`` on stderr: gone when done, off when stderr is not a
    terminal (logs and Snakemake runs get the per-epoch or per-chromosome lines only)."""
    from rich.progress import Progress

    return Progress(*columns, console=console, transient=True, disable=not console.is_terminal)


log = logging.getLogger("mhsa_bio")


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
    """Print a one-line error (as it is: no markup) and return the ``typer.Exit`` to raise."""
    line = " ".join(str(message).split())  # one line, whatever the library's message held
    console.print(Text.assemble(("error: ", "bold red"), line), highlight=False, soft_wrap=True)
    return typer.Exit(code)


def _warning_line(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: Any = None,
    line: str | None = None,
) -> None:
    log.warning("%s: %s", category.__name__, " ".join(str(message).split()))


@contextlib.contextmanager
def user_errors(verbose: int = 0) -> Iterator[None]:
    """Turn the library's ``InputError`` (and a few OS errors) into one line and a non-zero exit.

    With ``-vv`` the traceback of an unexpected error is shown; user errors never show one.
    """
    from mhsa_bio.io.outputs import disk_error

    setup_logging(verbose)
    try:
        with warnings.catch_warnings():
            # numpy/torch warnings would print their source line too; -v shows each as one line
            warnings.simplefilter("default" if verbose > 0 else "ignore")
            warnings.showwarning = _warning_line
            yield
    except InputError as exc:
        raise fail(str(exc)) from None
    except FileNotFoundError as exc:
        raise fail(f"{exc.filename}: no such file") from None
    except IsADirectoryError as exc:
        raise fail(f"{exc.filename}: is a folder, not a file") from None
    except PermissionError as exc:
        raise fail(f"{exc.filename}: permission denied") from None
    except BrokenPipeError:  # `mhsa-bio predict ... | head`: stop quietly, like cat or grep
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        raise typer.Exit(141) from None
    except KeyboardInterrupt:
        raise fail("interrupted", 130) from None
    except (typer.Exit, typer.Abort):
        raise
    except Exception as exc:  # an internal error: say so, once, and show the trace with -vv
        message = disk_error(exc) if isinstance(exc, OSError) else None
        if message is not None:  # a full or read-only disk is the user's to fix
            raise fail(message) from None
        if verbose > 1:
            raise
        raise fail(f"internal error: {type(exc).__name__}: {exc} (rerun with -vv for details)", 1) from None


def cpu_cores() -> int:
    """CPU cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def setup_threads(threads: int) -> int:
    """Cap torch's CPU threads (0 = leave the default) at the cores there are; return the count."""
    import torch

    cores = cpu_cores()
    if threads > cores:
        log.warning("--threads %d: this machine has %d CPU cores; using %d", threads, cores, cores)
        threads = cores
    if threads > 0:
        torch.set_num_threads(threads)
    log.info("using %d CPU threads", torch.get_num_threads())
    return threads


class CommandRun:
    """What ``command_context`` hands a command: the resolved settings and its output."""

    def __init__(self, output: Output | None) -> None:
        self.output = output
        self.threads = 0
        self._device: torch.device | None = None
        self.after: list[Callable[[], None]] = []

    def after_commit(self, action: Callable[[], None]) -> None:
        """Run ``action`` once the output is in place: for a change outside ``--out`` (another
        run's report) that must not happen when this command fails."""
        self.after.append(action)

    @property
    def device(self) -> torch.device:
        """The resolved device (for the commands that pass ``device`` to ``command_context``)."""
        assert self._device is not None
        return self._device

    @property
    def out(self) -> Path:
        """The path the user named (where the results will be once the command succeeds)."""
        assert self.output is not None
        return self.output.out

    def out_dir(self) -> Path:
        """Start the output transaction: the hidden folder (or temporary file path) to write.

        Call it once every input is validated: nothing is written before.
        """
        assert self.output is not None
        return self.output.start()

    def work_dir(self) -> Path:
        """The hidden folder ``out_dir()`` writes into, without taking it: for the processes
        that only read it (the other ranks of a torchrun job)."""
        assert self.output is not None
        return self.output.tmp


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM (a cluster job's time limit, ``kill``) unwinds like Ctrl-C, so outputs are cleaned."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def command_context(
    *,
    verbose: int,
    threads: int | None = None,
    device: str | None = None,
    seed: int | None = None,
    out: Path | None = None,
    force: bool = False,
    out_kind: Literal["dir", "file"] = "dir",
    resume: bool = False,
    keep_partial: Callable[[Path], bool] | None = None,
) -> Iterator[CommandRun]:
    """Everything a command does around its work, in one place.

    Logging on stderr and one-line errors (``user_errors``); torch's CPU threads capped at the
    cores (``threads``); the device resolved (``device``, then ``run.device``); every generator
    seeded (``seed``); and the output transaction (``out``): ``run.out_dir()`` gives the hidden
    folder to write into, swapped in place of ``out`` only when the block ends without an error.
    On an error, Ctrl-C or SIGTERM the old ``out`` is left as it was and the unfinished output is
    removed (kept and named when ``keep_partial`` says it can be continued with ``--resume``).
    """
    with user_errors(verbose), _terminate_as_interrupt():
        output = None
        if out is not None:
            from mhsa_bio.io.outputs import Output

            output = Output(out, force=force, kind=out_kind, resume=resume, keep_partial=keep_partial)
        run = CommandRun(output)
        if threads is not None:
            run.threads = setup_threads(threads)
        if device is not None:
            from mhsa_bio.runtime.device import resolve_device

            run._device = resolve_device(device)
        if seed is not None:
            from mhsa_bio.runtime.device import seed_everything

            seed_everything(seed)
        try:
            yield run
        except BaseException as exc:
            if output is not None and output.abort() and isinstance(exc, KeyboardInterrupt):
                raise fail(
                    f"interrupted; the unfinished run is kept in {output.tmp} (continue it with --resume)",
                    130,
                ) from None
            raise
        if output is not None:
            output.commit()
        for action in run.after:
            action()
