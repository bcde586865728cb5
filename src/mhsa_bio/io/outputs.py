"""Atomic output files, the output transaction of every command, and ``run.json``.

A command writes its whole result into a hidden folder beside ``--out`` and swaps it in only when
everything is written (:class:`Output`); a lock file keeps a second run off the same ``--out``.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import platform
import shutil
import sys
import tempfile
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any, Literal

from mhsa_bio import __version__
from mhsa_bio.errors import InputError

log = logging.getLogger(__name__)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only on success.

    On any exception the temporary file is removed, so no partial output is ever left behind.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp_path, 0o666 & ~umask)  # mkstemp makes 0600; outputs get the usual mode
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike[str], mode: str = "w") -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path`` for writing; rename it onto ``path`` on success."""
    with atomic_path(path) as tmp, open(tmp, mode) as handle:
        yield handle


def write_json(path: str | os.PathLike[str], obj: Any) -> None:
    """Write ``obj`` as indented JSON, atomically."""
    with atomic_open(path) as handle:
        json.dump(obj, handle, indent=2, sort_keys=False, default=str)
        handle.write("\n")


def check_out_file(path: str | os.PathLike[str], *, force: bool) -> Path:
    """Refuse to overwrite an existing output file unless ``force``; refuse a folder."""
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{path}: output path is a folder, not a file")
    if path.exists() and not force:
        raise InputError(f"{path}: output file exists (use --force to replace it)")
    return path


def _check_out_dir(out: Path, *, force: bool, resume: bool) -> None:
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: output path exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not (force or resume):
        raise InputError(f"{out}: output folder exists and is not empty (use --force to replace it)")


def _rmtree(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux ``renameat2(RENAME_EXCHANGE)``); False where unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    rc = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    return rc == 0


class Output:
    """The output transaction of one command: ``--out`` holds the old results or the new, whole.

    ``start()`` takes the lock (``.NAME.lock`` beside ``--out``; a second run on the same path is
    refused), deals with what a killed run left (a swap it had begun is finished or undone; its
    unfinished folder is removed, or kept when ``keep_partial`` says so and named in the error),
    and returns the hidden folder (``.NAME.incomplete``) or temporary file to write into.
    ``commit()`` swaps it in (the old folder is kept until the new one is in place, then removed);
    ``abort()`` removes it. Nothing under ``--out`` changes before ``commit()``.

    Parameters
    ----------
    out : the folder (``kind="dir"``) or file (``kind="file"``) the user named
    force : replace an existing ``out``
    resume : start from a copy of ``out`` (or from the kept unfinished folder of an interrupted
        run) instead of an empty folder
    keep_partial : for an interrupted run, whether its unfinished folder can be continued (it is
        then kept and named instead of removed)
    """

    def __init__(
        self,
        out: str | os.PathLike[str],
        *,
        force: bool,
        kind: Literal["dir", "file"] = "dir",
        resume: bool = False,
        keep_partial: Any = None,
    ) -> None:
        self.out = Path(out)
        self.force = force
        self.kind = kind
        self.resume = resume
        self.keep_partial = keep_partial
        real = Path(os.path.abspath(self.out))  # "." and ".." resolved, symbolic links kept
        if kind == "dir" and Path.cwd().is_relative_to(real):
            raise InputError(
                f"{out}: is the current folder or one that holds it; name an output folder inside it"
            )
        self.tmp = real.parent / f".{real.name}.incomplete"
        self.replaced = real.parent / f".{real.name}.replaced"
        self.lock_path = real.parent / f".{real.name}.lock"
        self.path: Path | None = None
        self._lock_fd: int | None = None
        self._adopted = False
        self._started: dict[str, int] = {}
        self.check()

    # -- before anything is written ---------------------------------------------------------
    def check(self) -> None:
        """Refuse an ``out`` that may not be written (read-only: nothing is touched)."""
        if self.kind == "file":
            check_out_file(self.out, force=self.force)
        else:
            _check_out_dir(self.out, force=self.force, resume=self.resume)

    def _lock(self) -> None:
        try:
            self.out.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"{self.out}: cannot create its parent folder ({exc.strerror})") from None
        try:
            import fcntl
        except ImportError:  # no advisory locks on this platform
            return
        while True:
            try:
                fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as exc:
                raise InputError(f"{self.out}: cannot write beside it ({exc.strerror})") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                raise InputError(
                    f"{self.out}: another mhsa-bio run is writing it (lock "
                    f"{self.lock_path}); wait for it to finish"
                ) from None
            try:
                same = os.stat(self.lock_path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:  # else the holder removed the file between our open and lock: try again
                os.ftruncate(fd, 0)
                os.write(fd, f"{os.getpid()}\n".encode())
                self._lock_fd = fd
                return
            os.close(fd)

    def _unlock(self) -> None:
        if self._lock_fd is not None:
            self.lock_path.unlink(missing_ok=True)
            os.close(self._lock_fd)
            self._lock_fd = None

    def _recover(self) -> None:
        """Finish or undo what a killed run left beside ``out`` (we hold the lock)."""
        if self.replaced.exists():
            if self.out.exists():
                _rmtree(self.replaced)  # the swap was done; only the clean-up was missed
            else:
                os.replace(self.replaced, self.out)  # the swap was cut in half: undo it
                log.warning(
                    "%s: restored the previous results (a run was killed while replacing them)", self.out
                )
        if self.kind == "file":
            for stale in self.out.parent.glob(f".{self.out.name}.{'?' * 8}.part"):  # mkstemp's
                stale.unlink(missing_ok=True)
            return
        if self.tmp.exists():
            if self.keep_partial is not None and self.keep_partial(self.tmp):
                if self.resume:
                    self._adopted = True
                    return
                if not self.force:
                    raise InputError(
                        f"{self.out}: an interrupted run is kept in {self.tmp}; "
                        "continue it with --resume, or start over with --force"
                    )
            log.warning("%s: removed the unfinished output of a run that was killed", self.tmp)
            _rmtree(self.tmp)

    def start(self) -> Path:
        """Take the lock and return the folder (or file path) to write into."""
        if self.path is not None:
            return self.path
        self._lock()
        try:
            self._recover()
            self.check()
            if self.kind == "file":
                self.path = self.out
            else:
                if not self._adopted:
                    if self.resume and self.out.is_dir():
                        shutil.copytree(self.out, self.tmp, symlinks=True)
                    else:
                        self.tmp.mkdir()
                self._started = {p.name: p.stat().st_mtime_ns for p in self.tmp.iterdir()}
                self.path = self.tmp
        except OSError as exc:
            self.abort()
            raise InputError(f"{self.out}: cannot write the output ({exc.strerror})") from None
        except BaseException:
            self.abort()
            raise
        return self.path

    # -- the end ----------------------------------------------------------------------------
    def commit(self) -> None:
        """Put the new results in place of ``out`` and release the lock."""
        try:
            if self.path is None or self.kind == "file":
                return
            if not self.out.exists() or (self.out.is_dir() and not any(self.out.iterdir())):
                os.replace(self.tmp, self.out)
            elif _exchange(self.tmp, self.out):  # out is never missing, not even for an instant
                os.replace(self.tmp, self.replaced)
                _rmtree(self.replaced)
            else:
                os.replace(self.out, self.replaced)
                os.replace(self.tmp, self.out)
                _rmtree(self.replaced)
        except BaseException:
            if not self.out.exists() and self.replaced.exists():
                os.replace(self.replaced, self.out)  # cut between the two renames: undo
            _rmtree(self.tmp)
            raise
        finally:
            self.path = None
            self._unlock()

    def kept(self) -> bool:
        """Whether an aborted run's unfinished folder is worth keeping (it can be continued)."""
        if self.kind == "file" or self.keep_partial is None or not self.tmp.is_dir():
            return False
        if not self.keep_partial(self.tmp):
            return False
        now = {p.name: p.stat().st_mtime_ns for p in self.tmp.iterdir()}
        return self._adopted or now != self._started

    def abort(self) -> bool:
        """Remove the unfinished output (or keep it, see ``kept``); ``out`` is untouched.

        Returns whether the unfinished folder was kept.
        """
        keep = False
        try:
            if self.path is not None and self.kind == "dir":
                keep = self.kept()
                if not keep:
                    _rmtree(self.tmp)
        finally:
            self.path = None
            self._unlock()
        return keep


def disk_error(exc: OSError) -> str | None:
    """A one-line message for an output error that is the user's to fix (full or read-only disk)."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM):
        where = exc.filename or "output"
        return f"{where}: {exc.strerror or os.strerror(exc.errno)}"
    return None


def versions() -> dict[str, str]:
    """Versions of the package, Python and the libraries whose results we depend on."""
    out = {"mhsa_bio": __version__, "python": platform.python_version()}
    for name in ("torch", "numpy", "scipy", "Bio", "memelite", "pyjaspar"):
        module = sys.modules.get(name)
        if module is not None and hasattr(module, "__version__"):
            out[name] = str(module.__version__)
    return out


def run_record(command: str, params: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """The content of ``run.json``: command, parameters, versions, time, plus ``extra`` fields."""
    return {
        "command": command,
        "argv": sys.argv,
        "params": params,
        "versions": versions(),
        "platform": platform.platform(),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        **extra,
    }


def write_run_json(
    out_dir: str | os.PathLike[str], command: str, params: dict[str, Any], **extra: Any
) -> Path:
    """Write ``run.json`` into ``out_dir`` and return its path."""
    path = Path(out_dir) / "run.json"
    write_json(path, run_record(command, params, **extra))
    return path
