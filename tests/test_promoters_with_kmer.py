"""benchmarks/promoters.py's scoring: an mhsa-bio fit's probabilities averaged with the k-mer
model's on the same fold (--with-kmer), and what each fit's progress line prints."""

from __future__ import annotations

from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def test_with_kmer_averages_the_same_records_and_rescores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    from promoters import with_kmer

    row = {"model": "mhsa-bio", "seed": 0, "fold": 1, "candidate": "default", "seconds": 50.0, "AUROC": 0.5,
           "inner_labels": [1, 0, 1, 0], "inner_scores": [0.9, 0.2, 0.4, 0.6],
           "heldout_labels": [1, 0, 1, 0], "heldout_scores": [0.6, 0.7, 0.8, 0.1]}
    kmer = {**row, "model": "kmer-lr", "seconds": 4.0, "inner_scores": [0.7, 0.0, 0.8, 0.2],
            "heldout_scores": [0.8, 0.1, 0.6, 0.3]}
    mixed = with_kmer(row, kmer)
    assert mixed["candidate"] == "default+kmer-lr" and mixed["seconds"] == 54.0
    assert mixed["inner_scores"] == [0.8, 0.1, 0.6, 0.4]
    assert mixed["heldout_scores"] == [0.7, 0.4, 0.7, 0.2]
    assert mixed["AUROC"] == 1.0  # rescored on the averaged probabilities, not the row's 0.5
    assert with_kmer(row, {**kmer, "model": "kmer-pos-lr"})["candidate"] == "default+kmer-pos-lr"
    with pytest.raises(ValueError, match="heldout records differ"):
        with_kmer(row, {**kmer, "heldout_labels": [0, 1, 1, 0]})


def test_with_kmer_swaps_the_member_of_a_candidate_that_has_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """A candidate's probability is (Transformers + member) / 2: swapping the member takes its own
    fit out (twice the probability less it) and averages the other k-mer model in."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    from promoters import own_member, with_kmer

    assert own_member("ensemble5-dropout0.1-kmerpos-bins3-frames") == "kmer-frames-lr"
    assert own_member("ensemble5-dropout0.1-kmerpos-bins3") == "kmer-bins-lr"
    assert own_member("kmerpos") == "kmer-pos-lr" and own_member("kmer") == "kmer-lr"
    assert own_member("default") is None
    transformers, bins, frames = [0.9, 0.2, 0.5, 0.4], [0.7, 0.0, 0.8, 0.2], [0.5, 0.4, 0.1, 0.0]
    candidate = [(t + f) / 2 for t, f in zip(transformers, frames)]
    name = "ensemble5-dropout0.1-kmerpos-bins3-frames"
    row = {"model": "mhsa-bio", "seed": 0, "fold": 1, "candidate": name, "seconds": 250.0, "AUROC": 0.5,
           "inner_labels": [1, 0, 1, 0], "inner_scores": candidate,
           "heldout_labels": [1, 0, 1, 0], "heldout_scores": candidate}
    own = {**row, "model": "kmer-frames-lr", "seconds": 14.0, "inner_scores": frames,
           "heldout_scores": frames}
    other = {**row, "model": "kmer-bins-lr", "seconds": 13.0, "inner_scores": bins,
             "heldout_scores": bins}
    swapped = with_kmer(row, other, own)
    want = [(t + b) / 2 for t, b in zip(transformers, bins)]
    assert swapped["inner_scores"] == pytest.approx(want) and swapped["heldout_scores"] == pytest.approx(want)
    assert swapped["candidate"] == f"{name}, member kmer-bins-lr"
    assert swapped["seconds"] == 249.0 and swapped["AUROC"] == 1.0
    with pytest.raises(ValueError, match="kmer-bins-lr is not the member"):  # not its member's fit
        with_kmer(row, own, other)
    with pytest.raises(ValueError, match="inner records differ"):
        with_kmer(row, other, {**own, "inner_labels": [0, 1, 1, 0]})


def test_progress_lines_print_the_inner_split_not_the_held_out_fold(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """While ``--tune`` runs, each fit's line gives its inner-validation MCC only: the held-out
    folds are the validation part and are printed once, after the rule has chosen."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import promoters

    labels = [1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0]
    row = {"dataset": "ecoli", "background": "negatives", "model": "mhsa-bio", "candidate": "default",
           "seed": 0, "fold": 2, "seconds": 12.0, "MCC": 0.123, "AUROC": 0.456,
           "inner_labels": labels, "inner_scores": [0.9, 0.8, 0.7, 0.6] + [0.1] * 8,
           "heldout_labels": labels, "heldout_scores": [0.2] * 12}
    monkeypatch.setattr(promoters, "run_job", lambda job: row)
    assert promoters.run_jobs([{}], workers=1, log=None) == [row]
    line = capsys.readouterr().err
    assert "ecoli negatives mhsa-bio seed 0 fold 2: inner MCC 1.000 (inner-MCC threshold 1.000)" in line
    assert "0.123" not in line and "0.456" not in line and "AUROC" not in line
