"""Pairs of motif sites in one sequence and their canonical key: (A, B, spacing, orientation).

Conventions (also in docs/pairs.md):

* **A/B order** is canonical: A is the motif that comes first in the motif file (lower index).
  For two sites of the same motif, A is the upstream one (lower centre on the given strand).
* **spacing** is centre(B) − centre(A) in bases on the given strand, with
  centre = start + (width − 1) / 2; it is negative when B lies upstream of A and may end in .5
  when the widths differ in parity. Internally it is kept doubled (``spacing2``, an integer).
  So (A at 10, B at 19) and (B at 19, A at 10) are one group, (A, B, +9).
* **orientation** is the strand of A then the strand of B (``++ +- -+ --``): ``+`` when the motif
  reads on the given strand. With ``strand_symmetric=True`` (unstranded data, e.g. ChIP-seq) a pair
  and its reverse complement are one group: the representation with A on ``+`` is kept, so only
  ``++`` (same strand) and ``+-`` (opposite strands) remain (for the same motif twice, ``--``
  becomes ``++`` and the spacing keeps its sign).
* **(near-)palindromic motifs** (``scan.palindrome_shift``: a typical site of the motif is also
  a site on the other strand, ``d`` bp off) have no orientation: their strand is written ``.``
  (``+.``, ``.-``, ``..``), and their centre is that of the palindromic core, midway between the
  site's ``+`` reading and its ``-`` reading (start + (width − 1)/2 + d/2 when read on ``+``,
  − d/2 on ``-``). So one site gives one spacing whichever strand the scan called it on, and
  reverse-complementing the sequence mirrors it. With ``strand_symmetric=True`` the first
  defined strand is put on ``+``; with two different palindromes (``..``) the spacing is
  given without sign.
* Sites that overlap are never paired.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

from mhsa_bio.pairs.sites import Hit

__all__ = ["PairKey", "flip", "pair_key", "site_pairs"]

_FLIP = {"+": "-", "-": "+", ".": "."}


class PairKey(NamedTuple):
    """A group of site pairs: motif indices A <= B, doubled spacing, orientation."""

    a: int
    b: int
    spacing2: int
    orientation: str

    @property
    def spacing(self) -> float:
        return self.spacing2 / 2


def flip(orientation: str) -> str:
    """Both strands flipped: ``+-`` → ``-+``."""
    return "".join(_FLIP[s] for s in orientation)


def _centre2(hit: Hit, palindromes: Mapping[int, int]) -> int:
    """Doubled centre of a site; for a palindrome, that of its palindromic core."""
    centre2 = 2 * hit.start + (hit.end - hit.start) - 1
    if hit.motif in palindromes:
        centre2 += palindromes[hit.motif] if hit.strand == "+" else -palindromes[hit.motif]
    return centre2


def _strand(hit: Hit, palindromes: Mapping[int, int]) -> str:
    return "." if hit.motif in palindromes else hit.strand


def pair_key(
    x: Hit, y: Hit, *, strand_symmetric: bool = False, palindromes: Mapping[int, int] | None = None
) -> tuple[PairKey, bool]:
    """The canonical key of two sites of one sequence.

    Parameters
    ----------
    palindromes : motif index -> shift d of the (near-)palindromic motifs (see module doc)

    Returns
    -------
    key : PairKey
    swapped : True when ``y`` is A of the key (so A/B are ``y``/``x``)
    """
    pal = palindromes or {}
    cx, cy = _centre2(x, pal), _centre2(y, pal)
    swapped = (y.motif, cy) < (x.motif, cx)
    (a, ca), (b, cb) = ((y, cy), (x, cx)) if swapped else ((x, cx), (y, cy))
    spacing2 = cb - ca
    orientation = _strand(a, pal) + _strand(b, pal)
    if strand_symmetric:
        if a.motif == b.motif:
            # Reverse complement swaps which site is upstream and flips both strands.
            alt = _FLIP[orientation[1]] + _FLIP[orientation[0]]
            orientation = min(orientation, alt, key=lambda o: o.replace("+", "0"))
        elif orientation[0] == "-" or (orientation[0] == "." and orientation[1] == "-"):
            # The first defined strand is put on +.
            spacing2, orientation = -spacing2, flip(orientation)
        elif orientation == "..":
            spacing2 = abs(spacing2)  # neither strand defined: B up- or downstream is one group
    return PairKey(a.motif, b.motif, spacing2, orientation), swapped


def site_pairs(
    hits: Sequence[Hit], *, strand_symmetric: bool = False, palindromes: Mapping[int, int] | None = None
) -> list[tuple[int, int, PairKey]]:
    """Every pair of non-overlapping sites of one sequence.

    Parameters
    ----------
    hits : the sites of one sequence
    palindromes : motif index -> shift d of the (near-)palindromic motifs

    Returns
    -------
    list of (i, j, key)
        ``hits[i]`` is A and ``hits[j]`` is B of ``key``; ordered by (i, j) of the input.
    """
    out = []
    for i in range(len(hits)):
        for j in range(i + 1, len(hits)):
            x, y = hits[i], hits[j]
            if x.start < y.end and y.start < x.end:
                continue
            key, swapped = pair_key(x, y, strand_symmetric=strand_symmetric, palindromes=palindromes)
            out.append((j, i, key) if swapped else (i, j, key))
    return out
