"""Enrichment of a motif in positives over background: sequences with a site, one-sided Fisher test."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from mhsa_bio import pwm
from mhsa_bio.stats import fisher_greater, log2_enrichment


class Enrichment(NamedTuple):
    """Sequences with at least one site, p (one-sided Fisher / hypergeometric), log2 ratio.

    evidence : what was counted: ``sequence`` (a site anywhere), ``window`` (a site starting
        inside ``window``, 0-based inclusive starts) or ``seqlets`` (a site inside a seqlet)
    """

    positives_with_site: int
    n_positives: int
    background_with_site: int
    n_background: int
    log2_enrichment: float
    p_value: float
    evidence: str = "sequence"
    window: tuple[int, int] | None = None

    @classmethod
    def of(
        cls,
        a: int,
        n_a: int,
        b: int,
        n_b: int,
        evidence: str = "sequence",
        window: tuple[int, int] | None = None,
    ) -> Enrichment:
        """``a`` of ``n_a`` positives and ``b`` of ``n_b`` background sequences hold a site."""
        return cls(
            a, n_a, b, n_b, log2_enrichment(a, n_a, b, n_b), fisher_greater(a, n_a, b, n_b), evidence, window
        )


def describe(e: Enrichment) -> str:
    """What was counted: ``sequence``, ``seqlets`` or ``window 44-51`` (site starts, 0-based)."""
    return e.evidence if e.window is None else f"{e.evidence} {e.window[0]}-{e.window[1]}"


def motif_enrichment(
    counts: np.ndarray, pos: Sequence[np.ndarray], bg: Sequence[np.ndarray], *, p_site: float = 1e-4
) -> tuple[Enrichment, float]:
    """Scan positives and background with a count matrix (both strands).

    A sequence holds a site when a window scores at least the log-odds whose chance under a
    uniform background is ``p_site`` (FIMO-like); returns the enrichment and that score.
    """
    lo = pwm.log_odds(pwm.probabilities(counts))
    thr = pwm.score_threshold(lo, p_value=p_site)
    a = sum(pwm.has_site(lo, s, thr) for s in pos)
    b = sum(pwm.has_site(lo, s, thr) for s in bg)
    return Enrichment.of(a, len(pos), b, len(bg)), thr


def seqlet_enrichment(
    counts: np.ndarray,
    pos: Sequence[np.ndarray],
    bg: Sequence[np.ndarray],
    pos_seqlets: Sequence[tuple[int, int, int]],
    bg_seqlets: Sequence[tuple[int, int, int]],
    *,
    member_p: float = 1e-3,
) -> Enrichment:
    """Positional enrichment: sequences whose *attention seqlets* hold a site of the matrix.

    For elements at a fixed position (promoter boxes) the matrix also occurs anywhere in the
    background, so a whole-sequence scan sees no enrichment; here only the windows the model
    attends to count, in positives and background alike (same threshold, p = ``member_p`` per
    site, as cluster membership).

    pos_seqlets, bg_seqlets : (sequence index, start, end) of each seqlet
    """
    lo = pwm.log_odds(pwm.probabilities(counts))
    thr = pwm.score_threshold(lo, p_value=member_p)
    half = lo.shape[0] // 2

    def with_site(seqs: Sequence[np.ndarray], seqlets: Sequence[tuple[int, int, int]]) -> int:
        hit = set()
        for i, start, end in seqlets:
            if i not in hit and pwm.has_site(lo, seqs[i][max(0, start - half) : end + half], thr):
                hit.add(i)
        return len(hit)

    a, b = with_site(pos, pos_seqlets), with_site(bg, bg_seqlets)
    return Enrichment.of(a, len(pos), b, len(bg), "seqlets")


def site_window(starts: Sequence[int], width: int, *, pad: int = 2) -> tuple[int, int]:
    """The positional window of a motif: its sites' starts between the quartiles, widened by
    ``pad`` bases on each side; returns ``(first, last)`` start, both inclusive."""
    q1, q3 = np.percentile(np.asarray(starts, dtype=np.float64), [25, 75])
    return max(0, int(math.floor(q1)) - pad), int(math.ceil(q3)) + pad


def window_enrichment(
    counts: np.ndarray,
    pos: Sequence[np.ndarray],
    bg: Sequence[np.ndarray],
    window: tuple[int, int],
    *,
    p_site: float = 1e-4,
) -> Enrichment:
    """Positional enrichment: sequences with a site (either strand) *starting* inside
    ``window`` (0-based, inclusive), positives vs background at the same positions.

    Promoter boxes sit at a fixed distance from the TSS, and their consensus is common anywhere in
    any sequence; counting sites only where the model's sites concentrate tests the position
    and the sequence together. Same site threshold as :func:`motif_enrichment`.
    """
    lo = pwm.log_odds(pwm.probabilities(counts))
    thr = pwm.score_threshold(lo, p_value=p_site)
    first, last = window
    span = slice(first, last + lo.shape[0])
    a = sum(pwm.has_site(lo, s[span], thr) for s in pos)
    b = sum(pwm.has_site(lo, s[span], thr) for s in bg)
    return Enrichment.of(a, len(pos), b, len(bg), "window", window)


def best_evidence(whole: Enrichment, positional: Enrichment) -> Enrichment:
    """The stronger of whole-sequence and positional enrichment, its p Bonferroni-corrected for
    the two tests (p = min(1, 2 · min(p_whole, p_window))), so BH over motifs stays valid."""
    best = positional if positional.p_value < whole.p_value else whole
    return best._replace(p_value=min(1.0, 2.0 * best.p_value))
