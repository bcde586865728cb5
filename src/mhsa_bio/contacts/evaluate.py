"""Precision of predicted contacts against a structure, at L, L/2 and L/5 per separation range."""

from __future__ import annotations

import numpy as np

#: Separation ranges |i − j| (inclusive); None is open-ended.
RANGES = {"short": (6, 11), "medium": (12, 23), "long": (24, None)}
TOPS = {"L": 1, "L/2": 2, "L/5": 5}


def precision_at(
    scores: np.ndarray, contacts: np.ndarray, *, min_sep: int, max_sep: int | None, top: int
) -> float:
    """Fraction of true contacts among the ``top`` best-scoring pairs in a separation range.

    Parameters
    ----------
    scores : (L, L) contact scores (higher = more likely); only i < j is read
    contacts : (L, L) int, 1 contact, 0 not, -1 unknown; unknown pairs are left out before
        ranking, so unmapped residues neither help nor hurt
    min_sep, max_sep : the separation range, inclusive (max_sep None = no upper bound)
    top : how many pairs to take; fewer when the range holds fewer known pairs

    Returns
    -------
    The precision, or NaN when the range holds no known pair. Ties keep the order (i, j).
    """
    length = scores.shape[0]
    i, j = np.triu_indices(length, 1)
    sep = j - i
    keep = (sep >= min_sep) & (contacts[i, j] >= 0)
    if max_sep is not None:
        keep &= sep <= max_sep
    if not keep.any() or top <= 0:
        return float("nan")
    s, t = scores[i[keep], j[keep]], contacts[i[keep], j[keep]]
    order = np.argsort(-s, kind="stable")[:top]
    return float(t[order].mean())


def precision_table(scores: np.ndarray, contacts: np.ndarray) -> dict[str, dict[str, float]]:
    """Precision at L, L/2, L/5 for short (6–11), medium (12–23) and long (≥ 24) ranges.

    L is the query length. Returns ``{"long": {"P@L": .., "P@L/2": .., "P@L/5": ..}, ...}``.
    """
    length = scores.shape[0]
    out: dict[str, dict[str, float]] = {}
    for name, (lo, hi) in RANGES.items():
        out[name] = {
            f"P@{k}": precision_at(scores, contacts, min_sep=lo, max_sep=hi, top=max(1, length // d))
            for k, d in TOPS.items()
        }
    return out


def contact_counts(contacts: np.ndarray) -> dict[str, int]:
    """Number of true contacts per separation range (i < j, known pairs only)."""
    i, j = np.triu_indices(contacts.shape[0], 1)
    sep = j - i
    out = {}
    for name, (lo, hi) in RANGES.items():
        m = (sep >= lo) & (sep <= (hi if hi is not None else sep.max(initial=0)))
        out[name] = int((contacts[i[m], j[m]] == 1).sum())
    return out
