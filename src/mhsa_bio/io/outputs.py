"""Atomic output files and output folders, and the ``run.json`` beside every result."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import shutil
import sys
import tempfile
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

from mhsa_bio import __version__
from mhsa_bio.errors import InputError


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


def prepare_out_dir(out: str | os.PathLike[str], *, force: bool, resume: bool = False) -> Path:
    """Check that ``out`` may be written and create it.

    An existing, non-empty folder is refused unless ``force`` (its content is removed first) or
    ``resume`` (it is kept, to continue a run).
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: output path exists and is not a folder")
    if out.exists() and any(out.iterdir()) and not resume:
        if not force:
            raise InputError(f"{out}: output folder exists and is not empty (use --force to replace it)")
        shutil.rmtree(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{out}: cannot create output folder ({exc.strerror})") from None
    return out


def check_out_file(path: str | os.PathLike[str], *, force: bool) -> Path:
    """Refuse to overwrite an existing output file unless ``force``."""
    path = Path(path)
    if path.exists() and not force:
        raise InputError(f"{path}: output file exists (use --force to replace it)")
    return path


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


def write_run_json(out_dir: str | os.PathLike[str], command: str, params: dict[str, Any],
                   **extra: Any) -> Path:
    """Write ``run.json`` into ``out_dir`` and return its path."""
    path = Path(out_dir) / "run.json"
    write_json(path, run_record(command, params, **extra))
    return path
