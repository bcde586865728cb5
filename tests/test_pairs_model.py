"""Pairs end to end with real models: a planted fixed-spacing pair is the top pair; an untrained
model claims nothing."""

from __future__ import annotations

import pytest
from pairs_fixtures import motifs, pair_sets, train_tiny


@pytest.mark.slow
def test_planted_pair_is_top_pair_of_a_quickly_trained_model() -> None:
    torch = pytest.importorskip("torch")
    from mhsa_bio.pairs import find_pairs

    torch.set_num_threads(1)
    pos, neg = pair_sets(250, length=40, gap=4, seed=0)
    model, acc = train_tiny(pos, neg, epochs=25, seed=0, lr=3e-3)
    assert acc > 0.8
    res = find_pairs(model, pos, motifs(), background=neg, device=torch.device("cpu"), n_null=4,
                     null_neighbours=200, seed=0)
    top = res.table.iloc[0]
    # MA and MB are both 8 bp: MB starts 8 + 4 bases after MA, so the centres are 12 bp apart.
    assert (top["name_a"], top["name_b"], top["orientation"]) == ("MA", "MB", "++")
    assert top["spacing"] == 12.0
    assert top["q"] < 0.05 and top["log2_ratio"] > 0
    assert top["n_sequences"] >= 240
    # Plain co-occurrence cannot tell the classes apart (both hold both motifs), the spacing can.
    assert top["cooc_log2_enrichment"] == pytest.approx(0.0, abs=0.1)
    assert top["spacing_log2_enrichment"] > 3


def test_untrained_model_claims_no_pair() -> None:
    # With the default null (background kept in order). A shuffled background is not calibrated:
    # the same untrained model gets q = 0.019 with ``null_shuffle=True`` (measured).
    torch = pytest.importorskip("torch")
    from mhsa_bio.models.promoter import PromoterConfig, PromoterTransformer
    from mhsa_bio.pairs import find_pairs

    torch.manual_seed(0)
    model = PromoterTransformer(PromoterConfig(dim=32, heads=2, layers=2, stem_kernel=7,
                                               max_len=50, dropout=0.0)).eval()
    pos, neg = pair_sets(150, length=50, gap=6, seed=1)
    res = find_pairs(model, pos, motifs(), background=neg, device=torch.device("cpu"), n_null=4,
                     seed=0)
    assert len(res.table) >= 1
    assert (res.table["q"] >= 0.05).all() and (res.table["q_null"] >= 0.05).all()
    # The planted spacing stands out by occurrence (the negatives never hold it), so only the
    # co-attention test (p_null) stands between this untrained model and a claim.
    planted = res.table[(res.table["spacing"] == 14.0) & (res.table["orientation"] == "++")]
    assert len(planted) == 1 and planted["p_spacing_occurrence"].iloc[0] < 1e-6
