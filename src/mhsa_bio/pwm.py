"""Position weight matrices: counts, information content, flank trimming, log-odds, the exact
score distribution under a background (thresholds and p-values, as FIMO), both-strand scanning.

Matrices are (W, 4) over A C G T, as in the MEME format's rows.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from mhsa_bio.alphabet import encode_dna
from mhsa_bio.io.meme import MemeMotif

log = logging.getLogger(__name__)

#: Integer score units per bit: log-odds are rounded to 1/100 bit, so p-values are exact for
#: the rounded matrix (the matrix actually scanned) and within rounding of the real one.
SCALE = 100

#: Token → column of the complement base (N stays N = 4).
_COMP = np.array([3, 2, 1, 0, 4], dtype=np.int64)


class BestHit(NamedTuple):
    """Best match of a matrix in a sequence: start of the site, strand ('+'/'-'), score."""

    start: int
    strand: str
    score: float


def tokens(seq: str) -> np.ndarray:
    """(L,) int64 tokens 0..4 (A C G T N)."""
    return encode_dna(seq).astype(np.int64)


def count_matrix(seqs: Sequence[np.ndarray], *, width: int) -> np.ndarray:
    """(width, 4) base counts over aligned token arrays; N (4) and -1 (outside) count nothing."""
    counts = np.zeros((width, 5), dtype=np.float64)
    for s in seqs:
        ok = (s >= 0) & (s < 4)
        np.add.at(counts, (np.arange(width)[ok], s[ok]), 1.0)
    return counts[:, :4]


def probabilities(counts: np.ndarray, *, pseudocount: float = 0.25) -> np.ndarray:
    """(W, 4) row-normalised frequencies with ``pseudocount`` added to every cell."""
    c = counts + pseudocount
    return c / c.sum(1, keepdims=True)


def information(probs: np.ndarray) -> np.ndarray:
    """(W,) information content in bits per column (uniform background)."""
    p = np.clip(probs, 1e-12, 1.0)
    return 2.0 + (p * np.log2(p)).sum(1)


def trim(counts: np.ndarray, *, min_ic: float = 0.3) -> tuple[int, int]:
    """[first, last) columns left after removing low-information flanks (at least one kept)."""
    ic = information(probabilities(counts))
    keep = np.flatnonzero(ic >= min_ic)
    if keep.size == 0:
        best = int(np.argmax(ic))
        return best, best + 1
    return int(keep[0]), int(keep[-1]) + 1


def reverse_complement_matrix(m: np.ndarray) -> np.ndarray:
    """(W, 4) → reverse complement."""
    return m[::-1, ::-1].copy()


def log_odds(probs: np.ndarray, *, background: np.ndarray | None = None) -> np.ndarray:
    """(W, 4) log2(p / background) scores."""
    bg = np.full(4, 0.25) if background is None else np.asarray(background, dtype=np.float64)
    return np.log2(np.clip(probs, 1e-9, 1.0) / bg[None, :])


def score_threshold(
    lo: np.ndarray, *, p_value: float, resolution: float = 0.01, background: np.ndarray | None = None
) -> float:
    """Log-odds score whose chance of being reached by a random site is ≤ ``p_value``.

    The exact score distribution under an i.i.d. background (:func:`score_distribution`) of the
    scores rounded to ``resolution`` (as FIMO does). When even the best score is more frequent
    than ``p_value`` (short motifs), the best score itself is returned (unrounded: rounding
    each column up could put the threshold above every real site).
    """
    bg = np.full(4, 0.25) if background is None else np.asarray(background, dtype=np.float64)
    ints = np.round(lo / resolution).astype(np.int64)  # (W, 4)
    dist, lo_min = score_distribution(ints, bg)
    tail = np.cumsum(dist[::-1])[::-1]  # P(score ≥ s)
    ok = np.flatnonzero(tail <= p_value)
    if not ok.size:
        return float(lo.max(1).sum()) - 1e-9
    return (int(ok[0]) + lo_min) * resolution - 1e-9


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
            new[shift : shift + len(pmf)] += background[base] * pmf
        pmf = new
    return pmf, int(lo.sum())


def scan_scores(
    lo: np.ndarray, seq: np.ndarray, *, n_score: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Log-odds of every site on both strands.

    Parameters
    ----------
    lo : (W, 4) log-odds (float, or integer as :class:`ScoredMotif` ``.matrix``)
    seq : (L,) tokens 0..4
    n_score : what an N scores in any column; None: the column's mean

    Returns
    -------
    fwd, rev : (L - W + 1,) scores of the site starting at each base, read on + and on −
        (the dtype of ``lo``). Empty when L < W.
    """
    w = lo.shape[0]
    if seq.size < w:
        return np.zeros(0), np.zeros(0)
    if n_score is None:
        n_fwd = lo.mean(1, keepdims=True)
        n_rev = n_fwd[::-1]
    else:
        n_fwd = n_rev = np.full((w, 1), n_score, dtype=lo.dtype)
    lo5 = np.concatenate([lo, n_fwd], axis=1)  # (W, 5)
    rc5 = np.concatenate([reverse_complement_matrix(lo), n_rev], 1)
    idx = np.lib.stride_tricks.sliding_window_view(seq, w)  # (L - W + 1, W)
    cols = np.arange(w)[None, :]
    return lo5[cols, idx].sum(1), rc5[cols, idx].sum(1)


def best_hit(lo: np.ndarray, seq: np.ndarray) -> BestHit | None:
    """The best-scoring site on either strand (first on ties, + before −)."""
    fwd, rev = scan_scores(lo, seq)
    if fwd.size == 0:
        return None
    i, j = int(np.argmax(fwd)), int(np.argmax(rev))
    if fwd[i] >= rev[j]:
        return BestHit(i, "+", float(fwd[i]))
    return BestHit(j, "-", float(rev[j]))


def has_site(lo: np.ndarray, seq: np.ndarray, threshold: float) -> bool:
    """Whether any site on either strand scores at least ``threshold``."""
    fwd, rev = scan_scores(lo, seq)
    return bool(fwd.size) and bool(max(fwd.max(), rev.max()) >= threshold)


def site_tokens(seq: np.ndarray, start: int, width: int, strand: str) -> np.ndarray:
    """(width,) tokens of the site [start, start + width) read on ``strand``; −1 outside."""
    out = np.full(width, -1, dtype=np.int64)
    lo_, hi = max(start, 0), min(start + width, seq.size)
    if hi > lo_:
        out[lo_ - start : hi - start] = seq[lo_:hi]
    if strand == "-":
        out = np.where(out >= 0, _COMP[np.clip(out, 0, 4)], -1)[::-1]
    return out


def consensus(probs: np.ndarray) -> str:
    """IUPAC-free consensus: the top base, lowercase where the column holds < 1 bit."""
    ic = information(probs)
    return "".join(
        ("ACGT"[int(np.argmax(r))] if ic[i] >= 1.0 else "acgt"[int(np.argmax(r))])
        for i, r in enumerate(probs)
    )


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


def prepare_motif(
    motif: MemeMotif, *, index: int, background: np.ndarray, pvalue: float = 1e-4, pseudocount: float = 0.1
) -> ScoredMotif:
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
        log.warning(
            "motif %s (%d bp): even its best word has p = %.2g > %g, so it has no sites; raise --pvalue",
            motif.id,
            len(matrix),
            tail[-1],
            pvalue,
        )
    shift = palindrome_shift(matrix, motif.probs, background, threshold)
    if shift is not None:
        log.info(
            "motif %s is a (near-)palindrome: its sites also read on the other strand %+d bp "
            "off; its orientation is undefined ('.')",
            motif.id,
            shift,
        )
    return ScoredMotif(index, motif, matrix, tail, min_score, threshold, shift)


def palindrome_shift(
    matrix: np.ndarray, probs: np.ndarray, background: np.ndarray, threshold: int
) -> int | None:
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
