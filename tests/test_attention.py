"""Tests for batched attention collection and its per-base reductions."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mhsa_bio.attention import collect_attention, combine_heads, rollout_cls
from mhsa_bio.io.fasta import Record
from mhsa_bio.models.promoter import PromoterConfig, PromoterTransformer


def _records(n: int = 11, seed: int = 0) -> list[Record]:
    rng = np.random.default_rng(seed)
    return [Record(f"s{i}", "".join(rng.choice(list("ACGT"), size=int(rng.integers(20, 50)))))
            for i in range(n)]


@pytest.fixture(scope="module")
def model() -> PromoterTransformer:
    torch.manual_seed(0)
    return PromoterTransformer(PromoterConfig(dim=16, heads=2, layers=2, stem_kernel=5,
                                              max_len=50, dropout=0.0)).eval()


def test_batch_size_does_not_change_scores(model: PromoterTransformer) -> None:
    recs = _records()
    kinds = ("cls", "received", "rollout")
    one = collect_attention(model, recs, batch_size=1, kinds=kinds)
    eight = collect_attention(model, recs, batch_size=8, kinds=kinds)
    for kind in kinds:
        for a, b, r in zip(getattr(one, kind), getattr(eight, kind), recs):
            assert a.shape[-1] == len(r.seq)  # padding never reported
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    for stat in ("entropy", "cls_entropy", "focus", "cls_max"):
        np.testing.assert_allclose(getattr(one, stat), getattr(eight, stat), rtol=1e-4,
                                   atol=1e-5)


def test_cls_scores_are_the_cls_row_scaled(model: PromoterTransformer) -> None:
    recs = _records(3)
    got = collect_attention(model, recs, batch_size=2)
    from mhsa_bio.alphabet import encode_batch

    for i, r in enumerate(recs):
        t, n = encode_batch([r.seq])
        with torch.no_grad():
            att = model(torch.from_numpy(t), torch.from_numpy(n), return_attention=True).attention
        want = att[0, :, :, 0, 1:].numpy() * (len(r.seq) + 1)
        np.testing.assert_allclose(got.cls[i], want, rtol=1e-4, atol=1e-5)
        # a row of probabilities: entropy of the CLS row is within [0, log2(T)]
        assert (got.cls_entropy[i] >= 0).all()
        assert (got.cls_entropy[i] <= np.log2(len(r.seq) + 1) + 1e-4).all()
        assert ((got.focus[i] > 0) & (got.focus[i] <= 1 + 1e-6)).all()


def test_rollout_matches_hand_product() -> None:
    rng = np.random.default_rng(1)
    t = 5
    a = rng.random((1, 2, 1, t, t))
    a /= a.sum(-1, keepdims=True)
    att = torch.from_numpy(a)
    got = rollout_cls(att, torch.tensor([t - 1])).numpy()
    eye = np.eye(t)
    r = (0.5 * a[0, 1, 0] + 0.5 * eye) @ (0.5 * a[0, 0, 0] + 0.5 * eye)
    np.testing.assert_allclose(got[0], r[0, 1:] * t, rtol=1e-10)


def test_combine_heads_means_the_chosen_heads() -> None:
    s = [np.arange(2 * 3 * 4, dtype=float).reshape(2, 3, 4)]
    out = combine_heads(s, [(0, 1), (1, 2)])
    np.testing.assert_allclose(out[0], (s[0][0, 1] + s[0][1, 2]) / 2)


def test_unknown_kind_is_refused(model: PromoterTransformer) -> None:
    with pytest.raises(ValueError, match="unknown"):
        collect_attention(model, _records(2), kinds=("grad",))
