"""MEME motif files (DNA): the one reader and writer of the package.

``write_meme`` writes MEME minimal format version 4 (Biopython and memelite read it);
``read_meme`` / ``read_meme_file`` read minimal or full MEME DNA files, or the ``motifs.meme`` of
a ``mhsa-bio motifs`` output folder, with the ``Background letter frequencies`` line.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np

from mhsa_bio.errors import InputError
from mhsa_bio.io.outputs import atomic_open

log = logging.getLogger(__name__)

__all__ = ["MemeFile", "MemeMotif", "read_meme", "read_meme_file", "resolve_meme_path", "write_meme"]


class MemeMotif(NamedTuple):
    """One motif.

    id : the first word after ``MOTIF``
    name : the rest of that line (the alternate name, e.g. the JASPAR TF name); "" when absent
    probs : (W, 4) base probabilities, columns A C G T, rows sum to 1
    nsites : the ``nsites=`` of the matrix header (0 when absent)
    evalue : the ``E=`` of the matrix header (0 when absent)
    """

    id: str
    name: str
    probs: np.ndarray
    nsites: int = 0
    evalue: float = 0.0


class MemeFile(NamedTuple):
    """What ``read_meme_file`` returns: the motifs in file order and the (4,) A C G T background
    of the ``Background letter frequencies`` line (None when absent or unreadable)."""

    motifs: list[MemeMotif]
    background: np.ndarray | None


def write_meme(
    path: str | os.PathLike[str],
    motifs: Sequence[MemeMotif],
    *,
    background: Sequence[float] = (0.25, 0.25, 0.25, 0.25),
) -> None:
    """Write MEME minimal format (version 4), atomically."""
    with atomic_open(path) as out:
        out.write("MEME version 4\n\nALPHABET= ACGT\n\nstrands: + -\n\n")
        out.write("Background letter frequencies\n")
        out.write(" ".join(f"{b} {f:.4f}" for b, f in zip("ACGT", background)) + "\n\n")
        for m in motifs:
            probs = np.asarray(m.probs, dtype=np.float64)
            if probs.ndim != 2 or probs.shape[1] != 4 or probs.shape[0] == 0:
                raise ValueError(f"motif {m.id}: expected a (W, 4) matrix, got {probs.shape}")
            probs = probs / probs.sum(1, keepdims=True)
            out.write(f"MOTIF {m.id}{' ' + m.name if m.name else ''}\n")
            out.write(
                f"letter-probability matrix: alength= 4 w= {probs.shape[0]} "
                f"nsites= {max(int(m.nsites), 1)} E= {m.evalue:.3g}\n"
            )
            for row in probs:
                out.write(" " + "  ".join(f"{v:.6f}" for v in row) + "\n")
            out.write("\n")


def resolve_meme_path(path: str | os.PathLike[str]) -> Path:
    """A MEME file itself, or the ``motifs.meme`` inside a ``mhsa-bio motifs`` output folder."""
    path = Path(path)
    if path.is_dir():
        inside = path / "motifs.meme"
        if not inside.is_file():
            raise InputError(
                f"{path}: folder has no motifs.meme (give a MEME file or a 'mhsa-bio motifs' output folder)"
            )
        return inside
    if not path.is_file():
        raise InputError(f"{path}: no such MEME file or folder")
    return path


def read_meme(path: str | os.PathLike[str]) -> list[MemeMotif]:
    """Every motif of a MEME DNA file (or of a motifs folder's ``motifs.meme``), in file order.
    See ``read_meme_file``."""
    return read_meme_file(path).motifs


def read_meme_file(path: str | os.PathLike[str]) -> MemeFile:
    """Read a MEME (minimal or full) DNA motif file.

    Parameters
    ----------
    path : a MEME file or a folder holding ``motifs.meme``

    Returns
    -------
    MemeFile
        Matrix rows are normalised to sum to exactly 1.

    Raises
    ------
    InputError
        A missing or binary file, no ``MEME version`` line, no motif, a non-DNA alphabet, a
        duplicate motif id, a matrix row that is not 4 non-negative numbers or does not sum to
        1 (± 0.02), or a row count other than the header's ``w=``.
    """
    path = resolve_meme_path(path)
    from mhsa_bio.io.fasta import decode_text

    text = decode_text(path.read_bytes(), path, "a MEME motif file")
    lines = text.splitlines()
    if not any(line.startswith("MEME version") for line in lines[:50]):
        raise InputError(f"{path}: not a MEME motif file (no 'MEME version' line)")
    background = None
    motifs: list[MemeMotif] = []
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
            if motif_id in seen:
                raise InputError(f"{path}: motif '{motif_id}': duplicate id")
            seen.add(motif_id)
            i, motif = _matrix(lines, i + 1, path, motif_id, " ".join(words[2:]))
            motifs.append(motif)
            continue
        i += 1
    if not motifs:
        raise InputError(f"{path}: no motifs (no 'MOTIF' with a letter-probability matrix)")
    log.info("%s: %d motifs", path, len(motifs))
    return MemeFile(motifs, background)


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


def _matrix(lines: list[str], i: int, path: Path, motif_id: str, name: str) -> tuple[int, MemeMotif]:
    """The letter-probability matrix of one motif from line ``i`` on; returns the next line."""
    while i < len(lines) and not lines[i].strip().startswith("letter-probability"):
        if lines[i].strip().startswith("MOTIF"):
            break
        i += 1
    if i >= len(lines) or not lines[i].strip().startswith("letter-probability"):
        raise InputError(f"{path}: motif '{motif_id}': no letter-probability matrix")
    header = lines[i]
    width = _header_value(header, "w")
    alength = _header_value(header, "alength")
    nsites = _header_value(header, "nsites") or 0.0
    evalue = _header_value(header, "E") or 0.0
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
            raise InputError(
                f"{path}: line {i + 1}: motif '{motif_id}': matrix row is not 4 non-negative numbers"
            )
        if abs(sum(values) - 1.0) > 0.02:
            raise InputError(
                f"{path}: line {i + 1}: motif '{motif_id}': matrix row sums to "
                f"{sum(values):.3g}; letter probabilities must be summing to 1"
            )
        rows.append(values)
        i += 1
    if not rows:
        raise InputError(f"{path}: motif '{motif_id}': empty letter-probability matrix")
    if width is not None and len(rows) != int(width):
        raise InputError(
            f"{path}: motif '{motif_id}': matrix has {len(rows)} rows, header says w= {int(width)}"
        )
    probs = np.asarray(rows, dtype=np.float64)
    probs = probs / probs.sum(axis=1, keepdims=True)
    return i, MemeMotif(motif_id, name, probs, int(round(nsites)), float(evalue))
