"""Tests for the uniform dinucleotide shuffle."""

from __future__ import annotations

import time
from collections import Counter

import numpy as np
import pytest
from scipy import stats

from mhsa_bio.io.fasta import Record
from mhsa_bio.shuffle import dinucleotide_shuffle, shuffle_records


def dinucleotides(seq: str) -> Counter[str]:
    return Counter(seq[i : i + 2] for i in range(len(seq) - 1))


def random_dna(rng: np.random.Generator, n: int, alphabet: str = "ACGT") -> str:
    return "".join(rng.choice(list(alphabet), size=n))


FIXED_CASES = [
    "A",
    "AC",
    "GG",
    "ACG",
    "AAA",
    "AAAAAAAAAA",
    "ACACACACAC",
    "AAAAT",
    "TAAAA",
    "NNNNACGTNNNN",
    "ANA",
    "ACGTN",
    "NACGTACGTN",
    "AAAANAAAA",
]


@pytest.mark.parametrize("seq", FIXED_CASES)
def test_fixed_cases_keep_counts_and_ends(seq: str) -> None:
    rng = np.random.default_rng(1)
    for _ in range(50):
        out = dinucleotide_shuffle(seq, rng)
        assert len(out) == len(seq)
        assert dinucleotides(out) == dinucleotides(seq)
        assert Counter(out) == Counter(seq)
        assert out[0] == seq[0] and out[-1] == seq[-1]


def test_short_sequences_unchanged() -> None:
    rng = np.random.default_rng(0)
    for seq in ["", "A", "N", "AC", "TT"]:
        assert dinucleotide_shuffle(seq, rng) == seq


def test_many_random_inputs_keep_exact_counts() -> None:
    rng = np.random.default_rng(2)
    for i in range(400):
        length = int(rng.integers(3, 120))
        alphabet = ["ACGT", "ACGTN", "AT", "GCN", "ACGTNNNN"][i % 5]
        seq = random_dna(rng, length, alphabet)
        out = dinucleotide_shuffle(seq, rng)
        assert dinucleotides(out) == dinucleotides(seq), seq
        assert (out[0], out[-1]) == (seq[0], seq[-1])


def test_shuffle_changes_sequences() -> None:
    rng = np.random.default_rng(3)
    seq = random_dna(rng, 300)
    outs = {dinucleotide_shuffle(seq, rng) for _ in range(20)}
    assert seq not in outs or len(outs) > 1
    assert len(outs) == 20


def test_shuffles_are_spread_for_a_12mer() -> None:
    seq = "ACGTTGCAAGCT"
    rng = np.random.default_rng(4)
    outs = Counter(dinucleotide_shuffle(seq, rng) for _ in range(2000))
    n_valid = len(_same_dinucleotide_sequences(seq))
    assert n_valid > 50
    # Nearly all sequences with these counts are seen, and none dominates.
    assert len(outs) >= 0.9 * n_valid
    assert max(outs.values()) < 2000 / n_valid * 4


def _same_dinucleotide_sequences(seq: str) -> list[str]:
    """Every sequence over seq's letters with exactly seq's dinucleotide counts (brute force)."""
    letters = sorted(set(seq))
    k = len(letters)
    code = {c: i for i, c in enumerate(letters)}
    middle = len(seq) - 2
    # All k**middle candidates with seq's first and last letter, as an integer matrix.
    grid = np.indices((k,) * middle).reshape(middle, -1).T
    n = grid.shape[0]
    cand = np.concatenate([np.full((n, 1), code[seq[0]]), grid, np.full((n, 1), code[seq[-1]])], 1)
    pairs = cand[:, :-1] * k + cand[:, 1:]
    target = np.bincount(
        [code[a] * k + code[b] for a, b in zip(seq[:-1], seq[1:], strict=True)], minlength=k * k
    )
    keep = np.ones(n, dtype=bool)
    for c in range(k * k):
        keep &= (pairs == c).sum(axis=1) == target[c]
    alphabet = np.array(letters)
    return ["".join(row) for row in alphabet[cand[keep]]]


@pytest.mark.parametrize("seq", ["ACGTTGCAAGCT", "AACAGCATGAA", "ATATTTAAGC", "GNNAGNAAGG"])
def test_uniform_over_all_sequences_with_same_counts(seq: str) -> None:
    valid = _same_dinucleotide_sequences(seq)
    assert seq in valid
    n_draws = max(40 * len(valid), 4000)
    rng = np.random.default_rng(5)
    counts = Counter(dinucleotide_shuffle(seq, rng) for _ in range(n_draws))
    assert set(counts) <= set(valid)
    observed = np.array([counts.get(v, 0) for v in valid])
    result = stats.chisquare(observed)
    assert result.pvalue > 1e-4, (len(valid), observed)


def test_non_uniform_shuffle_would_fail_the_chi_square() -> None:
    """The uniformity check is strong enough to catch a biased sampler."""
    seq = "ACGTTGCAAGCT"
    valid = _same_dinucleotide_sequences(seq)
    rng = np.random.default_rng(6)
    n_draws = 40 * len(valid)
    draws = [dinucleotide_shuffle(seq, rng) for _ in range(n_draws)]
    # A sampler that returns sequences starting "ACG" a little more often than it should.
    biased = draws + [d for d in draws if d.startswith("ACG")][: n_draws // 5]
    counts = Counter(biased)
    observed = np.array([counts.get(v, 0) for v in valid])
    assert stats.chisquare(observed).pvalue < 1e-4


def test_seeded_reproducibility() -> None:
    seq = random_dna(np.random.default_rng(7), 200)
    a = [dinucleotide_shuffle(seq, np.random.default_rng(11)) for _ in range(3)]
    b = [dinucleotide_shuffle(seq, np.random.default_rng(11)) for _ in range(3)]
    assert a == b
    assert dinucleotide_shuffle(seq, np.random.default_rng(12)) != a[0]


def test_shuffle_records_ids_order_and_determinism() -> None:
    rng = np.random.default_rng(8)
    records = [Record(f"s{i}", random_dna(rng, 50), f"s{i} desc") for i in range(5)]
    out = shuffle_records(records, n_per=3, seed=42)
    assert [r.id for r in out] == [f"s{i}_shuf{k}" for i in range(5) for k in range(3)]
    assert out[0].description.startswith("s0_shuf0")
    for i, rec in enumerate(records):
        for k in range(3):
            shuf = out[3 * i + k]
            assert dinucleotides(shuf.seq) == dinucleotides(rec.seq)
    assert shuffle_records(records, n_per=3, seed=42) == out
    assert shuffle_records(records, n_per=3, seed=43) != out
    # A record's shuffles do not depend on the records after it.
    assert shuffle_records(records[:2], n_per=3, seed=42) == out[:6]
    # The k shuffles of one record differ from each other.
    assert len({r.seq for r in out[:3]}) == 3
    assert shuffle_records(records, seed=1, suffix="bg")[0].id == "s0_bg0"


def test_shuffle_records_rejects_zero_per() -> None:
    with pytest.raises(ValueError):
        shuffle_records([Record("a", "ACGT")], n_per=0, seed=0)


def test_speed_of_a_few_thousand_300bp() -> None:
    rng = np.random.default_rng(9)
    records = [Record(f"s{i}", random_dna(rng, 300)) for i in range(2000)]
    start = time.process_time()
    shuffle_records(records, seed=0)
    assert time.process_time() - start < 3.0
