"""The statistics every analysis shares: Benjamini–Hochberg q-values, the one-sided Fisher exact
test, log2 enrichment with its pseudocounts, and AUROC."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = ["auroc", "benjamini_hochberg", "fisher_greater", "log2_enrichment"]


def benjamini_hochberg(p: Sequence[float] | np.ndarray) -> np.ndarray:
    """Benjamini–Hochberg q-values (step-up, monotone, capped at 1), in the input order.

    A NaN p-value (a test that was not made) gets a NaN q-value and is left out of the number of
    tests m; without NaN this is the plain procedure over all m = len(p) values.

    Parameters
    ----------
    p : (m,) p-values

    Returns
    -------
    (m,) float64 q-values
    """
    p = np.asarray(p, dtype=np.float64)
    q = np.full_like(p, np.nan)
    ok = np.flatnonzero(~np.isnan(p))
    if len(ok) == 0:
        return q
    order = ok[np.argsort(p[ok], kind="stable")]
    m = len(ok)
    ranked = p[order] * m / np.arange(1, m + 1)
    ranked = np.minimum.accumulate(ranked[::-1])[::-1]
    q[order] = np.minimum(ranked, 1.0)
    return q


def fisher_greater(a: int, n_a: int, b: int, n_b: int) -> float:
    """One-sided Fisher exact p-value that ``a`` of ``n_a`` is a larger share than ``b`` of ``n_b``.

    P(X ≥ a) for X hypergeometric (``n_a`` drawn from ``n_a + n_b`` of which ``a + b`` hold the
    property); 1 when a row or a column of the 2 × 2 table is empty.
    """
    from scipy.stats import fisher_exact

    return float(fisher_exact([[a, n_a - a], [b, n_b - b]], alternative="greater").pvalue)


def log2_enrichment(a: int, n_a: int, b: int, n_b: int) -> float:
    """log2 of the share ``a`` / ``n_a`` over the share ``b`` / ``n_b``, each as
    (k + 0.5) / (n + 1): finite for zero counts and for empty sets (0 when both are empty)."""
    return math.log2(((a + 0.5) / (n_a + 1)) / ((b + 0.5) / (n_b + 1)))


def auroc(labels: Sequence[bool] | np.ndarray, scores: Sequence[float] | np.ndarray) -> float:
    """Area under the ROC curve: the Mann–Whitney U of the positives' scores over the negatives',
    over n_pos · n_neg (tied scores count ½); NaN when one class is empty.

    Parameters
    ----------
    labels : (N,) true for a positive
    scores : (N,) higher for a more likely positive
    """
    from scipy.stats import rankdata

    labels = np.asarray(labels, dtype=bool)
    n_pos = int(labels.sum())
    n_neg = labels.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(scores)
    return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))
