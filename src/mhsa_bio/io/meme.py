"""MEME minimal motif format: writer and reader (Biopython and memelite read what we write)."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from mhsa_bio.errors import InputError
from mhsa_bio.io.outputs import atomic_open


class MemeMotif(NamedTuple):
    """One motif: id, optional name, (W, 4) letter probabilities (A C G T), sites, E-value."""

    id: str
    name: str
    probs: np.ndarray
    nsites: int = 0
    evalue: float = 0.0


def write_meme(path: str | os.PathLike[str], motifs: Sequence[MemeMotif], *,
               background: Sequence[float] = (0.25, 0.25, 0.25, 0.25)) -> None:
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
            out.write(f"letter-probability matrix: alength= 4 w= {probs.shape[0]} "
                      f"nsites= {max(int(m.nsites), 1)} E= {m.evalue:.3g}\n")
            for row in probs:
                out.write(" " + "  ".join(f"{v:.6f}" for v in row) + "\n")
            out.write("\n")


_MATRIX = re.compile(r"letter-probability matrix:.*?w=\s*(\d+)")
_NSITES = re.compile(r"nsites=\s*(\d+)")


def read_meme(path: str | os.PathLike[str]) -> list[MemeMotif]:
    """Read every motif of a MEME (minimal or full) DNA file.

    Raises
    ------
    InputError
        A missing file, no motif, a matrix row with other than 4 numbers or rows not summing
        to about 1, or a non-DNA alphabet.
    """
    if not os.path.isfile(path):
        raise InputError(f"{path}: no such MEME file")
    with open(path, encoding="utf-8", errors="replace") as handle:
        lines = handle.read().splitlines()
    motifs: list[MemeMotif] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("ALPHABET") and "ACGT" not in line.replace(" ", "").upper():
            raise InputError(f"{path}: line {i + 1}: only DNA (ACGT) MEME files are supported")
        if not line.startswith("MOTIF"):
            i += 1
            continue
        words = line.split()
        if len(words) < 2:
            raise InputError(f"{path}: line {i + 1}: MOTIF without an id")
        mid, name = words[1], " ".join(words[2:])
        j = i + 1
        while j < len(lines) and not _MATRIX.search(lines[j]):
            if lines[j].startswith("MOTIF"):
                raise InputError(f"{path}: motif '{mid}': no letter-probability matrix")
            j += 1
        if j == len(lines):
            raise InputError(f"{path}: motif '{mid}': no letter-probability matrix")
        width = int(_MATRIX.search(lines[j]).group(1))  # type: ignore[union-attr]
        ns = _NSITES.search(lines[j])
        rows = []
        k = j + 1
        while len(rows) < width and k < len(lines):
            text = lines[k].strip()
            k += 1
            if not text:
                continue
            try:
                vals = [float(v) for v in text.split()]
            except ValueError:
                raise InputError(f"{path}: line {k}: motif '{mid}': not a matrix row") from None
            if len(vals) != 4:
                raise InputError(f"{path}: line {k}: motif '{mid}': expected 4 numbers, got "
                                 f"{len(vals)}")
            rows.append(vals)
        if len(rows) < width:
            raise InputError(f"{path}: motif '{mid}': {len(rows)} of {width} matrix rows")
        probs = np.array(rows)
        if (probs < 0).any() or np.abs(probs.sum(1) - 1).max() > 0.02:
            raise InputError(f"{path}: motif '{mid}': matrix rows must be probabilities summing "
                             "to 1")
        motifs.append(MemeMotif(mid, name, probs, int(ns.group(1)) if ns else 0))
        i = k
    if not motifs:
        raise InputError(f"{path}: no MOTIF found (not a MEME file?)")
    return motifs
