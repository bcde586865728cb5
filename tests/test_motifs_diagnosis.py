"""Why a run reports nothing, the gradient × input fallback, and every site of the final motifs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from motif_fixtures import MOTIF, planted, revcomp, tiny_model

from mhsa_bio import pwm
from mhsa_bio.motifs.diagnosis import why_nothing
from mhsa_bio.motifs.find import MotifParams, find_motifs
from mhsa_bio.motifs.heads import HeadStats, pointing_heads
from mhsa_bio.motifs.run import last_line
from mhsa_bio.motifs.seqlets import Calibration


def _untrained() -> torch.nn.Module:
    from mhsa_bio.models.promoter import PromoterConfig, PromoterTransformer

    torch.manual_seed(1)
    return PromoterTransformer(PromoterConfig(dim=32, heads=2, layers=1, stem_kernel=9,
                                              max_len=60, dropout=0.0)).eval()


def _head(auroc: float, diffuse: float) -> HeadStats:
    return HeadStats(1, 1, 3.0, 3.0, 0.2, 0.2, auroc, diffuse, False)


CAL = Calibration(float("inf"), 0.05, 300, 300, 0, 0, 0.4)


@pytest.mark.parametrize(("kwargs", "expected"), [
    ({"heads": [_head(0.55, 0.5)], "n_seqlets": 0, "n_clusters": 0, "best_q": None},
     "no head separates positives from background (best AUROC 0.55"),
    ({"heads": [_head(0.8, 0.5)], "n_seqlets": 0, "n_clusters": 0, "best_q": None},
     "no seqlet passed the threshold calibrated on background at FDR 0.05 (best estimated "
     "FDR 0.4)"),
    ({"heads": [_head(0.8, 0.5)], "n_seqlets": 7, "n_clusters": 0, "best_q": None},
     "7 seqlets passed, no cluster reached --min-sites 10"),
    ({"heads": [_head(0.8, 0.5)], "n_seqlets": 70, "n_clusters": 2, "best_q": 0.3},
     "2 clusters, none enriched over background at q <= 0.05 (best q 0.3)"),
])
def test_why_nothing_names_the_step_that_left_nothing(kwargs, expected) -> None:  # type: ignore[no-untyped-def]
    got = why_nothing(**kwargs, calibration=CAL, params=MotifParams(), attention=True)
    assert got.startswith(expected)


def test_last_line_puts_an_unlearned_model_first() -> None:
    line = last_line(0, path="cls attention of heads 1:1", reason="7 seqlets passed, no "
                     "cluster reached --min-sites 10", auroc=0.55)
    assert line.startswith("0 motifs: model validation AUROC 0.55: nothing learned")
    assert "7 seqlets" in line
    assert last_line(0, path="p", reason="r", auroc=0.9) == "0 motifs: r (score: p)"
    assert last_line(2, path="gradient x input", reason="", auroc=0.5) == \
        "2 motifs from gradient x input"


def test_pointing_heads_need_both_a_sharp_row_and_separation() -> None:
    heads = [_head(0.8, 0.99), _head(0.55, 0.3), _head(0.7, 0.5)]
    assert pointing_heads(heads) == [heads[2]]


def test_untrained_model_falls_back_to_gradients_and_says_why() -> None:
    pos, neg, _ = planted()
    res = find_motifs(_untrained(), pos, neg, params=MotifParams(seed=0))
    assert res.motifs == [] and res.scan_sites == ()
    assert res.path.startswith("integrated gradients x input: no head both points")
    assert res.score == "gradient" and res.reason
    none = find_motifs(_untrained(), pos, neg, params=MotifParams(seed=0, fallback="none"))
    assert none.motifs == [] and none.path.startswith("cls attention of heads")
    assert "no " in none.reason or "seqlets" in none.reason


def test_gradient_x_input_points_at_the_planted_site() -> None:
    from mhsa_bio.attribution import gradient_x_input

    torch.set_num_threads(1)
    pos, neg, truth = planted()
    model = tiny_model()
    scores = gradient_x_input(model, pos[:100], batch_size=7)
    one = gradient_x_input(model, pos[:3], batch_size=1)
    for a, b in zip(scores[:3], one):  # batching and padding change nothing
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    near = 0
    for s, (start, _) in zip(scores, truth):
        sums = np.convolve(s, np.ones(len(MOTIF)), mode="valid")
        near += abs(int(np.argmax(sums)) - start) <= 2
    assert near >= 80


def test_gradient_score_recovers_the_planted_motif() -> None:
    torch.set_num_threads(1)
    pos, neg, _ = planted()
    res = find_motifs(tiny_model(), pos, neg, params=MotifParams(seed=0, score="gradient"))
    assert res.motifs and res.path.startswith("integrated gradients x input")
    cons = res.motifs[0].consensus.upper()
    assert any(c in cons or cons in c for c in (MOTIF, revcomp(MOTIF)))


def test_sites_hold_every_planted_site_and_mark_the_attention_ones() -> None:
    torch.set_num_threads(1)
    pos, neg, truth = planted()
    res = find_motifs(tiny_model(), pos, neg, params=MotifParams(seed=0))
    top = res.motifs[0]
    width = top.counts.shape[0]
    sites = [s for s in res.scan_sites if s.motif_id == top.id]
    found = {s.seq_index for s in sites
             if abs((s.start + width / 2) - (truth[s.seq_index][0] + len(MOTIF) / 2)) <= 2}
    assert len(found) >= 0.95 * len(pos)  # recall: not capped by the seqlet threshold
    assert len(found) >= 0.95 * len(sites)  # precision: sites are planted ones
    att = [s for s in sites if s.attention]
    assert len(att) >= 0.9 * len(top.sites) and len(att) < len(sites)
    lo = pwm.log_odds(pwm.probabilities(top.counts))
    thr = pwm.score_threshold(lo, p_value=1e-4)
    assert all(s.score >= thr for s in sites if s.scanned)


def test_heads_that_pass_too_few_seqlets_fall_back_to_gradients() -> None:
    torch.set_num_threads(1)
    pos, neg, _ = planted()
    res = find_motifs(tiny_model(), pos, neg, params=MotifParams(seed=0, min_sites=400))
    assert res.score == "gradient" and res.selected_heads == []
    assert res.path.startswith("integrated gradients x input: cls attention of heads")
    assert "(< --min-sites 400)" in res.path
    assert res.motifs == [] and res.reason.endswith("no cluster reached --min-sites 400")
