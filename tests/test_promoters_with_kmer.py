"""benchmarks/promoters.py --with-kmer: an mhsa-bio fit's probabilities averaged with the k-mer
model's on the same fold."""

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
