"""Finding motif sites with PWMs: log-odds scores, exact p-values (as FIMO), both strands."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from mhsa_bio.alphabet import encode_dna
from mhsa_bio.io.meme import MemeMotif

log = logging.getLogger(__name__)

__all__ = ["Hit", "ScoredMotif", "background_frequencies", "palindrome_shift", "prepare_motif",
           "scan", "score_distribution"]

#: Integer score units per bit: log-odds are rounded to 1/100 bit, so p-values are exact for
#: the rounded matrix (the matrix actually scanned) and within rounding of the real one.
SCALE = 100


class ScoredMotif(NamedTuple):
    """A motif ready to scan.

    motif_index : its position in the motif list (the canonical A/B order of pairs)
    motif : the MEME motif
    matrix : (W, 4) int64 log-odds in 1/``SCALE`` bits, columns A C G T
    tail : (S,) float64, ``tail[s]`` = P(score >= min_score + s) under the background
    min_score : the lowest possible integer score
    threshold : the integer score that a site must reach (p <= the p-value threshold)
    palindrome : None, or the shift d of a (near-)palindrome (``palindrome_shift``): a site read
        on ``+`` at ``s`` is typically also a site on ``-`` at ``s + d``
    """

    motif_index: int  # not `index`, which would hide tuple.index
    motif: MemeMotif
    matrix: np.ndarray
    tail: np.ndarray
    min_score: int
    threshold: int
    palindrome: int | None = None

    @property
    def width(self) -> int:
        return int(self.matrix.shape[0])

    def pvalue(self, score: int | np.ndarray) -> np.ndarray:
        """Exact P(S >= score) under the background, for integer scores."""
        idx = np.clip(np.asarray(score) - self.min_score, 0, len(self.tail) - 1)
        out = self.tail[idx]
        return np.where(np.asarray(score) < self.min_score, 1.0, out)


class Hit(NamedTuple):
    """One site: sequence index, motif index, 0-based ``[start, end)``, strand, score (bits), p."""

    seq: int
    motif: int
    start: int
    end: int
    strand: str
    score: float
    pvalue: float


def background_frequencies(seqs: Sequence[str]) -> np.ndarray:
    """A C G T frequencies of ``seqs`` (N ignored), averaged with their complement so that both
    strands share one background, plus one pseudocount per base (uniform when there are no
    bases; never zero). Shape (4,)."""
    counts = np.zeros(4, dtype=np.float64)
    for seq in seqs:
        tokens = encode_dna(seq)
        counts += np.bincount(tokens[tokens < 4], minlength=4)[:4]
    counts = counts + counts[::-1] + 1.0  # one pseudocount each: no base is ever impossible
    return counts / counts.sum()


def score_distribution(matrix: np.ndarray, background: np.ndarray) -> tuple[np.ndarray, int]:
    """Exact distribution of the integer score of a random background window.

    Dynamic programming over the columns (as FIMO / TFM-PVALUE do for a rounded matrix).

    Parameters
    ----------
    matrix : (W, 4) integer scores
    background : (4,) base probabilities

    Returns
    -------
    pmf : (S,) P(score = min_score + s)
    min_score : int
    """
    lo = matrix.min(axis=1)
    span = (matrix.max(axis=1) - lo).astype(np.int64)
    pmf = np.ones(1, dtype=np.float64)
    for col, low, width in zip(matrix, lo, span, strict=True):
        new = np.zeros(len(pmf) + int(width), dtype=np.float64)
        for base in range(4):
            shift = int(col[base] - low)
            new[shift:shift + len(pmf)] += background[base] * pmf
        pmf = new
    return pmf, int(lo.sum())


def prepare_motif(motif: MemeMotif, *, index: int, background: np.ndarray,
                  pvalue: float = 1e-4, pseudocount: float = 0.1) -> ScoredMotif:
    """Log-odds matrix (bits, vs ``background``) rounded to 1/``SCALE`` bit and its threshold.

    The probabilities get a pseudocount as in FIMO: ``(p * nsites + pseudocount * bg) /
    (nsites + pseudocount)`` (nsites 20 when the file gives none), so zeros never give minus
    infinity. The threshold is the lowest
    integer score ``t`` with exact P(score >= t) <= ``pvalue``.
    """
    nsites = motif.nsites if motif.nsites > 0 else 20
    probs = (motif.probs * nsites + pseudocount * background) / (nsites + pseudocount)
    logodds = np.log2(probs / background[None, :])
    matrix = np.rint(logodds * SCALE).astype(np.int64)
    pmf, min_score = score_distribution(matrix, background)
    tail = np.cumsum(pmf[::-1])[::-1]
    tail = np.minimum(tail, 1.0)
    ok = np.flatnonzero((tail <= pvalue) & (pmf > 0))  # the lowest reachable such score
    if len(ok):
        threshold = min_score + int(ok[0])
    else:
        threshold = int(matrix.max(axis=1).sum()) + 1
        log.warning("motif %s (%d bp): even its best word has p = %.2g > %g, so it has no sites; "
                    "raise --pvalue", motif.id, len(matrix), tail[-1], pvalue)
    shift = palindrome_shift(matrix, motif.probs, background, threshold)
    if shift is not None:
        log.info("motif %s is a (near-)palindrome: its sites also read on the other strand %+d bp "
                 "off; its orientation is undefined ('.')", motif.id, shift)
    return ScoredMotif(index, motif, matrix, tail, min_score, threshold, shift)


def palindrome_shift(matrix: np.ndarray, probs: np.ndarray, background: np.ndarray,
                     threshold: int) -> int | None:
    """Is the motif its own reverse complement, near enough that its sites are sites twice?

    For every shift d (|d| < W) the expected score of a typical site read on the other strand
    at ``start + d`` is computed: window columns over the site drawn from the motif
    (``probs``), the others from ``background``. The motif counts as a (near-)palindrome when
    the best such expectation reaches the site ``threshold``, or the expected score of a typical
    site on its own strand when that is lower (sharp motifs, whose typical site misses the
    threshold too): a site is then as much a site on the other strand, and which reading the
    scan keeps depends on the flanks.

    Returns
    -------
    The best shift d, or None for a motif that is not a palindrome at this threshold.
    """
    width = matrix.shape[0]
    rc = matrix[::-1, ::-1]  # columns A C G T reversed = complement
    bg_expected = rc @ background  # (W,) expected score of a background base per column
    motif_expected = probs @ rc.T  # [k, j]: expected rc column j score of a motif column k
    own = float(np.sum(probs * matrix))  # a typical site read on its own strand
    best, best_shift = -np.inf, None
    for d in range(-(width - 1), width):
        total = 0.0
        for j in range(width):
            k = j + d
            total += motif_expected[k, j] if 0 <= k < width else bg_expected[j]
        if total > best:
            best, best_shift = total, d
    return best_shift if best >= min(threshold, own) - 1e-6 * abs(own) else None


def _window_scores(tokens: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Integer score of every window of ``tokens`` (1-D, 0..4); windows holding N get a very low
    score. Shape (len(tokens) - W + 1,)."""
    width = matrix.shape[0]
    table = np.hstack([matrix, np.full((width, 1), -(1 << 40), dtype=np.int64)])  # N column
    windows = np.lib.stride_tricks.sliding_window_view(tokens, width)  # (n, W)
    return table[np.arange(width)[None, :], windows].sum(axis=1)


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
    complement = np.array([3, 2, 1, 0], dtype=np.int64)
    hits: list[Hit] = []
    for sm in motifs:
        width = sm.width
        if len(tokens) < width:
            continue
        forward = _window_scores(tokens, sm.matrix)
        rc_matrix = sm.matrix[::-1][:, complement]
        reverse = _window_scores(tokens, rc_matrix)
        for strand, scores in (("+", forward), ("-", reverse)):
            pos = np.flatnonzero(scores >= sm.threshold)
            seq_idx = np.searchsorted(offsets, pos, side="right") - 1
            for p, k in zip(pos.tolist(), seq_idx.tolist(), strict=True):
                start = p - int(offsets[k])
                score = int(scores[p])
                hits.append(Hit(k, sm.motif_index, start, start + width, strand, score / SCALE,
                                float(sm.pvalue(score))))
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
