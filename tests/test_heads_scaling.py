"""benchmarks/heads_scaling.py: the idealised vote against cases worked out by hand, the fits, and
the associative-recall data of the trained part."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import norm

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import heads_scaling as hs  # noqa: E402


def _within(observed: float, expected: float, n: int, sds: float = 4.0) -> bool:
    return abs(observed - expected) <= sds * math.sqrt(expected * (1 - expected) / n) + 1e-12


@pytest.mark.parametrize("sampler", [hs.head_votes, hs.head_votes_direct])
def test_one_head_without_noise_is_always_right(sampler):
    rng = np.random.default_rng(0)
    votes = sampler(64, 3, 500, dim=8, noise=0.0, rng=rng)
    assert (votes == 0).all()
    assert hs.vote_accuracy(votes)[0] == 1.0


def _two_keys_error(dim3_noise: float) -> float:
    """One head, L = 2, keys uniform on S² (so their cosine c is uniform on [-1, 1], Archimedes):
    the head errs when 1 − c + s·N(0, 2(1 − c)) < 0, s = noise/√3, i.e. with probability
    Φ(−√((1 − c)/2)/s); integrating over c by hand:
    p = Φ(−1/s) + s²(Φ(1/s) − ½) − s·φ(1/s)."""
    s = dim3_noise / math.sqrt(3)
    return norm.cdf(-1 / s) + s**2 * (norm.cdf(1 / s) - 0.5) - s * norm.pdf(1 / s)


@pytest.mark.parametrize("noise", [0.8, 1.4])
def test_two_items_single_head_and_majority_of_three_match_the_formula(noise):
    p = _two_keys_error(noise)
    n = 60_000
    votes = hs.head_votes(2, 3, n, dim=3, noise=noise, rng=np.random.default_rng(1))
    single = (votes[:, 0] != 0).mean()
    assert _within(single, p, n)
    three = 1 - hs.vote_accuracy(votes)[2]
    assert _within(three, p**3 + 3 * p**2 * (1 - p), n)
    # with two items a vote of 3 heads: plurality and majority are the same rule
    assert hs.vote_accuracy(votes, rule="majority")[2] == pytest.approx(1 - three)
    direct = hs.head_votes_direct(2, 1, 20_000, dim=3, noise=noise, rng=np.random.default_rng(2))
    assert _within((direct[:, 0] != 0).mean(), p, 20_000)


def test_exact_sampler_matches_drawing_the_keys():
    kw = dict(dim=4, noise=1.0)
    fast = hs.head_votes(8, 2, 40_000, rng=np.random.default_rng(3), **kw)
    slow = hs.head_votes_direct(8, 2, 40_000, rng=np.random.default_rng(4), **kw)
    p_fast, p_slow = (fast == 0).mean(), (slow == 0).mean()
    assert abs(p_fast - p_slow) < 4 * math.sqrt(2 * p_slow * (1 - p_slow) / 80_000)
    # wrong votes fall on the 7 other keys evenly, in both
    for votes in (fast, slow):
        counts = np.bincount(votes[votes != 0], minlength=8)[1:]
        assert counts.min() > 0.9 * counts.mean() and counts.max() < 1.1 * counts.mean()
    # and the vote of both heads agrees
    acc_fast, acc_slow = hs.vote_accuracy(fast)[1], hs.vote_accuracy(slow)[1]
    assert abs(acc_fast - acc_slow) < 0.01


def test_vote_counting_by_hand():
    votes = np.array([[0, 1, 1, 0], [0, 1, 2, 3], [1, 2, 0, 0], [0, 2, 0, 0]])
    plural = np.array([hs.vote_accuracy(v[None])[:] for v in votes])
    np.testing.assert_allclose(plural[0], [1, 1 / 2, 0, 1 / 2])  # 0 ties 1, then loses, then ties
    np.testing.assert_allclose(plural[1], [1, 1 / 2, 1 / 3, 1 / 4])  # every head a different item
    np.testing.assert_allclose(plural[2], [0, 0, 1 / 3, 1])
    np.testing.assert_allclose(plural[3], [1, 1 / 2, 1, 1])
    major = hs.vote_accuracy(votes, rule="majority")
    np.testing.assert_allclose(major, [3 / 4, 0, 1 / 4, 1 / 4])  # more than h/2 right votes
    np.testing.assert_allclose(hs.vote_accuracy(votes, chunk=1), hs.vote_accuracy(votes))


def test_smallest_heads():
    assert hs.smallest_heads(np.array([0.5, 0.98, 0.991, 0.97, 0.999]), 0.99) == 3
    assert hs.smallest_heads(np.array([0.5, 0.6]), 0.99) is None


def test_fits_recover_exact_laws():
    lengths = np.array([16, 32, 64, 128, 256, 512, 1024])
    fit = hs.fit_log(lengths, 2.0 + 3.0 * np.log(lengths))
    assert fit.params == pytest.approx((2.0, 3.0))
    assert fit.r2 == pytest.approx(1.0)
    assert np.abs(fit.residuals).max() < 1e-9
    power = hs.fit_power(lengths, 1.5 * lengths**0.4)
    assert power.params == pytest.approx((1.5, 0.4), rel=1e-5)
    assert power.r2 == pytest.approx(1.0)
    # a power law is not a line in ln L: the ln fit leaves structured residuals and a lower R²
    assert hs.fit_log(lengths, 1.5 * lengths**0.4).r2 < 0.99


def test_recall_batch_holds_what_it_says():
    import torch

    gen = torch.Generator().manual_seed(0)
    keys, values, query_keys, targets = hs.recall_batch(12, 8, generator=gen, n_keys=20, n_values=5)
    assert keys.shape == values.shape == (1, 12) and query_keys.shape == targets.shape == (1, 8)
    keys, values, query_keys, targets = hs.recall_batch(4, 8, generator=gen, n_keys=20, n_values=5)
    assert keys.shape == (2, 4) and query_keys.shape == (2, 4)  # 2 sequences × 4 queries
    for length in (4, 12):
        keys, values, query_keys, targets = hs.recall_batch(length, 24, generator=gen, n_keys=20, n_values=5)
        for k, v, q, t in zip(keys.tolist(), values.tolist(), query_keys.tolist(), targets.tolist()):
            assert len(set(k)) == len(k) and all(0 <= x < 20 for x in k)  # distinct keys
            assert len(set(q)) == len(q)  # distinct queries
            assert all(0 <= x < 5 for x in v)
            assert t == [v[k.index(x)] for x in q]  # the value stored with each queried key
    a = hs.recall_batch(16, 32, generator=torch.Generator().manual_seed(5))
    b = hs.recall_batch(16, 32, generator=torch.Generator().manual_seed(5))
    assert all(torch.equal(x, y) for x, y in zip(a, b))


def test_recall_model_attends_only_to_the_pairs():
    import torch

    torch.manual_seed(0)
    model = hs.recall_model(4, width=16, n_keys=20, n_values=5).eval()
    keys, values, query_keys, _ = hs.recall_batch(6, 6, generator=torch.Generator().manual_seed(1),
                                                  n_keys=20, n_values=5)
    with torch.no_grad():
        full = model(keys, values, query_keys)
        one = model(keys, values, query_keys[:, 2:3])  # a query's answer does not depend on the others
    assert full.shape == (1, 6, 5)
    torch.testing.assert_close(one[:, 0], full[:, 2])


def test_recall_training_learns_a_short_task():
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a tiny model: more threads only wait on each other
    try:
        run = hs.train_recall(heads=2, length=8, steps=80, seed=0, queries=64, lr=1e-2, eval_queries=256)
    finally:
        torch.set_num_threads(threads)
    assert run["accuracy"] > 0.9  # chance is 1/16
    assert run["steps_to_target"] is None or run["steps_to_target"] <= run["steps_run"]
