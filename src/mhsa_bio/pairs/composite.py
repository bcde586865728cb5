"""Composite motifs: one matrix that holds two sites at a fixed spacing, split into its parts.

A motif finder that sees two TF sites always at the same spacing may report them as one matrix
(e.g. FOS::JUN, 3 uninformative columns, FOXA2). ``pairs`` can only test a spacing between two
motifs, so such a matrix is split at its internal run of low-information columns into two
parts that are then scanned and tested like any two motifs, in place of the whole.

The rule (``split_point``):

* a *gap* is an internal run of at least ``min_gap`` columns below ``LOW_BITS`` bits (uniform
  background), with an informative column on each side;
* each part (the columns on one side of the gap, the matrix's low-information flanks trimmed)
  has at least ``MIN_PART_WIDTH`` columns; of the gaps that leave two such parts the longest
  (then the leftmost) is used, so a motif is split once, into two parts;
* the two parts are not alike: a matrix whose halves match each other (column correlation
  ≥ ``ALIKE`` at the best offset, on either strand) is one half-site twice — a palindrome such
  as ESR1's ERE or a direct repeat of a nuclear receptor — bound by one dimer, and is kept whole
  (its parts would be sites of the same half-site);
* each part's best word can be a site (exact p ≤ the site threshold, checked in
  :func:`split_motifs`), else the motif is kept whole.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from mhsa_bio.io.meme import MemeMotif
from mhsa_bio.pwm import information

log = logging.getLogger(__name__)

__all__ = ["ALIKE", "LOW_BITS", "MIN_PART_WIDTH", "Split", "split_motifs", "split_point"]

#: A column below this many bits (uniform background) is uninformative.
LOW_BITS = 0.5
#: Each part has at least this many columns.
MIN_PART_WIDTH = 5
#: Parts whose column correlation reaches this are one half-site twice: not split.
ALIKE = 0.8


class Split(NamedTuple):
    """One motif split in two: its id and name, the parts' ids, and their ``[start, end)``
    columns in the whole (0-based); ``gap`` is the number of columns between them."""

    motif: str
    name: str
    parts: tuple[str, str]
    columns: tuple[tuple[int, int], tuple[int, int]]

    @property
    def gap(self) -> int:
        return self.columns[1][0] - self.columns[0][1]

    def describe(self) -> str:
        """``M1 -> M1.a (columns 1-9) + M1.b (14-20)``, columns 1-based inclusive."""
        (a0, a1), (b0, b1) = self.columns
        return (
            f"{self.motif} -> {self.parts[0]} (columns {a0 + 1}-{a1}) + {self.parts[1]} "
            f"({b0 + 1}-{b1}), {self.gap} low-information columns between"
        )


def split_point(
    probs: np.ndarray, *, min_gap: int, low_bits: float = LOW_BITS, min_width: int = MIN_PART_WIDTH
) -> tuple[tuple[int, int], tuple[int, int]] | None:
    """Where a (W, 4) matrix splits into two parts, or None (rules in the module doc; the
    alike and threshold checks are :func:`split_motifs`').

    Returns
    -------
    ((a0, a1), (b0, b1)) : the parts' ``[start, end)`` columns, ``a1 <= b0``
    """
    ic = information(np.asarray(probs, dtype=np.float64))
    low = ic < low_bits
    informative = np.flatnonzero(~low)
    if min_gap < 1 or len(informative) < 2 * min_width:
        return None
    first, last = int(informative[0]), int(informative[-1]) + 1  # outer flanks trimmed
    best: tuple[tuple[int, int], tuple[int, int]] | None = None
    i = first
    while i < last:
        if not low[i]:
            i += 1
            continue
        j = i
        while j < last and low[j]:
            j += 1
        parts = ((first, i), (j, last))
        valid = j - i >= min_gap and all(end - start >= min_width for start, end in parts)
        if valid and (best is None or j - i > best[1][0] - best[0][1]):
            best = parts
        i = j
    return best


def _best_word_p(probs: np.ndarray, background: np.ndarray) -> float:
    """Exact P(a background word scores as high as the matrix's best word): per column, the
    background mass of the best-scoring base(s) of log(p / background)."""
    score = np.log2(np.clip(probs, 1e-9, 1.0) / background[None, :])
    top = np.isclose(score, score.max(axis=1, keepdims=True))
    return float(np.prod((top * background[None, :]).sum(axis=1)))


def split_motifs(
    motifs: Sequence[MemeMotif], *, min_gap: int, background: np.ndarray, pvalue: float
) -> tuple[list[MemeMotif], list[Split]]:
    """Every motif that splits replaced by its two parts, in place (so the A/B order of pairs
    keeps the file order); the others unchanged.

    Parts are named ``<id>.a`` / ``<id>.b`` (upstream / downstream columns of the matrix as
    written), with names ``<name>[first-last]`` (1-based columns of the whole), so every table
    shows where a part came from.

    Parameters
    ----------
    motifs : the motifs of the MEME file, in order
    min_gap : the shortest run of uninformative columns that splits a motif (0: never split)
    background : (4,) A C G T frequencies of the analysed sequences (for the threshold check)
    pvalue : the site threshold; a part whose best word cannot reach it keeps the motif whole
    """
    from mhsa_bio.motifs.cluster import similarity

    if min_gap < 1:
        return list(motifs), []
    out: list[MemeMotif] = []
    splits: list[Split] = []
    for m in motifs:
        point = split_point(m.probs, min_gap=min_gap)
        if point is None:
            out.append(m)
            continue
        (a0, a1), (b0, b1) = point
        pa, pb = m.probs[a0:a1], m.probs[b0:b1]
        alike = similarity(pa, pb, min_overlap=MIN_PART_WIDTH)
        if alike >= ALIKE:
            log.info(
                "%s: not split at columns %d-%d: its two halves are alike (column r %.2f), one "
                "half-site twice (palindrome or direct repeat)",
                m.id,
                a1 + 1,
                b0,
                alike,
            )
            out.append(m)
            continue
        weak = [p for p in (pa, pb) if _best_word_p(p, background) > pvalue]
        if weak:
            log.info(
                "%s: not split at columns %d-%d: a part's best word cannot reach p %g",
                m.id,
                a1 + 1,
                b0,
                pvalue,
            )
            out.append(m)
            continue
        name = m.name or m.id
        parts = (
            MemeMotif(f"{m.id}.a", f"{name}[{a0 + 1}-{a1}]", pa.copy(), m.nsites, m.evalue),
            MemeMotif(f"{m.id}.b", f"{name}[{b0 + 1}-{b1}]", pb.copy(), m.nsites, m.evalue),
        )
        split = Split(m.id, name, (parts[0].id, parts[1].id), ((a0, a1), (b0, b1)))
        log.info("split composite motif %s: %s; its parts are scanned in its place", name, split.describe())
        out.extend(parts)
        splits.append(split)
    ids = [m.id for m in out]
    if len(set(ids)) != len(ids):  # a part's id taken by a motif of the file: keep them whole
        taken = sorted({i for i in ids if ids.count(i) > 1})
        log.warning("no motif split: the ids %s occur twice once parts are added", ", ".join(taken))
        return list(motifs), []
    return out, splits
