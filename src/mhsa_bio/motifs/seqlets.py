"""Seqlets: high-attention windows, with a threshold calibrated on background to a target FDR.

Each sequence's per-base score is summed over a sliding ``window``; the window sums' local maxima
(greedy, non-overlapping, at most ``max_per_seq`` per sequence) are candidate seqlets. The same is
done on background sequences, and the threshold is the lowest score t at which the estimated false
discovery rate

    FDR(t) = (background candidates ≥ t / background sequences) · positive sequences
             / (positive candidates ≥ t)

is at most the target (the smallest such t over a monotone FDR curve, as q-values are made).
A seqlet is its window plus ``flank`` bases on each side, cut at the sequence ends.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np


class Seqlet(NamedTuple):
    """One high-scoring window of sequence ``seq_index``: bases [start, end), 0-based."""

    seq_index: int
    start: int
    end: int
    score: float
    peak: int  # 0-based base of the window's largest per-base score


class Calibration(NamedTuple):
    """The threshold and what it was calibrated on."""

    threshold: float  # inf when no threshold reaches the target FDR
    fdr: float
    n_positive_candidates: int
    n_background_candidates: int
    n_positive_passing: int
    n_background_passing: int
    achieved_fdr: float


def window_sums(score: np.ndarray, window: int) -> np.ndarray:
    """(L - window + 1,) sums of ``score`` over each window; one window when L < window."""
    if score.size <= window:
        return np.array([float(score.sum())])
    c = np.concatenate([[0.0], np.cumsum(score, dtype=np.float64)])
    return c[window:] - c[:-window]


def candidates(scores: Sequence[np.ndarray], *, window: int, max_per_seq: int = 3) -> list[Seqlet]:
    """Greedy non-overlapping window maxima of every sequence, best first within a sequence.

    Parameters
    ----------
    scores : N per-base score arrays (L_i,)
    window : width of the scoring window in bases
    max_per_seq : at most this many candidates per sequence
    """
    out: list[Seqlet] = []
    for i, score in enumerate(scores):
        sums = window_sums(np.asarray(score, dtype=np.float64), window)
        taken = np.zeros(sums.size, dtype=bool)
        for _ in range(max_per_seq):
            masked = np.where(taken, -np.inf, sums)
            j = int(np.argmax(masked))
            if not np.isfinite(masked[j]):
                break
            end = min(j + window, score.size)
            peak = j + int(np.argmax(score[j:end]))
            out.append(Seqlet(i, j, end, float(sums[j]), peak))
            taken[max(0, j - window + 1) : j + window] = True
    return out


def calibrate(
    pos: Sequence[Seqlet], bg: Sequence[Seqlet], *, n_pos: int, n_bg: int, fdr: float
) -> Calibration:
    """The lowest threshold whose estimated FDR (see the module docstring) is ≤ ``fdr``."""
    p = np.sort(np.array([s.score for s in pos]))[::-1]
    b = np.sort(np.array([s.score for s in bg]))
    if p.size == 0 or n_bg == 0:
        return Calibration(float("inf"), fdr, p.size, b.size, 0, 0, float("nan"))
    # for each positive score (descending) as threshold: background count ≥ it
    bg_ge = b.size - np.searchsorted(b, p, side="left")
    pos_ge = np.arange(1, p.size + 1)
    est = (bg_ge / n_bg) * n_pos / pos_ge
    est = np.minimum.accumulate(est[::-1])[::-1]  # monotone, as q-values
    ok = np.flatnonzero(est <= fdr)
    if ok.size == 0:
        return Calibration(float("inf"), fdr, p.size, b.size, 0, 0, float(est.min()))
    k = int(ok.max())
    t = float(p[k])
    return Calibration(t, fdr, p.size, b.size, int((p >= t).sum()), int((b >= t).sum()), float(est[k]))


def extend(seqlets: Sequence[Seqlet], lengths: Sequence[int], *, flank: int) -> list[Seqlet]:
    """Widen each seqlet by ``flank`` bases on each side, cut at its sequence's ends."""
    return [
        s._replace(start=max(0, s.start - flank), end=min(lengths[s.seq_index], s.end + flank))
        for s in seqlets
    ]


def call_seqlets(
    pos_scores: Sequence[np.ndarray],
    bg_scores: Sequence[np.ndarray],
    *,
    window: int,
    flank: int,
    fdr: float,
    max_per_seq: int = 3,
) -> tuple[list[Seqlet], list[Seqlet], Calibration]:
    """Seqlets of positives and of background at the calibrated threshold.

    Returns
    -------
    pos_seqlets, bg_seqlets : extended by ``flank``, in (sequence, start) order
    calibration : the threshold and counts
    """
    pc = candidates(pos_scores, window=window, max_per_seq=max_per_seq)
    bc = candidates(bg_scores, window=window, max_per_seq=max_per_seq)
    cal = calibrate(pc, bc, n_pos=len(pos_scores), n_bg=len(bg_scores), fdr=fdr)
    keep_p = sorted((s for s in pc if s.score >= cal.threshold), key=lambda s: s[:2])
    keep_b = sorted((s for s in bc if s.score >= cal.threshold), key=lambda s: s[:2])
    return (
        extend(keep_p, [len(s) for s in pos_scores], flank=flank),
        extend(keep_b, [len(s) for s in bg_scores], flank=flank),
        cal,
    )
