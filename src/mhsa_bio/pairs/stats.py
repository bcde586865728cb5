"""Statistics of pair groups: per-head one-sided Mann–Whitney U against a distance-matched null
and against the same pair at other spacings in the real sequences, and plain co-occurrence /
spacing enrichment (one-sided Fisher tests and log2 enrichment of :mod:`mhsa_bio.stats`)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from mhsa_bio.stats import fisher_greater, log2_enrichment

__all__ = ["MIN_COMPARISON", "GroupTest", "compare_group", "enrichment", "log2_ratio", "nearest_null"]


#: Fewest sequences a comparison set (matched null, or the pair at other spacings) must hold.
MIN_COMPARISON = 10


class GroupTest(NamedTuple):
    """One group against its null and its other spacings, for every head (LH = layers × heads).

    p_heads : (LH,) per head, max(p_null_heads, p_spacing_heads): the head passes only when it
        passes both one-sided tests (an intersection–union test, valid without correction);
        all 1 when there is no spacing contrast
    p_null_heads : (LH,) one-sided Mann–Whitney U p-values, group > matched null
    p_spacing_heads : (LH,) one-sided Mann–Whitney U p-values, group > the same pair at other
        spacings in the real sequences; None when not tested
    mean : (LH,) mean co-attention of the group (one value per sequence, averaged)
    null_mean : (LH,) mean co-attention of the matched null
    other_mean : (LH,) mean co-attention of the same pair at the other spacings (NaN when none)
    best : the head with the lowest ``p_null_heads`` (ties: the highest log2 ratio)
    p_null : Bonferroni over heads: min(1, LH × p_null_heads[best]), the pair co-attended
    p_spacing : Bonferroni over heads: min(1, LH × min(p_heads)), the pair co-attended more
        than the null and more than at its other spacings by one head; NaN when not tested
    """

    p_heads: np.ndarray
    p_null_heads: np.ndarray
    p_spacing_heads: np.ndarray | None
    mean: np.ndarray
    null_mean: np.ndarray
    other_mean: np.ndarray
    best: int
    p_null: float
    p_spacing: float


def log2_ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """log2(a / b) with a floor of 1e-12 on both."""
    return np.log2(np.maximum(a, 1e-12) / np.maximum(b, 1e-12))


def compare_group(
    values: np.ndarray, null: np.ndarray, *, other_spacings: np.ndarray | None = None
) -> GroupTest:
    """Per-head one-sided Mann–Whitney U (values > null), and, when ``other_spacings`` is given,
    (values > other_spacings); a head's p is the larger of the two.

    Parameters
    ----------
    values : (n, LH) co-attention, one row per sequence of the group
    null : (m, LH) co-attention of the matched null pairs
    other_spacings : (k, LH) co-attention of the same pair at other spacings in the real
        sequences (one row per sequence and spacing), or None
    """
    from scipy.stats import mannwhitneyu

    def one_sided(other: np.ndarray) -> np.ndarray:
        return np.atleast_1d(mannwhitneyu(values, other, alternative="greater", axis=0).pvalue)

    p_null = one_sided(null)
    p_spacing = None if other_spacings is None else one_sided(other_spacings)
    p_heads = np.ones_like(p_null) if p_spacing is None else np.maximum(p_null, p_spacing)
    mean, null_mean = values.mean(axis=0), null.mean(axis=0)
    other_mean = np.full_like(mean, np.nan) if other_spacings is None else other_spacings.mean(axis=0)
    ratio = log2_ratio(mean, null_mean)
    best = int(np.lexsort((-ratio, p_null))[0])
    lh = len(p_null)
    return GroupTest(
        p_heads,
        p_null,
        p_spacing,
        mean,
        null_mean,
        other_mean,
        best,
        float(min(1.0, lh * p_null[best])),
        float("nan") if p_spacing is None else float(min(1.0, lh * p_heads.min())),
    )


def nearest_null(null_spacing2: np.ndarray, spacing2: int, *, k: int, exclude2: int = 0) -> np.ndarray:
    """Indices of the pairs a group is compared with (spacings doubled, as ``spacing2``): null
    pairs, or the same pair at other spacings in the real sequences.

    The ``k`` pairs nearest in spacing among those more than ``exclude2`` away from
    ``spacing2`` (so the comparison never holds the group's own arrangement); all pairs tied
    with the k-th are kept, so the choice does not depend on the input order.
    """
    dist = np.abs(null_spacing2 - spacing2)
    candidates = np.flatnonzero(dist > exclude2)
    if len(candidates) <= k:
        return candidates
    cutoff = np.partition(dist[candidates], k - 1)[k - 1]
    return candidates[dist[candidates] <= cutoff]


def enrichment(k_pos: int, n_pos: int, k_bg: int, n_bg: int) -> tuple[float, float]:
    """log2 of the ratio of (k + 0.5) / (n + 1) in positives vs background, and the one-sided
    Fisher exact p-value (positives richer; NaN when either set is empty)."""
    ratio = log2_enrichment(k_pos, n_pos, k_bg, n_bg)
    if n_pos == 0 or n_bg == 0:
        return ratio, float("nan")
    return ratio, fisher_greater(k_pos, n_pos, k_bg, n_bg)
