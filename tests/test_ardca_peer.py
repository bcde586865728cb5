"""The contact benchmark's arDCA read-out: the epistatic score computed without enumerating double
mutants equals the one from every double mutant's energy (ArDCA.jl's ``epistatic_score``)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from ardca_peer import epistasis, epistatic_scores  # noqa: E402


def _energy(h, couplings, x):
    """−log P(x) of the autoregressive model, site by site in the model's order."""
    total = 0.0
    for k in range(len(x)):
        logits = h[k] + sum(couplings[k, :, m, x[m]] for m in range(k))
        total -= logits[x[k]] - np.log(np.exp(logits).sum())
    return total


def _double_mutant_epistasis(h, couplings, x):
    """ΔΔE_ij(a, b) from the energies of every single and double mutant of ``x``."""
    length, q = h.shape
    e0 = _energy(h, couplings, x)
    single = np.zeros((length, q))
    for i in range(length):
        for a in range(q):
            y = x.copy()
            y[i] = a
            single[i, a] = _energy(h, couplings, y)
    out = np.zeros((length, q, length, q))
    for i in range(length):
        for j in range(length):
            for a in range(q):
                for b in range(q):
                    if i != j:
                        y = x.copy()
                        y[i], y[j] = a, b
                        out[i, a, j, b] = _energy(h, couplings, y) - single[i, a] - single[j, b] + e0
    return out


@pytest.mark.parametrize("seed", [0, 1])
def test_epistasis_equals_every_double_mutant(seed):
    """The fast ΔΔE, freed of its terms in one state alone by differencing against the reference
    states (ΔΔE is 0 when a = x_i or b = x_j), equals the energies' ΔΔE for every i ≠ j, a, b."""
    rng = np.random.default_rng(seed)
    length, q = 6, 4
    h = rng.normal(size=(length, q))
    couplings = rng.normal(size=(length, q, length, q))
    x = rng.integers(0, q, length)
    want = _double_mutant_epistasis(h, couplings, x)
    eps = epistasis(h, couplings, x)
    sites = np.arange(length)
    at_i = eps[sites, x][:, None, :, :]  # a = x_i: [i, ·, j, b]
    at_j = eps[:, :, sites, x][:, :, :, None]  # b = x_j: [i, a, j, ·]
    both = eps[sites[:, None], x[:, None], sites[None, :], x[None, :]][:, None, :, None]
    got = eps - at_i - at_j + both
    for i in range(length):
        for j in range(length):
            if i != j:
                np.testing.assert_allclose(got[i, :, j, :], want[i, :, j, :], atol=1e-10)


def test_scores_are_symmetric():
    rng = np.random.default_rng(2)
    length, q = 6, 4
    h, couplings = rng.normal(size=(length, q)), rng.normal(size=(length, q, length, q))
    scores = epistatic_scores(h, couplings, rng.permutation(length), rng.integers(0, q, length))
    assert scores.shape == (length, length) and np.allclose(scores, scores.T)


def test_a_planted_coupling_ranks_first():
    """Couplings only between model sites 1 and 4 (columns order[1], order[4]): that pair scores highest."""
    rng = np.random.default_rng(1)
    length, q = 7, 5
    couplings = np.zeros((length, q, length, q))
    couplings[4, :, 1, :] = 3.0 * rng.normal(size=(q, q))
    order = rng.permutation(length)
    scores = epistatic_scores(np.zeros((length, q)), couplings, order, rng.integers(0, q, length))
    i, j = np.unravel_index(np.argmax(np.triu(scores, 1)), scores.shape)
    assert {int(i), int(j)} == {int(order[1]), int(order[4])}


def test_ardca_finds_planted_pairs_through_its_package(tmp_path):
    """End to end where arDCA is installed (7–40 s on 2 cores): its package's fit with its defaults, then
    our read-out, on rows with letters outside its alphabet (X, B, U read as gap, gap, C): the two
    planted pairs rank first. With 1,000 rows instead of 3,000 only one of them does: the
    package's Adam steps stop at its loss threshold with every coupling moved by about the
    learning rate per step, which is noise where there is no signal."""
    pytest.importorskip("arDCA.models")
    from ardca_peer import ardca_contacts
    from contacts_fixtures import planted_msa

    rows = planted_msa(n=3000, length=12, pairs=((1, 9), (3, 6)))
    rows[5] = "X" + rows[5][1:]
    rows[7] = rows[7][:4] + "BU" + rows[7][6:]
    scores = ardca_contacts(rows, tmp_path, seed=0)
    assert scores.shape == (12, 12)
    i, j = np.triu_indices(12, 1)
    top = np.argsort(-scores[i, j])[:2]
    assert {(int(i[k]), int(j[k])) for k in top} == {(1, 9), (3, 6)}
