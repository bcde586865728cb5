"""benchmarks/positional_memory.py: rotation, and a model without position information scores
sequences the same rotated or not, while one that reads positions does not."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch
from conftest import planted_set

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import positional_memory as pm  # noqa: E402

from mhsa_bio.io.fasta import Record  # noqa: E402
from mhsa_bio.models.promoter import PromoterConfig, PromoterOutput  # noqa: E402


def test_rotate_matches_the_trainers_rotation():
    from mhsa_bio.alphabet import encode_batch
    from mhsa_bio.training.batches import rotate_tokens

    seq = "ACGTTGCAAC"
    tokens, lengths = encode_batch([seq])
    for shift in (0, 3, 10, 13):
        rotated, _ = encode_batch([pm.rotate(seq, shift)])
        assert rotated.tolist() == rotate_tokens(tokens, lengths, np.array([shift])).tolist()


class _Stub(torch.nn.Module):
    """Scores a sequence by its share of A (content only) or by its first 5 bases (position)."""

    def __init__(self, by_position: bool) -> None:
        super().__init__()
        self.by_position = by_position
        self.config = PromoterConfig(n_classes=2)

    def forward(self, tokens, lengths):
        a = (tokens == 0).float()
        x = a[:, :5].mean(1) if self.by_position else a.sum(1) / lengths
        logits = torch.stack([torch.zeros_like(x), 8 * (x - 0.25)], dim=1)
        return PromoterOutput(logits)


def test_memory_sees_position_only_in_a_model_that_reads_it():
    pos, _ = planted_set(40, 60)
    records = [Record(f"p{i}", s) for i, (_, s) in enumerate(pos)]
    idx = np.arange(len(records))
    content = pm.memory(_Stub(False), records, idx, shift=30, n=40)
    assert content["p"] == content["p_rotated"] and content["auroc"] == content["auroc_rotated"]
    assert content["n"] == 40 and 0 < content["p_shuffles"] < 1
    position = pm.memory(_Stub(True), records, idx, shift=30, n=40)
    assert position["p"] != position["p_rotated"]
