"""Count matrices, information content, flank trimming, log-odds scanning and score thresholds.

Matrices are (W, 4) over A C G T, as in the MEME format's rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from mhsa_bio.alphabet import encode_dna

#: Token → column of the complement base (N stays N = 4).
_COMP = np.array([3, 2, 1, 0, 4], dtype=np.int64)


class Hit(NamedTuple):
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


def score_threshold(lo: np.ndarray, *, p_value: float, resolution: float = 0.01,
                    background: np.ndarray | None = None) -> float:
    """Log-odds score whose chance of being reached by a random site is ≤ ``p_value``.

    The exact score distribution under an i.i.d. background is built by dynamic programming on
    scores rounded to ``resolution`` (as FIMO does). When even the best score is more frequent
    than ``p_value`` (short motifs), the best score itself is returned (unrounded: rounding
    each column up could put the threshold above every real site).
    """
    bg = np.full(4, 0.25) if background is None else np.asarray(background, dtype=np.float64)
    ints = np.round(lo / resolution).astype(np.int64)  # (W, 4)
    lo_min = int(ints.min(1).sum())
    size = int(ints.max(1).sum()) - lo_min + 1
    dist = np.zeros(size)
    dist[0] = 1.0
    offset = 0
    for col in ints:
        m = int(col.min())
        new = np.zeros(size)
        for b in range(4):
            shift = int(col[b]) - m
            new[shift:] += bg[b] * dist[: size - shift]
        dist = new
        offset += m
    tail = np.cumsum(dist[::-1])[::-1]  # P(score ≥ s)
    ok = np.flatnonzero(tail <= p_value)
    if not ok.size:
        return float(lo.max(1).sum()) - 1e-9
    return (int(ok[0]) + lo_min) * resolution - 1e-9


def scan_scores(lo: np.ndarray, seq: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Log-odds of every site on both strands.

    Parameters
    ----------
    lo : (W, 4) log-odds
    seq : (L,) tokens 0..4

    Returns
    -------
    fwd, rev : (L - W + 1,) scores of the site starting at each base, read on + and on −
        (an N scores the column's mean). Empty when L < W.
    """
    w = lo.shape[0]
    if seq.size < w:
        return np.zeros(0), np.zeros(0)
    lo5 = np.concatenate([lo, lo.mean(1, keepdims=True)], axis=1)  # (W, 5)
    rc5 = np.concatenate([reverse_complement_matrix(lo), lo.mean(1, keepdims=True)[::-1]], 1)
    idx = np.lib.stride_tricks.sliding_window_view(seq, w)  # (L - W + 1, W)
    cols = np.arange(w)[None, :]
    return lo5[cols, idx].sum(1), rc5[cols, idx].sum(1)


def best_hit(lo: np.ndarray, seq: np.ndarray) -> Hit | None:
    """The best-scoring site on either strand (first on ties, + before −)."""
    fwd, rev = scan_scores(lo, seq)
    if fwd.size == 0:
        return None
    i, j = int(np.argmax(fwd)), int(np.argmax(rev))
    if fwd[i] >= rev[j]:
        return Hit(i, "+", float(fwd[i]))
    return Hit(j, "-", float(rev[j]))


def has_site(lo: np.ndarray, seq: np.ndarray, threshold: float) -> bool:
    """Whether any site on either strand scores at least ``threshold``."""
    fwd, rev = scan_scores(lo, seq)
    return bool(fwd.size) and bool(max(fwd.max(), rev.max()) >= threshold)


def site_tokens(seq: np.ndarray, start: int, width: int, strand: str) -> np.ndarray:
    """(width,) tokens of the site [start, start + width) read on ``strand``; −1 outside."""
    out = np.full(width, -1, dtype=np.int64)
    lo_, hi = max(start, 0), min(start + width, seq.size)
    if hi > lo_:
        out[lo_ - start: hi - start] = seq[lo_:hi]
    if strand == "-":
        out = np.where(out >= 0, _COMP[np.clip(out, 0, 4)], -1)[::-1]
    return out


def consensus(probs: np.ndarray) -> str:
    """IUPAC-free consensus: the top base, lowercase where the column holds < 1 bit."""
    ic = information(probs)
    return "".join(("ACGT"[int(np.argmax(r))] if ic[i] >= 1.0 else "acgt"[int(np.argmax(r))])
                   for i, r in enumerate(probs))
