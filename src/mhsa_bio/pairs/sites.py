"""Sites of the known motifs for pairs: every window at or above a motif's exact-p threshold
(:func:`mhsa_bio.pwm.prepare_motif`) on both strands, the best non-overlapping hits kept."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from mhsa_bio.alphabet import encode_dna
from mhsa_bio.pwm import SCALE, ScoredMotif, scan_scores

log = logging.getLogger(__name__)

__all__ = ["Hit", "scan"]

#: What a window holding an N scores: below any threshold.
_N_SCORE = -(1 << 40)


class Hit(NamedTuple):
    """One site: sequence index, motif index, 0-based ``[start, end)``, strand, score (bits), p."""

    seq: int
    motif: int
    start: int
    end: int
    strand: str
    score: float
    pvalue: float


def scan(seqs: Sequence[str], motifs: Sequence[ScoredMotif]) -> list[Hit]:
    """Every site of every motif in every sequence, both strands, best non-overlapping hits.

    A window matches on ``+`` when the motif reads on the given strand and on ``-`` when it reads
    on the reverse complement; ``start`` is always on the given strand. For each motif and
    sequence, hits at or above the threshold are kept greedily from the best score down (ties:
    leftmost, then ``+`` first) while they overlap no kept hit of the same motif; hits
    of different motifs may overlap.

    Returns
    -------
    list of Hit
        Ordered by sequence, start, motif, strand.
    """
    if not seqs:
        return []
    # One long token array with an N between sequences: no window crosses a boundary.
    parts, offsets = [], np.zeros(len(seqs) + 1, dtype=np.int64)
    for k, seq in enumerate(seqs):
        tokens = encode_dna(seq).astype(np.int64)
        parts.append(tokens)
        parts.append(np.array([4], dtype=np.int64))
        offsets[k + 1] = offsets[k] + len(tokens) + 1
    tokens = np.concatenate(parts)
    hits: list[Hit] = []
    for sm in motifs:
        width = sm.width
        if len(tokens) < width:
            continue
        forward, reverse = scan_scores(sm.matrix, tokens, n_score=_N_SCORE)
        for strand, scores in (("+", forward), ("-", reverse)):
            pos = np.flatnonzero(scores >= sm.threshold)
            seq_idx = np.searchsorted(offsets, pos, side="right") - 1
            for p, k in zip(pos.tolist(), seq_idx.tolist(), strict=True):
                start = p - int(offsets[k])
                score = int(scores[p])
                hits.append(
                    Hit(
                        k,
                        sm.motif_index,
                        start,
                        start + width,
                        strand,
                        score / SCALE,
                        float(sm.pvalue(score)),
                    )
                )
    kept = _non_overlapping(hits)
    kept.sort(key=lambda h: (h.seq, h.start, h.motif, h.strand))
    log.debug("scan: %d hits, %d kept after removing overlaps", len(hits), len(kept))
    return kept


def _non_overlapping(hits: list[Hit]) -> list[Hit]:
    """Greedy best-first selection of non-overlapping hits per (sequence, motif)."""
    groups: dict[tuple[int, int], list[Hit]] = {}
    for h in hits:
        groups.setdefault((h.seq, h.motif), []).append(h)
    kept: list[Hit] = []
    for key in sorted(groups):
        chosen: list[Hit] = []
        for h in sorted(groups[key], key=lambda h: (-h.score, h.start, h.strand)):
            if all(h.end <= c.start or c.end <= h.start for c in chosen):
                chosen.append(h)
        kept.extend(chosen)
    return kept
