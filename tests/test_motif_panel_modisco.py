"""benchmarks/motif_panel.py's modisco-lite peer: its inputs from the model's own gradients, the
PWMs it reads from TF-MoDISco's patterns, and (where modisco-lite is installed) a whole run."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from motif_fixtures import MOTIF, planted, tiny_model

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import motif_panel as mp  # noqa: E402

from mhsa_bio.attribution import gradient_x_input  # noqa: E402
from mhsa_bio.io.fasta import Record  # noqa: E402


def _model() -> torch.nn.Module:
    from mhsa_bio.models.promoter import PromoterConfig, PromoterTransformer

    torch.manual_seed(3)
    return PromoterTransformer(PromoterConfig(dim=32, heads=2, layers=1, stem_kernel=9,
                                              max_len=40, dropout=0.0)).eval()


RECORDS = [Record("a", "ACGTTGCANNGATTACAGGT"), Record("b", "TTTTGGGGCCCCAAAATTTTACGTAGCTAGCTTT"),
           Record("c", "GATTACA")]


@pytest.mark.parametrize("steps", [0, 8])
def test_hypothetical_times_one_hot_is_the_attribution(steps: int) -> None:
    torch.set_num_threads(1)
    model = _model()
    attr = gradient_x_input(model, RECORDS, batch_size=2, steps=steps)
    hyp = gradient_x_input(model, RECORDS, batch_size=2, steps=steps, hypothetical=True)
    one_hot, hypo = mp.modisco_inputs(hyp, [r.seq for r in RECORDS])
    assert one_hot.shape == hypo.shape == (3, 34, 4)
    contrib = (one_hot * hypo).sum(-1)
    for i, (r, a, h) in enumerate(zip(RECORDS, attr, hyp)):
        assert h.shape == (len(r.seq), 4)
        np.testing.assert_allclose(h.sum(1), 0, atol=1e-5)  # mean-centred over the bases
        np.testing.assert_allclose(contrib[i, : len(r.seq)], a, rtol=1e-4, atol=1e-6)
        assert not hypo[i, len(r.seq):].any() and not one_hot[i, len(r.seq):].any()
    assert np.abs(attr[0]).max() > 0  # not a vacuous equality
    n_at = [i for i, b in enumerate(RECORDS[0].seq) if b == "N"]
    assert not hyp[0][n_at].any() and not one_hot[0, n_at].any()
    bases = np.array(["ACGT"[j] for j in one_hot[1, :34].argmax(1)])
    assert "".join(bases) == RECORDS[1].seq


def _pattern(ppm: np.ndarray, cwm: np.ndarray, n: int) -> SimpleNamespace:
    return SimpleNamespace(sequence=ppm, contrib_scores=cwm, seqlets=[object()] * n)


def test_patterns_are_trimmed_by_contribution_and_ranked_by_seqlets() -> None:
    truth = mp.literal_matrix("TGATAAGC")
    flank = np.full((6, 4), 0.25)
    ppm = np.vstack([flank, truth, flank])
    cwm = np.vstack([np.full((6, 4), 0.01), truth * 2.0, np.full((6, 4), -0.01)])
    cwm[5] = 0.2  # 0.8 summed |contribution|: kept (>= 0.3 x 2.0)
    other = _pattern(mp.literal_matrix("CCCCGGGG"), np.ones((8, 4)), 40)
    got = mp.modisco_patterns([other, _pattern(ppm, cwm, 90), _pattern(ppm, cwm, 40)])
    assert [n for _, n in got] == [90, 40, 40]
    assert got[0][0].shape == (9, 4)
    np.testing.assert_allclose(got[0][0][1:], truth)
    np.testing.assert_allclose(got[1][0], other.sequence)  # ties keep modisco's order
    assert mp.modisco_patterns(None) == []
    cell, top3 = mp.peer_cell([m for m, _ in got], {"t": truth, "u": mp.literal_matrix("AAAAAAAA")})
    assert top3 == [True, False]
    assert cell.startswith("t: rank 1 (r ") and "u: no (r " in cell
    late = [mp.literal_matrix("CCCCGGGG")] * 3 + [truth]
    assert mp.peer_cell(late, {"t": truth}) == ("t: rank 4 (not top 3) (r 1.00)", [False])


def test_the_peer_is_skipped_with_a_note_without_modisco(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mp.importlib.util, "find_spec", lambda name: None)
    got = mp.modisco_peer(Path("absent.pt"), Path("absent.fa"), {}, threads=1)
    assert got == {"modisco_peer": "skipped: modisco-lite not installed (pip install -e '.[peers]')"}


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("modiscolite") is None, reason="modisco-lite not installed")
def test_modisco_finds_the_planted_motif_in_the_models_gradients(tmp_path: Path) -> None:
    from mhsa_bio.checkpoint import make_checkpoint, save_checkpoint

    torch.set_num_threads(1)
    model = tiny_model()
    ckpt = make_checkpoint(model, model_type="promoter", config=model.config.to_dict(),
                           alphabet="ACGTN", classes=["background", "positive"],
                           provenance={}, metrics={})
    save_checkpoint(ckpt, tmp_path / "model.pt")
    pos, _, _ = planted()
    fasta = tmp_path / "pos.fa"
    fasta.write_text("".join(f">{r.id}\n{r.seq}\n" for r in pos))
    got = mp.modisco_peer(tmp_path / "model.pt", fasta, {"m": mp.literal_matrix(MOTIF)}, threads=1)
    assert got["modisco_top3"] == [True], got
    assert got["modisco_peer"].startswith(f"{got['modisco_n']} patterns")
