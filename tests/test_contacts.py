"""Tests for contacts: read-out, evaluation, writers, the fits and the ``contacts`` command."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import invoke
from contacts_fixtures import line_pdb, one_thread, planted_msa  # noqa: F401 (autouse fixture)

from mhsa_bio.contacts.evaluate import precision_at, precision_table
from mhsa_bio.contacts.fit import FitConfig, fit_couplings
from mhsa_bio.contacts.readout import (
    CALIBRATION,
    apc,
    calibrated,
    contact_scores,
    coupling_norms,
    probability,
    symmetrize,
    zscores,
)
from mhsa_bio.contacts.weights import sequence_weights
from mhsa_bio.contacts.writers import read_rr, read_tsv, write_npy, write_rr, write_tsv
from mhsa_bio.io.msa import MSA_ALPHABET

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "contacts"
AA = MSA_ALPHABET[:20]


# ---------------------------------------------------------------- read-out and evaluation


def test_apc_on_a_4x4_by_hand():
    x = np.array([[0, 1, 2, 3], [1, 0, 4, 5], [2, 4, 0, 6], [3, 5, 6, 0]], dtype=float)
    # row sums 6, 10, 12, 14; total 42
    out = apc(x)
    assert out[0, 1] == pytest.approx(1 - 6 * 10 / 42)
    assert out[2, 3] == pytest.approx(6 - 12 * 14 / 42)
    assert out[1, 2] == pytest.approx(4 - 10 * 12 / 42)
    assert out[0, 0] == pytest.approx(-6 * 6 / 42)
    np.testing.assert_allclose(out, out.T)


def test_symmetrize_and_contact_scores():
    rng = np.random.default_rng(0)
    x = rng.random((7, 7))
    s = symmetrize(x)
    np.testing.assert_allclose(s, s.T)
    np.testing.assert_allclose(s + s.T, x + x.T)
    c = contact_scores(x)
    np.testing.assert_allclose(c, c.T)
    assert np.all(np.diag(c) == 0)
    # APC removes a rank-one background: a pure outer product scores zero off the diagonal
    u = rng.random(7) + 0.5
    bg = np.outer(u, u)
    np.fill_diagonal(bg, 0)
    assert np.abs(apc(bg)).max() < np.abs(bg).max()


def test_coupling_norms_ignore_gauge_and_gap():
    rng = np.random.default_rng(1)
    length, states = 5, 21
    w = np.zeros((length, states, length, states))
    w[0, :, 3, :] = rng.normal(size=(states, states))
    w[3, :, 0, :] = w[0, :, 3, :].T
    base = coupling_norms(w)
    shifted = w.copy()
    shifted[0, :, 3, :] += rng.normal(size=(states, 1))  # a field-like shift: no coupling
    shifted[1, -1, 2, :] += 5.0  # gap-state only
    np.testing.assert_allclose(coupling_norms(shifted), base, atol=1e-12)
    assert base[0, 3] > 0 and base[1, 2] == 0


def test_probability_is_monotone_and_bounded():
    rng = np.random.default_rng(2)
    s = symmetrize(rng.normal(size=(30, 30)))
    p = probability(s)
    i, j = np.triu_indices(30, 6)
    order = np.argsort(s[i, j])
    assert np.all(np.diff(p[i, j][order]) >= -1e-12)
    assert p.min() >= 0 and p.max() <= 1
    # invariant to the scale and offset of the scores
    np.testing.assert_allclose(probability(10 * s + 3), p)


def test_calibration_falls_with_length_inside_the_fitted_range_only():
    z = np.array([0.0, 3.0, 6.0])
    for model, c in CALIBRATION.items():
        lo, hi = c["min_length"], c["max_length"]
        short, long_ = calibrated(z, lo, model=model), calibrated(z, hi, model=model)
        assert np.all(long_ < short)  # the same z means less in a longer protein
        np.testing.assert_allclose(calibrated(z, lo // 2, model=model), short)
        np.testing.assert_allclose(calibrated(z, 4 * hi, model=model), long_)
        logit = c["slope"] * z + c["log_length"] * np.log(200) + c["intercept"]
        np.testing.assert_allclose(calibrated(z, 200, model=model), 1 / (1 + np.exp(-logit)))
    s = symmetrize(np.random.default_rng(3).normal(size=(200, 200)))
    zs = zscores(s)
    np.testing.assert_allclose(probability(s, model="potts"), symmetrize(calibrated(zs, 200, model="potts")))


def test_precision_by_hand_and_unknown_residues():
    length = 8
    scores = np.zeros((length, length))
    truth = np.zeros((length, length), dtype=np.int8)
    scores[0, 6], scores[0, 7], scores[1, 7] = 0.9, 0.8, 0.7
    truth[0, 6] = truth[1, 7] = 1
    assert precision_at(scores, truth, min_sep=6, max_sep=None, top=2) == pytest.approx(0.5)
    assert precision_at(scores, truth, min_sep=6, max_sep=None, top=3) == pytest.approx(2 / 3)
    truth[0, :] = -1  # residue 1 unmapped: its pairs are left out, not counted as wrong
    assert precision_at(scores, truth, min_sep=6, max_sep=None, top=2) == pytest.approx(1.0)
    assert np.isnan(precision_at(scores, truth, min_sep=24, max_sep=None, top=2))
    table = precision_table(scores, truth)
    assert set(table) == {"short", "medium", "long"}
    assert set(table["short"]) == {"P@L", "P@L/2", "P@L/5"}


# ---------------------------------------------------------------- writers


def test_tsv_rr_npy_round_trip(tmp_path):
    rng = np.random.default_rng(3)
    query = "".join(rng.choice(list(AA), 12))
    scores = contact_scores(rng.random((12, 12)))
    probs = probability(scores)
    n = write_tsv(tmp_path / "c.tsv", scores, probs, query)
    rows = read_tsv(tmp_path / "c.tsv")
    assert n == len(rows) == 12 * 11 // 2
    assert [r[4] for r in rows] == sorted((r[4] for r in rows), reverse=True)
    for i, j, ri, rj, s, _p, sep in rows:
        assert 1 <= i < j <= 12 and sep == j - i
        assert ri == query[i - 1] and rj == query[j - 1]
        assert s == pytest.approx(scores[i - 1, j - 1], rel=1e-5)
    write_rr(tmp_path / "c.rr", probs, query, target="T1")
    seq, pairs = read_rr(tmp_path / "c.rr")
    assert seq == query
    assert all(j - i >= 6 for i, j, _ in pairs)
    assert [p for *_, p in pairs] == sorted((p for *_, p in pairs), reverse=True)
    assert (tmp_path / "c.rr").read_text().splitlines()[0] == "PFRMAT RR"
    write_npy(tmp_path / "c.npy", scores)
    np.testing.assert_allclose(np.load(tmp_path / "c.npy"), scores, rtol=1e-6)


# ---------------------------------------------------------------- fits on planted couplings


@pytest.mark.parametrize("model_type,steps", [("potts", 40), ("factored", 150)])
def test_fit_recovers_planted_pairs_and_is_seeded(model_type, steps):
    from mhsa_bio.io.msa import encode_rows

    tokens = encode_rows(planted_msa())
    weights = sequence_weights(tokens, identity=0.8)
    cfg = FitConfig(model_type=model_type, steps=steps, heads=4, head_dim=8, lr=0.05, batch_size=128)
    fit = fit_couplings(weights, config=cfg, seed=7)
    scores = contact_scores(coupling_norms(fit.couplings))
    i, j = np.triu_indices(12, 1)
    top = {
        (int(a), int(b))
        for a, b in zip(i[np.argsort(-scores[i, j])[:2]], j[np.argsort(-scores[i, j])[:2]], strict=True)
    }
    assert top == {(1, 9), (3, 6)}
    assert fit.losses[-1] < fit.losses[0]
    np.testing.assert_allclose(fit.couplings, fit.couplings.transpose(2, 3, 0, 1), atol=1e-6)
    again = fit_couplings(weights, config=cfg, seed=7)
    np.testing.assert_array_equal(again.couplings, fit.couplings)


def test_factored_penalty_equals_half_sum_of_squared_couplings():
    import torch

    from mhsa_bio.models.factored import FactoredAttention

    gen = torch.Generator().manual_seed(0)
    model = FactoredAttention(7, 5, heads=3, head_dim=4, generator=gen)
    with torch.no_grad():
        model.value.normal_(generator=gen)
        table, penalty = model.table_and_penalty()
        assert torch.equal(table, model.table())
        assert float(penalty) == pytest.approx(0.5 * float(table.square().sum()), rel=1e-5)


def test_factored_table_matches_its_definition():
    import torch

    from mhsa_bio.models.factored import FactoredAttention

    gen = torch.Generator().manual_seed(1)
    length, states = 6, 4
    model = FactoredAttention(length, states, heads=3, head_dim=4, generator=gen)
    with torch.no_grad():
        model.value.normal_(generator=gen)
        attn, value = model.attention(), model.value
        # W_ij(a, b) = ½ Σ_h [attn_h(i, j) V_h(a, b) + attn_h(j, i) V_h(b, a)], stored at [j, b, i, a]
        w = 0.5 * (torch.einsum("hij,hab->iajb", attn, value) + torch.einsum("hji,hba->iajb", attn, value))
        expected = w.permute(2, 3, 0, 1).reshape(length * states, length * states)
        table = model.table()
    torch.testing.assert_close(table, expected)
    torch.testing.assert_close(table, table.T)  # W_ij(a, b) = W_ji(b, a)
    assert not torch.allclose(w[0, :, 1], w[0, :, 1].T)  # a block need not be symmetric in (a, b)
    assert float(table.view(length, states, length, states)[2, :, 2].abs().max()) == 0.0


def test_duplicated_rows_change_nothing():
    from mhsa_bio.io.msa import encode_rows

    tokens = encode_rows(planted_msa(n=80))
    a = sequence_weights(tokens)
    b = sequence_weights(np.concatenate([tokens, tokens[:10]]))
    # duplicates merge into their first copy, and 80% identity already counts them once
    np.testing.assert_array_equal(a.unique, b.unique)
    cfg = FitConfig(model_type="potts", steps=10)
    fa, fb = fit_couplings(a, config=cfg), fit_couplings(b, config=cfg)
    np.testing.assert_allclose(fa.couplings, fb.couplings, atol=1e-5)


# ---------------------------------------------------------------- the command


def _write_a3m(path: Path, seqs: list[str]) -> Path:
    path.write_text("".join(f">s{k}\n{s}\n" for k, s in enumerate(seqs)))
    return path


def test_cli_end_to_end_with_structure(tmp_path):
    seqs = planted_msa()
    msa = _write_a3m(tmp_path / "fam.a3m", seqs)
    pdb = line_pdb(tmp_path / "fam.pdb", seqs[0], ((1, 9), (3, 6)))
    out = tmp_path / "out"
    fit = ("--model-type", "potts", "--steps", 30, "--out", out, "--device", "cpu", "--seed", 3)
    result = invoke("contacts", msa, "--pdb", pdb, "--chain", "A", *fit)
    assert result.exit_code == 0, result.output
    names = {p.name for p in out.iterdir()}
    assert names == {
        "contacts.tsv",
        "contacts.rr",
        "contact_map.png",
        "contact_map.npy",
        "contacts_predicted.tsv",
        "contact_map_binary.npy",
        "run.json",
        "metrics.json",
    }
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["mapped_residues"] == 12
    assert metrics["true_contacts"]["short"] == 1  # (1, 9) at separation 8; (3, 6) is 3
    # L/5 = 2 picks in the short range, which holds one true contact: 0.5 is the best possible
    assert metrics["precision"]["short"]["P@L/5"] == 0.5
    run = json.loads((out / "run.json").read_text())
    assert run["command"] == "contacts" and run["params"]["seed"] == 3
    assert run["result"]["neff"] > 0
    rows = read_tsv(out / "contacts.tsv")
    assert {(rows[0][0], rows[0][1]), (rows[1][0], rows[1][1])} == {(2, 10), (4, 7)}
    # same seed, same scores
    again = invoke("contacts", msa, *fit, "--force")
    assert again.exit_code == 0, again.output
    assert read_tsv(out / "contacts.tsv")[:5] == rows[:5]
    assert not (out / "metrics.json").exists()


def _fails(args: list[str], out: Path, *needles: str) -> None:
    result = invoke("contacts", *args, "--out", str(out), "--device", "cpu")
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    text = " ".join(result.output.split())
    for needle in needles:
        assert needle in text, result.output
    assert not out.exists() or not any(out.iterdir())


def test_cli_bad_inputs(tmp_path):
    seqs = planted_msa(n=20)
    msa = _write_a3m(tmp_path / "fam.a3m", seqs)
    out = tmp_path / "out"
    ragged = tmp_path / "ragged.fasta"
    ragged.write_text(">a\nACDE\n>b\nACD\n")
    _fails([str(ragged)], out, "ragged.fasta", "aligned length")
    single = tmp_path / "one.fasta"
    single.write_text(">p1\nACDEFGHIKL\n")
    _fails([str(single)], out, "one sequence", "--database", "--model")
    _fails([str(tmp_path / "missing.a3m")], out, "no such file")
    _fails([str(msa), "--query", "nope"], out, "no row with this id")
    _fails([str(msa), "--model-type", "mlp"], out, "--model-type")
    _fails([str(msa), "--pdb", str(tmp_path / "none.pdb")], out, "no such file")
    wrong = line_pdb(tmp_path / "wrong.pdb", "W" * 12, ())
    _fails(
        [str(msa), "--pdb", str(wrong), "--steps", "2", "--model-type", "potts"],
        out,
        "does not match the query",
    )
    garbage = tmp_path / "garbage.sto"
    garbage.write_text("# STOCKHOLM 1.0\nonlyone\n//\n")
    _fails([str(garbage)], out, "garbage.sto")
    # an existing, non-empty output folder needs --force
    out.mkdir(exist_ok=True)
    (out / "keep.txt").write_text("x")
    result = invoke("contacts", str(msa), "--out", str(out), "--steps", "2")
    assert result.exit_code != 0 and "--force" in " ".join(result.output.split())
    assert (out / "keep.txt").exists()


def test_structure_mismatch_fails_before_the_fit(tmp_path, monkeypatch):
    """A structure of another protein, or the wrong chain, is refused before any fitting."""
    import mhsa_bio.contacts.find as find
    import mhsa_bio.contacts.run as predict

    def no_fit(*args, **kwargs):
        raise AssertionError("the fit ran before the structure was checked")

    monkeypatch.setattr(find, "fit_couplings", no_fit)
    seqs = planted_msa(n=20)
    msa = _write_a3m(tmp_path / "fam.a3m", seqs)
    out = tmp_path / "out"
    other = "W" * 12
    wrong = line_pdb(tmp_path / "wrong.pdb", other, ())
    _fails([str(msa), "--pdb", str(wrong), "--chain", "A"], out, "wrong.pdb", "does not match the query")
    # two chains: A is the query, B another protein; --chain B must fail, naming the chain
    two = line_pdb(tmp_path / "two.pdb", seqs[0], (), chains="AB", extra=other)
    _fails([str(msa), "--pdb", str(two), "--chain", "B"], out, "two.pdb", "chain 'B'", "--chain")
    _fails([str(msa), "--pdb", str(two), "--chain", "C"], out, "two.pdb")
    # the right chain gets past the check and reaches the (stubbed) fit
    with pytest.raises(AssertionError, match="the fit ran"):
        predict.predict_contacts(msa, pdb=str(two), chain="A")


@pytest.mark.skipif(not DATA.is_dir(), reason="shared data not present")
def test_real_family_long_range_precision(tmp_path):
    """1atzA with a short factored-attention fit: far above the random baseline."""
    out = tmp_path / "c"
    result = invoke(
        "contacts",
        str(DATA / "1atzA" / "1atzA.fas"),
        "--query",
        "seq_2634",
        "--pdb",
        str(DATA / "1atzA" / "1atzA.pdb"),
        "--chain",
        "A",
        "--model-type",
        "potts",
        "--steps",
        "25",
        "--out",
        str(out),
        "--device",
        "cpu",
    )
    assert result.exit_code == 0, result.output
    metrics = json.loads((out / "metrics.json").read_text())
    truth_rate = metrics["true_contacts"]["long"] / sum(range(1, 75 - 24 + 1))
    assert truth_rate < 0.1
    assert metrics["precision"]["long"]["P@L/5"] >= 0.5
    assert metrics["precision"]["long"]["P@L"] >= 3 * truth_rate
