"""PWM scanning: exact p-value thresholds, both strands, non-overlapping hits, the MEME reader."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from pairs_fixtures import CONSENSUS, SHARED_DATA, meme_text, motifs, onehot_motif, plant, random_seq

from mhsa_bio.alphabet import reverse_complement
from mhsa_bio.errors import InputError
from mhsa_bio.pairs.meme_reader import Motif, read_meme, resolve_meme_path
from mhsa_bio.pairs.scan import (
    background_frequencies,
    prepare_motif,
    scan,
    score_distribution,
)


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
    sm = prepare_motif(Motif("X", "X", probs, 20.0), index=0, background=bg, pvalue=0.01)
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
    sm = prepare_motif(Motif("X", "X", probs, 20.0), index=0, background=bg, pvalue=pvalue)
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


def test_read_meme_round_trip_and_folder(tmp_path) -> None:  # type: ignore[no-untyped-def]
    ms = motifs(("MA", "MB", "PAL"))
    (tmp_path / "motifs.meme").write_text(meme_text(ms))
    got, bg = read_meme(tmp_path)
    assert [m.id for m in got] == ["M1", "M2", "M3"]
    assert [m.name for m in got] == ["MA", "MB", "PAL"]
    np.testing.assert_allclose(got[1].probs, ms[1].probs, atol=1e-6)
    np.testing.assert_allclose(bg, 0.25)
    assert resolve_meme_path(tmp_path) == tmp_path / "motifs.meme"


@pytest.mark.parametrize("text, message", [
    ("hello\n", "not a MEME motif file"),
    ("MEME version 4\n\nALPHABET= ACGT\n", "no motifs"),
    ("MEME version 4\nALPHABET= ACDEFGHIKLMNPQRSTVWY\n", "not DNA"),
    ("MEME version 4\nMOTIF X\nletter-probability matrix: alength= 4 w= 2\n0.25 0.25 0.25 0.25\n",
     "1 rows"),
    ("MEME version 4\nMOTIF X\nletter-probability matrix: alength= 4 w= 1\n0.5 0.5 -1 1\n",
     "non-negative"),
    ("MEME version 4\nMOTIF X\nletter-probability matrix: w= 1\n1 0 0 0\n\n"
     "MOTIF X\nletter-probability matrix: w= 1\n1 0 0 0\n", "duplicate"),
])
def test_read_meme_bad_input(tmp_path, text: str, message: str) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "bad.meme"
    path.write_text(text)
    with pytest.raises(InputError, match=message):
        read_meme(path)
    with pytest.raises(InputError, match="no motifs.meme"):
        read_meme(tmp_path)


def test_read_jaspar_file() -> None:
    path = SHARED_DATA / "motifs" / "JASPAR2024_CORE_vertebrates_latest.meme"
    if not path.is_file():
        pytest.skip("shared JASPAR file not present")
    got, _ = read_meme(path)
    assert len(got) == 879
    names = {m.id: m.name for m in got}
    assert names["MA0035.5"] == "GATA1"
    assert all(abs(m.probs.sum(axis=1) - 1).max() < 1e-9 for m in got)


def test_reads_what_the_motifs_command_writes(tmp_path) -> None:  # type: ignore[no-untyped-def]
    meme = pytest.importorskip("mhsa_bio.io.meme")
    if not hasattr(meme, "write_meme") or not hasattr(meme, "MemeMotif"):
        pytest.skip("mhsa_bio.io.meme has no write_meme")
    ms = motifs(("MA", "MB"))
    meme.write_meme(tmp_path / "motifs.meme",
                    [meme.MemeMotif(m.id, m.name, m.probs, 12, 1e-5) for m in ms])
    got, _ = read_meme(tmp_path)
    assert [(m.id, m.name, m.nsites) for m in got] == [("M1", "MA", 12.0), ("M2", "MB", 12.0)]
    np.testing.assert_allclose(got[0].probs, ms[0].probs, atol=1e-4)
