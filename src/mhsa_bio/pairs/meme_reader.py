"""Reading motifs from a MEME (minimal) motif file: ids, names and letter-probability matrices."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import NamedTuple

import numpy as np

from mhsa_bio.errors import InputError

log = logging.getLogger(__name__)

__all__ = ["Motif", "read_meme", "resolve_meme_path"]


class Motif(NamedTuple):
    """One motif of a MEME file.

    id : the first word after ``MOTIF``
    name : the alternate name (second word, e.g. the JASPAR TF name), else the id
    probs : (W, 4) base probabilities, columns A C G T, rows sum to 1
    nsites : the ``nsites=`` of the matrix header (20 when absent), for pseudocounts
    """

    id: str
    name: str
    probs: np.ndarray
    nsites: float = 20.0


def resolve_meme_path(path: str | os.PathLike[str]) -> Path:
    """A MEME file itself, or the ``motifs.meme`` inside a ``mhsa-bio motifs`` output folder."""
    path = Path(path)
    if path.is_dir():
        inside = path / "motifs.meme"
        if not inside.is_file():
            raise InputError(f"{path}: folder has no motifs.meme (give a MEME file or a "
                             "'mhsa-bio motifs' output folder)")
        return inside
    if not path.is_file():
        raise InputError(f"{path}: no such motif file or folder")
    return path


def read_meme(path: str | os.PathLike[str]) -> tuple[list[Motif], np.ndarray | None]:
    """Read every motif of a MEME minimal-format file.

    Parameters
    ----------
    path : a MEME file (DNA alphabet ACGT) or a folder holding ``motifs.meme``

    Returns
    -------
    motifs : in file order
    background : (4,) letter frequencies of the file's ``Background letter frequencies`` line,
        or None when absent

    Raises
    ------
    InputError
        For a missing/binary file, no motifs, a non-DNA alphabet, a duplicate motif id, a matrix
        row that is not 4 non-negative numbers, or a matrix whose row count differs from ``w=``.
    """
    path = resolve_meme_path(path)
    try:
        text = path.read_text()
    except UnicodeDecodeError:
        raise InputError(f"{path}: binary or non-UTF-8 file, not a MEME motif file") from None
    lines = text.splitlines()
    if not any(line.startswith("MEME version") for line in lines[:50]):
        raise InputError(f"{path}: not a MEME motif file (no 'MEME version' line)")
    background = None
    motifs: list[Motif] = []
    seen: set[str] = set()
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        if line.startswith("ALPHABET"):
            alphabet = line.split("=", 1)[-1].strip()
            if alphabet and alphabet.upper() not in ("ACGT", "DNA"):
                raise InputError(f"{path}: line {i + 1}: alphabet '{alphabet}' is not DNA (ACGT)")
        elif line.startswith("Background letter frequencies") and i + 1 < len(lines):
            background = _background(lines[i + 1], path, i + 2)
        elif line.startswith("MOTIF"):
            words = line.split()
            if len(words) < 2:
                raise InputError(f"{path}: line {i + 1}: MOTIF without an id")
            motif_id = words[1]
            name = words[2] if len(words) > 2 else motif_id
            if motif_id in seen:
                raise InputError(f"{path}: motif '{motif_id}': duplicate id")
            seen.add(motif_id)
            i, motif = _matrix(lines, i + 1, path, motif_id, name)
            motifs.append(motif)
            continue
        i += 1
    if not motifs:
        raise InputError(f"{path}: no motifs (no 'MOTIF' with a letter-probability matrix)")
    log.info("%s: %d motifs", path, len(motifs))
    return motifs, background


def _background(line: str, path: Path, lineno: int) -> np.ndarray | None:
    words = line.split()
    try:
        freq = {words[k].upper(): float(words[k + 1]) for k in range(0, len(words) - 1, 2)}
        bg = np.array([freq[b] for b in "ACGT"], dtype=np.float64)
    except (KeyError, ValueError):
        log.warning("%s: line %d: unreadable background frequencies, ignored", path, lineno)
        return None
    if np.any(bg <= 0):
        return None
    return bg / bg.sum()


def _header_value(line: str, key: str) -> float | None:
    words = line.replace("=", " = ").split()
    for k, word in enumerate(words[:-2]):
        if word == key and words[k + 1] == "=":
            try:
                return float(words[k + 2])
            except ValueError:
                return None
    return None


def _matrix(lines: list[str], i: int, path: Path, motif_id: str, name: str
            ) -> tuple[int, Motif]:
    while i < len(lines) and not lines[i].strip().startswith("letter-probability"):
        if lines[i].strip().startswith("MOTIF"):
            break
        i += 1
    if i >= len(lines) or not lines[i].strip().startswith("letter-probability"):
        raise InputError(f"{path}: motif '{motif_id}': no letter-probability matrix")
    header = lines[i]
    width = _header_value(header, "w")
    alength = _header_value(header, "alength")
    nsites = _header_value(header, "nsites") or 20.0
    if alength is not None and int(alength) != 4:
        raise InputError(f"{path}: motif '{motif_id}': alength {int(alength)} is not 4 (DNA)")
    rows: list[list[float]] = []
    i += 1
    while i < len(lines):
        words = lines[i].split()
        if not words:
            if rows:
                break
            i += 1
            continue
        if width is not None and len(rows) == int(width):
            break
        try:
            values = [float(w) for w in words]
        except ValueError:
            break
        if len(values) != 4 or min(values) < 0:
            raise InputError(f"{path}: line {i + 1}: motif '{motif_id}': matrix row is not 4 "
                             "non-negative numbers")
        rows.append(values)
        i += 1
    if not rows:
        raise InputError(f"{path}: motif '{motif_id}': empty letter-probability matrix")
    if width is not None and len(rows) != int(width):
        raise InputError(f"{path}: motif '{motif_id}': matrix has {len(rows)} rows, header says "
                         f"w= {int(width)}")
    probs = np.asarray(rows, dtype=np.float64)
    sums = probs.sum(axis=1, keepdims=True)
    if np.any(sums <= 0):
        raise InputError(f"{path}: motif '{motif_id}': a matrix row sums to 0")
    return i, Motif(motif_id, name, probs / sums, float(max(nsites, 1.0)))
