"""Tests for factored attention's fit options: the warm start from a short Potts fit, bfloat16,
refine, top-k attention."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from conftest import invoke
from contacts_fixtures import one_thread, planted_msa  # noqa: F401 (autouse fixture)

from mhsa_bio.contacts.fit import FitConfig, fit_couplings
from mhsa_bio.contacts.weights import sequence_weights
from mhsa_bio.io.msa import encode_rows
from mhsa_bio.models.factored import FactoredAttention
from mhsa_bio.models.potts import zero_sum_pairs


def _conditionals(table: torch.Tensor, fields: torch.Tensor, x: torch.Tensor, n_states: int) -> torch.Tensor:
    """log p(x_i = a | rest) for every row, position and state: (N, L, A)."""
    length = x.shape[1]
    idx = x + n_states * torch.arange(length)
    logits = torch.nn.functional.embedding_bag(idx, table, mode="sum").view(-1, length, n_states) + fields
    return logits.log_softmax(-1)


def test_zero_sum_gauge_keeps_every_conditional():
    """A random Potts model, symmetrised: its gauge-fixed pairs (assembled into a table the way
    factored attention does) and shifted fields give the same conditionals, and the blocks sum to
    zero over each state."""
    gen = torch.Generator().manual_seed(0)
    length, states = 7, 5
    w = torch.randn(length * states, length * states, generator=gen)
    block = torch.arange(length * states) // states
    w = w * (block[:, None] != block[None, :])
    fields = torch.randn(length, states, generator=gen)
    x = torch.randint(0, states, (40, length), generator=gen)
    pairs, new_fields = zero_sum_pairs(w, fields, length=length, n_states=states)
    blocks = pairs.view(-1, states, states)
    assert torch.allclose(blocks.sum(1), torch.zeros(()), atol=1e-5)
    assert torch.allclose(blocks.sum(2), torch.zeros(()), atol=1e-5)
    symmetric = 0.5 * (w + w.T)  # W_ij(a, b) = ½(W_ij(a, b) + W_ji(b, a))
    table = FactoredAttention(length, states, heads=1, head_dim=2).table(pairs)
    torch.testing.assert_close(
        _conditionals(table, new_fields, x, states), _conditionals(symmetric, fields, x, states),
        atol=1e-5, rtol=1e-5,
    )


def _weights():
    return sequence_weights(encode_rows(planted_msa(n=300, length=12)), identity=0.8, n_states=21)


def _top_pairs(couplings: np.ndarray, k: int = 2) -> set[tuple[int, int]]:
    norms = np.triu(np.linalg.norm(couplings[:, :20, :, :20], axis=(1, 3)), 1)
    i, j = np.unravel_index(np.argsort(-norms, axis=None)[:k], norms.shape)
    return set(zip(i.tolist(), j.tolist(), strict=True))


def test_warm_start_begins_lower_and_finds_the_planted_pairs():
    weights = _weights()
    cold = fit_couplings(weights, config=FitConfig(heads=8, steps=30), seed=0)
    warm = fit_couplings(weights, config=FitConfig(heads=8, steps=30, warm_start=10), seed=0)
    assert warm.losses[0] < cold.losses[0] - 3.0  # the warm model starts near the Potts fit
    assert warm.config.warm_start == 10
    assert _top_pairs(warm.couplings) == {(1, 9), (3, 6)}
    again = fit_couplings(weights, config=FitConfig(heads=8, steps=30, warm_start=10), seed=0)
    np.testing.assert_array_equal(again.couplings, warm.couplings)


def test_bfloat16_follows_the_float32_fit():
    weights = _weights()
    full = fit_couplings(weights, config=FitConfig(heads=8, steps=40), seed=1)
    half = fit_couplings(weights, config=FitConfig(heads=8, steps=40, bfloat16=True), seed=1)
    assert half.couplings.dtype == np.float32 and half.config.bfloat16
    assert abs(half.losses[-1] - full.losses[-1]) < 0.02 * full.losses[-1]
    assert not np.array_equal(half.couplings, full.couplings)  # the option does take effect
    assert _top_pairs(half.couplings) == _top_pairs(full.couplings) == {(1, 9), (3, 6)}


def test_refine_moves_values_not_attention(caplog):
    """Full-batch L-BFGS on the values after Adam: the attention is the Adam fit's, the couplings
    move, the full-batch data NLL falls, and the planted pairs stay on top."""
    import logging
    import re

    weights = _weights()
    adam = fit_couplings(weights, config=FitConfig(heads=8, steps=30), seed=2)
    with caplog.at_level(logging.INFO, logger="mhsa_bio.contacts.optimise"):
        refined = fit_couplings(weights, config=FitConfig(heads=8, steps=30, refine=15), seed=2)
    np.testing.assert_array_equal(refined.attention, adam.attention)
    assert not np.array_equal(refined.couplings, adam.couplings)
    before, after = map(float, re.search(r"data NLL ([\d.]+) -> ([\d.]+)", caplog.text).groups())
    assert after < before - 0.1
    assert _top_pairs(refined.couplings) == {(1, 9), (3, 6)}


def test_topk_attention_keeps_the_largest_logits_of_each_row():
    gen = torch.Generator().manual_seed(3)
    model = FactoredAttention(9, 5, heads=2, head_dim=4, generator=gen, init_std=1.0)
    dense = model.attention()
    model.topk = 3
    sparse = model.attention()
    torch.testing.assert_close(sparse.sum(-1), torch.ones(2, 9))
    assert ((sparse > 0).sum(-1) == 3).all()
    assert (sparse.diagonal(dim1=1, dim2=2) == 0).all()
    # the kept entries are the 3 largest of the dense row, renormalised among themselves
    kept = dense.topk(3, dim=-1)
    renormalised = kept.values / kept.values.sum(-1, keepdim=True)
    torch.testing.assert_close(sparse.gather(-1, kept.indices), renormalised)
    model.topk = 8  # k = L - 1: every off-diagonal entry, the dense attention
    torch.testing.assert_close(model.attention(), dense)


def test_topk_fit_is_sparse_after_warm_up_and_finds_the_planted_pairs():
    weights = _weights()
    dense = fit_couplings(weights, config=FitConfig(heads=8, steps=60), seed=4)
    sparse = fit_couplings(weights, config=FitConfig(heads=8, steps=60, topk=2, topk_after=20), seed=4)
    # symmetrised attention ½(attn + attnᵀ): k·L entries per head in attn, at most 2·k·L in the sum
    assert ((sparse.attention > 0).sum((1, 2)) <= 2 * 2 * 12).all()
    assert ((dense.attention > 0).sum((1, 2)) == 12 * 11).all()
    np.testing.assert_array_equal(  # the same first 20 steps
        sparse.losses[:20], dense.losses[:20]
    )
    assert _top_pairs(sparse.couplings) == {(1, 9), (3, 6)}


def test_map_softmax_normalises_each_head_over_its_whole_map():
    """softmax="map": a head's weights are one softmax over every pair i != j, times L — the map
    sums to L, rows need not sum to 1, and the ratio of any two entries is that of their
    exponentiated logits, as in a row softmax."""
    gen = torch.Generator().manual_seed(5)
    row = FactoredAttention(9, 5, heads=2, head_dim=4, generator=gen, init_std=1.0)
    mapped = FactoredAttention(9, 5, heads=2, head_dim=4, softmax="map")
    mapped.load_state_dict(row.state_dict())
    attn = mapped.attention()
    torch.testing.assert_close(attn.sum((1, 2)), torch.full((2,), 9.0))
    assert (attn.diagonal(dim1=1, dim2=2) == 0).all()
    assert not torch.allclose(attn.sum(-1), torch.ones(2, 9), atol=1e-3)
    dense = row.attention()  # within a row the two normalisations differ by one factor
    ratio = attn / dense.masked_fill(dense == 0, 1.0)
    off = ~torch.eye(9, dtype=torch.bool)
    per_row = ratio[:, off].view(2, 9, 8)
    torch.testing.assert_close(per_row, per_row[..., :1].expand_as(per_row))
    with pytest.raises(ValueError, match="softmax 'column'"):
        FactoredAttention(9, 5, heads=2, head_dim=4, softmax="column")


def test_map_softmax_fit_finds_the_planted_pairs():
    weights = _weights()
    fit = fit_couplings(weights, config=FitConfig(heads=8, steps=60, softmax="map"), seed=4)
    torch.testing.assert_close(torch.from_numpy(fit.attention).sum((1, 2)), torch.full((8,), 12.0))
    assert fit.config.softmax == "map"
    assert _top_pairs(fit.couplings) == {(1, 9), (3, 6)}


def test_map_softmax_refuses_topk_and_unknown_modes():
    from mhsa_bio.errors import InputError

    with pytest.raises(InputError, match="topk cuts attention rows"):
        FitConfig(softmax="map", topk=4).resolve(50, 100.0, 100)
    with pytest.raises(InputError, match="softmax sparse: expected row or map"):
        FitConfig(softmax="sparse").resolve(50, 100.0, 100)


def test_default_schedule_by_length_and_neff(monkeypatch):
    """L ≤ 200 keeps 128 heads in float32 (the settings measured on 1atzA and 1a3aA); 200 < L ≤ 300
    gets 256 heads, in bfloat16 on a CPU that computes it natively; L > 300 or Neff < 50 gets 32."""
    for native in (True, False):
        monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda native=native: native)
        cases = [
            (75, 1149, 128, False), (145, 1014, 128, False), (200, 500, 128, False),
            (201, 500, 256, native), (256, 282, 256, native), (300, 483, 256, native),
            (301, 500, 32, False), (400, 2000, 32, False), (145, 40, 32, False),
        ]
        for length, neff, heads, half in cases:
            c = FitConfig().resolve(length, neff, 400)
            assert (c.heads, c.bfloat16) == (heads, half), (length, neff, native)
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: True)
    assert FitConfig().resolve(256, 282, 400, "cuda").bfloat16 is False  # not measured on a GPU
    assert FitConfig(bfloat16=False).resolve(256, 282, 400).bfloat16 is False  # given settings win
    assert FitConfig(heads=128).resolve(256, 282, 400).heads == 128
    assert FitConfig(bfloat16=True).resolve(145, 1014, 400).bfloat16 is True
    assert FitConfig(model_type="potts").resolve(256, 282, 400).bfloat16 is False


def test_rich_alignments_get_256_heads_and_800_steps():
    """Neff ≥ 20·L at L ≤ 300 (T1034, T1047s1, 5ptpA): 256 heads and 800 steps; below it (1atzA's
    Neff / L 15, 1a3aA's 7) and beyond L 300 the schedule by length; given settings win."""
    cases = [
        (156, 7107, 256, 800), (232, 8804, 256, 800), (222, 11632, 256, 800), (100, 2000, 256, 800),
        (75, 1149, 128, 400), (145, 1014, 128, 400), (100, 1999, 128, 400), (256, 483, 256, 400),
        (301, 20000, 32, 400),
    ]
    for length, neff, heads, steps in cases:
        c = FitConfig().resolve(length, neff, 10000)
        assert (c.heads, c.steps) == (heads, steps), (length, neff)
    given = FitConfig(steps=300, heads=64).resolve(156, 7107, 10000)
    assert (given.heads, given.steps) == (64, 300)
    assert FitConfig(model_type="potts").resolve(156, 7107, 10000).steps == 60


def test_default_batch_is_the_whole_alignment_up_to_1024_rows():
    """Factored attention: full-batch Adam up to 1,024 distinct rows (1a3aA's 1,024, 16pkA's 706),
    512 rows drawn by weight beyond (1a3aA-hhblits' 1,303); a given --batch-size wins; Potts is
    always full-batch."""
    for rows, batch in ((100, 100), (706, 706), (1024, 1024), (1025, 512), (1303, 512), (15000, 512)):
        assert FitConfig().resolve(145, 500, rows).batch_size == batch, rows
        assert FitConfig(model_type="potts").resolve(145, 500, rows).batch_size == rows
    assert FitConfig(batch_size=256).resolve(145, 500, 1000).batch_size == 256
    assert FitConfig(batch_size=2048).resolve(145, 500, 1000).batch_size == 1000


def test_cli_fits_a_rich_alignment_with_256_heads_and_800_steps(tmp_path):
    """300 random rows of L 12 (Neff ≈ 300 ≥ 20·12) get the rich defaults; 100 rows do not."""
    for n, heads, steps in ((300, 256, 800), (100, 128, 400)):
        msa = tmp_path / f"fam{n}.a3m"
        msa.write_text("".join(f">s{k}\n{s}\n" for k, s in enumerate(planted_msa(n=n))))
        out = tmp_path / f"out{n}"
        result = invoke("contacts", msa, "--out", out, "--device", "cpu")
        assert result.exit_code == 0, result.output
        run = json.loads((out / "run.json").read_text())
        config = run["result"]["config"]
        assert (config["heads"], config["steps"]) == (heads, steps), (n, run["result"]["neff"])


def test_cli_bfloat16_switch_reaches_the_fit(tmp_path):
    """--bfloat16 / --float32 force the couplings' precision whatever L; without either, L 12 is float32."""
    msa = tmp_path / "fam.a3m"
    msa.write_text("".join(f">s{k}\n{s}\n" for k, s in enumerate(planted_msa(n=60))))
    for flag, expected in ((None, False), ("--bfloat16", True), ("--float32", False)):
        out = tmp_path / f"out{flag}"
        args = [msa, "--out", out, "--steps", 3, "--heads", 2, "--device", "cpu", *([flag] if flag else [])]
        result = invoke("contacts", *args)
        assert result.exit_code == 0, result.output
        run = json.loads((out / "run.json").read_text())
        assert run["result"]["config"]["bfloat16"] is expected, flag


def test_default_coupling_penalty_by_length():
    """Factored attention: 0.4(L-1) (twice Potts'), 0.1(L-1) for 200 < L <= 300 (measured on
    1a0tP); Potts 0.2(L-1) at every L; a given --l2 wins."""
    for length, factor in ((75, 0.4), (200, 0.4), (201, 0.1), (256, 0.1), (300, 0.1), (301, 0.4)):
        assert FitConfig().resolve(length, 500, 400).l2 == pytest.approx(factor * (length - 1))
        assert FitConfig(model_type="potts").resolve(length, 500, 400).l2 == pytest.approx(
            0.2 * (length - 1))
    assert FitConfig(l2=3.0).resolve(256, 282, 400).l2 == 3.0
