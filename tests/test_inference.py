"""batched_forward and its batch makers (mhsa_bio.inference)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mhsa_bio.inference import batched_forward, length_batches, sequence_batches, window_batches
from mhsa_bio.models.promoter import PromoterConfig, PromoterTransformer


@pytest.fixture(scope="module")
def model() -> PromoterTransformer:
    torch.manual_seed(0)
    return PromoterTransformer(PromoterConfig(dim=16, heads=2, layers=2, stem_kernel=5, max_len=40))


def _seqs(n: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    return ["".join(rng.choice(list("ACGT"), size=int(rng.integers(8, 30)))) for _ in range(n)]


def test_length_batches_cover_every_index_once_within_both_caps() -> None:
    lengths = [5, 40, 3, 40, 12, 7, 99, 3]
    batches = list(length_batches(lengths, batch_size=3, max_cells=3 * 41 * 41))
    assert sorted(np.concatenate(batches).tolist()) == list(range(len(lengths)))
    for rows in batches:
        width = max(lengths[i] for i in rows) + 1
        assert len(rows) <= 3 and (len(rows) == 1 or len(rows) * width * width <= 3 * 41 * 41)
    assert batches[-1].tolist() == [6]  # the longest alone: two of it would pass the cell cap


def test_window_batches_keep_order_and_give_full_lengths() -> None:
    tokens = np.arange(7 * 4, dtype=np.uint8).reshape(7, 4) % 4
    batches = list(window_batches(tokens, batch_size=3))
    assert [b.rows.tolist() for b in batches] == [[0, 1, 2], [3, 4, 5], [6]]
    assert all((b.lengths == 4).all() and b.lengths.dtype == np.int64 for b in batches)
    np.testing.assert_array_equal(np.concatenate([b.tokens for b in batches]), tokens)


def test_forward_yields_each_batch_in_order_in_eval_mode_without_gradients(model) -> None:
    seqs = _seqs(9)
    model.train()
    batches = list(sequence_batches(seqs, batch_size=4))
    got = list(batched_forward(model, batches, device="cpu", scores="logits", attention=True))
    assert not model.training
    assert [g.rows.tolist() for g in got] == [b.rows.tolist() for b in batches]
    for g, b in zip(got, batches):
        assert g.scores.shape == (len(b.rows), 2) and isinstance(g.scores, np.ndarray)
        assert g.attention.shape[:3] == (len(b.rows), 2, 2) and not g.attention.requires_grad
        np.testing.assert_array_equal(g.lengths, [len(seqs[i]) for i in b.rows])
        assert g.device_lengths.tolist() == g.lengths.tolist()
        with torch.no_grad():  # the weights path gives the same logits as a direct call
            direct = model(torch.from_numpy(b.tokens), torch.from_numpy(b.lengths)).logits
        np.testing.assert_allclose(g.scores, direct.numpy(), rtol=1e-5, atol=1e-6)


def test_probabilities_are_the_softmax_of_the_logits_and_nothing_when_not_asked(model) -> None:
    seqs = _seqs(6, seed=1)
    logits = list(batched_forward(model, sequence_batches(seqs, batch_size=8), device="cpu",
                                  scores="logits"))
    probs = list(batched_forward(model, sequence_batches(seqs, batch_size=8), device="cpu"))
    np.testing.assert_allclose(probs[0].scores, torch.softmax(torch.from_numpy(logits[0].scores),
                                                              -1).numpy(), rtol=1e-6)
    assert probs[0].attention is None
    bare = next(batched_forward(model, sequence_batches(seqs, batch_size=8), device="cpu",
                                scores=None))
    assert bare.scores is None and bare.attention is None


def test_no_sequences_give_no_batches(model) -> None:
    assert list(batched_forward(model, sequence_batches([], batch_size=4), device="cpu")) == []
