"""Shared statistics: BH with NaN, all-NaN and ties; Fisher against scipy; log2 enrichment; AUROC."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import fisher_exact, hypergeom

from mhsa_bio.stats import auroc, benjamini_hochberg, fisher_greater, log2_enrichment


def _bh_by_hand(p: list[float]) -> list[float]:
    """q_i = min over j with p_j >= p_i of p_j * m / rank_j, capped at 1 (the definition)."""
    m = len(p)
    ranks = {v: k + 1 for k, v in enumerate(sorted(p))}  # ties: the largest rank of the tie
    return [min(1.0, min(pj * m / ranks[pj] for pj in p if pj >= pi)) for pi in p]


def test_bh_by_definition_with_ties() -> None:
    p = [0.04, 0.01, 0.04, 0.2, 0.03, 0.04]
    np.testing.assert_allclose(benjamini_hochberg(p), _bh_by_hand(p), rtol=1e-15)
    q = benjamini_hochberg(p)
    assert q[0] == q[2] == q[5]  # tied p-values share their q-value
    assert (np.diff(q[np.argsort(p, kind="stable")]) >= 0).all()  # monotone in p


def test_bh_keeps_input_order() -> None:
    # sorted 0.02 0.5 0.75 -> * 3 / rank: 0.06 0.75 0.75
    assert benjamini_hochberg([0.75, 0.02, 0.5]).tolist() == pytest.approx([0.75, 0.06, 0.75])
    assert benjamini_hochberg(np.array([0.8])).tolist() == [0.8]
    assert benjamini_hochberg([1.0, 1.0]).tolist() == [1.0, 1.0]


def test_bh_nan_is_left_out_of_m() -> None:
    p = [0.01, np.nan, 0.04, 0.03, np.nan]
    q = benjamini_hochberg(p)
    assert np.isnan(q[1]) and np.isnan(q[4])
    # the three tested values, as if the NaN were not there (m = 3, not 5)
    np.testing.assert_allclose(q[[0, 2, 3]], benjamini_hochberg([0.01, 0.04, 0.03]), rtol=0)
    np.testing.assert_allclose(q[[0, 2, 3]], [0.03, 0.04, 0.04])


def test_bh_all_nan_and_empty() -> None:
    q = benjamini_hochberg([np.nan, np.nan])
    assert q.shape == (2,) and np.isnan(q).all()
    empty = benjamini_hochberg([])
    assert empty.shape == (0,) and empty.dtype == np.float64


def test_fisher_matches_scipy_on_a_grid() -> None:
    for n_a in range(0, 7):
        for n_b in range(0, 7):
            for a in range(n_a + 1):
                for b in range(n_b + 1):
                    want = fisher_exact([[a, n_a - a], [b, n_b - b]], alternative="greater").pvalue
                    assert fisher_greater(a, n_a, b, n_b) == pytest.approx(want, rel=1e-12)


def test_fisher_is_the_hypergeometric_tail() -> None:
    # P(X >= a), X hypergeometric: n_a draws from n_a + n_b holding a + b successes
    for a, n_a, b, n_b in [(30, 100, 5, 100), (3, 10, 4, 12), (1, 1, 0, 5), (250, 300, 10, 300)]:
        want = float(hypergeom.sf(a - 1, n_a + n_b, a + b, n_a))
        assert fisher_greater(a, n_a, b, n_b) == pytest.approx(want, rel=1e-9)
    assert fisher_greater(1, 1, 0, 5) == pytest.approx(1 / 6, rel=1e-15)  # by hand: 1 of 6
    assert fisher_greater(0, 5, 5, 5) == 1.0  # nothing in positives: not enriched
    assert fisher_greater(0, 0, 0, 0) == 1.0  # an empty table


def test_log2_enrichment_pseudocounts() -> None:
    assert log2_enrichment(50, 100, 10, 100) == pytest.approx(math.log2(50.5 / 10.5))
    assert log2_enrichment(0, 10, 0, 10) == 0.0
    assert log2_enrichment(0, 0, 0, 0) == 0.0  # finite for empty sets
    assert log2_enrichment(5, 5, 0, 5) == pytest.approx(math.log2(5.5 / 0.5))
    assert log2_enrichment(0, 5, 5, 5) == -log2_enrichment(5, 5, 0, 5)


def test_auroc_one_class_is_nan() -> None:
    assert math.isnan(auroc([True, True], [0.2, 0.3]))
    assert math.isnan(auroc([0, 0, 0], [0.2, 0.3, 0.1]))
    assert math.isnan(auroc([], []))


def test_auroc_counts_ties_half_and_is_u_statistic() -> None:
    assert auroc([0, 1], [0.5, 0.5]) == 0.5
    rng = np.random.default_rng(0)
    scores = rng.integers(0, 5, size=40).astype(float)  # many ties
    labels = rng.random(40) < 0.4
    pos, neg = scores[labels], scores[~labels]
    u = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    assert auroc(labels, scores) == pytest.approx(u / (pos.size * neg.size), rel=1e-12)
