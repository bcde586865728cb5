"""PWM scanning: exact p-value thresholds, both strands, non-overlapping hits, palindromes."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from pairs_fixtures import CONSENSUS, motifs, onehot_motif, plant, random_seq

from mhsa_bio.alphabet import reverse_complement
from mhsa_bio.io.meme import MemeMotif
from mhsa_bio.pairs.geometry import site_pairs
from mhsa_bio.pairs.sites import scan
from mhsa_bio.pwm import background_frequencies, palindrome_shift, prepare_motif, score_distribution


def _brute_tail(matrix: np.ndarray, bg: np.ndarray) -> dict[int, float]:
    """P(score >= s) for every reachable integer score, by enumerating all 4^W words."""
    width = matrix.shape[0]
    scores, probs = [], []
    for word in itertools.product(range(4), repeat=width):
        scores.append(int(sum(matrix[k, b] for k, b in enumerate(word))))
        probs.append(float(np.prod([bg[b] for b in word])))
    scores_a, probs_a = np.array(scores), np.array(probs)
    return {s: float(probs_a[scores_a >= s].sum()) for s in np.unique(scores_a)}


def test_score_distribution_matches_enumeration() -> None:
    rng = np.random.default_rng(3)
    probs = rng.dirichlet(np.ones(4), size=5)
    bg = np.array([0.3, 0.2, 0.2, 0.3])
    sm = prepare_motif(MemeMotif("X", "X", probs, 20), index=0, background=bg, pvalue=0.01)
    brute = _brute_tail(sm.matrix, bg)
    for score, tail in brute.items():
        assert sm.pvalue(score) == pytest.approx(tail, rel=1e-9, abs=1e-15)
    pmf, low = score_distribution(sm.matrix, bg)
    assert pmf.sum() == pytest.approx(1.0)
    assert low == min(brute)


@pytest.mark.parametrize("pvalue", [0.2, 0.01, 1e-3])
def test_threshold_is_lowest_score_with_p_below(pvalue: float) -> None:
    rng = np.random.default_rng(11)
    probs = rng.dirichlet(np.ones(4) * 0.5, size=5)
    bg = np.array([0.25, 0.25, 0.25, 0.25])
    sm = prepare_motif(MemeMotif("X", "X", probs, 20), index=0, background=bg, pvalue=pvalue)
    brute = _brute_tail(sm.matrix, bg)
    allowed = [s for s, tail in brute.items() if tail <= pvalue]
    assert sm.threshold == min(allowed)
    below = [s for s in brute if s < sm.threshold]
    assert all(brute[s] > pvalue for s in below)


def test_scan_finds_planted_sites_on_both_strands() -> None:
    rng = np.random.default_rng(0)
    ma = onehot_motif("M1", "MA", CONSENSUS["MA"])
    seq = random_seq(rng, 120)
    seq = plant(seq, CONSENSUS["MA"], 10, "+")
    seq = plant(seq, CONSENSUS["MA"], 70, "-")
    bg = background_frequencies([seq])
    sm = prepare_motif(ma, index=0, background=bg, pvalue=1e-4)
    hits = scan([seq], [sm])
    found = {(h.start, h.end, h.strand) for h in hits}
    assert (10, 18, "+") in found
    assert (70, 78, "-") in found
    for h in hits:
        window = seq[h.start:h.end]
        read = window if h.strand == "+" else reverse_complement(window)
        if (h.start, h.strand) in ((10, "+"), (70, "-")):
            assert read == CONSENSUS["MA"]
            assert h.pvalue < 1e-4
    # A window that crosses from one sequence into the next is never a hit.
    half = CONSENSUS["MA"][:4], CONSENSUS["MA"][4:]
    left = random_seq(rng, 30)[:-4] + half[0]
    right = half[1] + random_seq(rng, 30)[4:]
    assert not [h for h in scan([left, right], [sm]) if h.start >= 22]


def test_palindrome_gives_one_hit_and_n_windows_are_skipped() -> None:
    pal = onehot_motif("P", "PAL", CONSENSUS["PAL"])
    assert reverse_complement(CONSENSUS["PAL"]) == CONSENSUS["PAL"]
    seq = "CCCCCCCCCC" + CONSENSUS["PAL"] + "CCCCCCCCCC" + "GATNTC" + "CCCC"
    sm = prepare_motif(pal, index=0, background=np.full(4, 0.25), pvalue=1e-3)
    hits = scan([seq], [sm])
    assert [(h.start, h.strand) for h in hits] == [(10, "+")]


#: A near-palindrome: its 10 bp core GTCAGCTGAC is its own reverse complement, the TT is not, so
#: a site read on + at s also reads on - at s - 2 (as TAL1::TCF3's E-box, shift +2 there).
NEAR_PAL = "GTCAGCTGACTT"


def test_palindrome_shift() -> None:
    bg = np.full(4, 0.25)

    def shift(consensus: str, pvalue: float = 1e-3) -> int | None:
        return prepare_motif(onehot_motif("x", "x", consensus), index=0, background=bg,
                             pvalue=pvalue).palindrome

    assert shift(CONSENSUS["PAL"]) == 0
    assert shift(CONSENSUS["MA"]) is None and shift(CONSENSUS["MB"]) is None
    assert shift(NEAR_PAL) == -2
    assert shift(reverse_complement(NEAR_PAL)) == 2
    # The rule is the expectation the docstring states: recompute it for the best shift.
    sm = prepare_motif(onehot_motif("x", "x", NEAR_PAL), index=0, background=bg, pvalue=1e-3)
    rc = sm.matrix[::-1][:, [3, 2, 1, 0]]
    probs = sm.motif.probs
    expected = sum((probs[j - 2] @ rc[j]) if j >= 2 else (bg @ rc[j]) for j in range(12))
    assert expected >= sm.threshold
    # A stricter threshold than a shifted reading can reach: not a palindrome there.
    assert palindrome_shift(sm.matrix, probs, bg, int(expected) + 1) is None


def test_near_palindrome_site_is_one_site_on_either_strand() -> None:
    """The flanks decide which strand the scan calls a near-palindromic site on; the pair key
    (spacing, orientation) is the same either way, with the palindrome's strand undefined."""
    bg = np.full(4, 0.25)
    sms = [prepare_motif(m, index=k, background=bg, pvalue=1e-3) for k, m in
           enumerate([onehot_motif("A", "MA", CONSENSUS["MA"]), onehot_motif("P", "NP", NEAR_PAL)])]
    core = NEAR_PAL[:10]
    left = "C" * 6 + CONSENSUS["MA"] + "C" * 10
    plus = left + "CC" + core + "TT" + "C" * 8  # + reading complete, - reading misses its AA
    minus = left + "AA" + core + "CC" + "C" * 8  # - reading complete at 2 bp upstream
    hits = scan([plus, minus], sms)
    pal = [h for h in hits if h.motif == 1]
    assert [(h.seq, h.start, h.strand) for h in pal] == [(0, 26, "+"), (1, 24, "-")]
    keys = [site_pairs([h for h in hits if h.seq == k], palindromes={1: sms[1].palindrome})
            for k in (0, 1)]
    assert len(keys[0]) == len(keys[1]) == 1
    assert keys[0][0][2] == keys[1][0][2]
    assert keys[0][0][2].orientation == "+." and keys[0][0][2].spacing == 26 + 5.5 - 1 - (6 + 3.5)
    # Without the rule the one site gives two groups, 2 bp apart, on two orientations.
    raw = [site_pairs([h for h in hits if h.seq == k])[0][2] for k in (0, 1)]
    assert raw[0].orientation == "++" and raw[1].orientation == "+-"
    assert raw[1].spacing - raw[0].spacing == -2


def test_best_non_overlapping_hits_per_motif() -> None:
    # Two overlapping matches of the same motif: only the better one is kept; another motif may
    # overlap it.
    ma, mb = motifs()
    good = CONSENSUS["MA"]
    weak = "TTGACTGT"  # one mismatch
    seq = "C" * 5 + weak[:4] + good + "C" * 20
    bg = np.full(4, 0.25)
    sms = [prepare_motif(m, index=k, background=bg, pvalue=1e-3) for k, m in enumerate([ma, mb])]
    hits = [h for h in scan([seq], sms) if h.motif == 0]
    assert [(h.start, h.strand) for h in hits] == [(9, "+")]


def test_background_is_strand_symmetric() -> None:
    bg = background_frequencies(["AAAAAAAC", "NNNN"])
    assert bg[0] == pytest.approx(bg[3])
    assert bg[1] == pytest.approx(bg[2])
    assert bg.sum() == pytest.approx(1.0)
