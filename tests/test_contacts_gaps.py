"""Tests for how a contact fit treats gaps: ``FitConfig.gaps`` / ``contacts --gaps``."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from conftest import invoke
from contacts_fixtures import one_thread, planted_msa  # noqa: F401 (autouse fixture)

from mhsa_bio.contacts.fit import FitConfig, fit_couplings
from mhsa_bio.contacts.optimise import _objective
from mhsa_bio.contacts.readout import contact_scores, coupling_norms
from mhsa_bio.contacts.weights import sequence_weights
from mhsa_bio.errors import InputError
from mhsa_bio.io.msa import GAP, MSA_ALPHABET, encode_rows
from mhsa_bio.models.factored import FactoredAttention
from mhsa_bio.models.potts import Potts

STATES = len(MSA_ALPHABET)


def _gappy(rows: list[str], fraction: float, seed: int = 0) -> list[str]:
    """``rows`` with a random ``fraction`` of their residues turned into gaps."""
    rng = np.random.default_rng(seed)
    out = []
    for row in rows:
        gap = rng.random(len(row)) < fraction
        out.append("".join("-" if g else c for c, g in zip(row, gap, strict=True)))
    return out


def _by_hand(table: np.ndarray, fields: np.ndarray, x: np.ndarray) -> float:
    """Σ over rows and non-gap positions of −log p(x_i | the other non-gap residues), the
    softmax over the 20 amino acids, every term written out."""
    length = x.shape[1]
    total = 0.0
    for row in x:
        for i in range(length):
            if row[i] == GAP:
                continue
            logits = fields[i, :GAP].astype(np.float64).copy()
            for j in range(length):
                if j != i and row[j] != GAP:
                    logits += table[j * STATES + row[j], i * STATES : i * STATES + GAP]
            logits -= logits.max()
            total -= logits[row[i]] - np.log(np.exp(logits).sum())
    return total


@pytest.mark.parametrize("kind", ["factored", "potts"])
def test_ignored_gaps_leave_gapped_residues_out_of_the_pseudo_likelihood(kind):
    """With the gap ignored the data NLL is the 20-state pseudo-likelihood of the non-gap
    residues given the other non-gap residues, whatever the gap field holds."""
    gen = torch.Generator().manual_seed(0)
    length = 6
    if kind == "factored":
        model = FactoredAttention(
            length, STATES, heads=3, head_dim=4, generator=gen, init_std=1.0, value_std=0.5, ignore_gap=True
        )
    else:
        model = Potts(length, STATES, ignore_gap=True)
        with torch.no_grad():
            model.weight.normal_(0.0, 0.3, generator=gen)
            model.weight.mul_(model.mask)
    with torch.no_grad():
        model.fields.normal_(0.0, 1.0, generator=gen)
    rows = _gappy(planted_msa(n=8, length=length, pairs=((1, 4),)), 0.3)
    x = torch.from_numpy(encode_rows(rows).astype(np.int64))
    assert (x == GAP).any()
    idx = x + STATES * torch.arange(length)
    w = torch.ones(x.shape[0])

    def data() -> float:
        with torch.no_grad():
            _, d = _objective(model, x, idx, w, l2=0.0, l2_fields=0.0, neff=1.0, n_states=STATES)
        return float(d)

    table = model.table().detach().numpy()
    expected = _by_hand(table, model.fields.detach().numpy(), x.numpy())
    assert data() == pytest.approx(expected, rel=1e-5)
    with torch.no_grad():
        model.fields[:, GAP] += 5.0
    assert data() == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("kind", ["factored", "potts"])
def test_ignored_gaps_get_no_couplings_and_the_planted_pairs_still_lead(kind):
    """A fit with 20 % gaps: every coupling to or from the gap state is zero, and the two planted
    pairs are the top two by score."""
    rows = _gappy(planted_msa(n=400), 0.2)
    weights = sequence_weights(encode_rows(rows), identity=0.8, n_states=STATES)
    over = {"heads": 8, "steps": 150} if kind == "factored" else {}
    res = fit_couplings(weights, config=FitConfig(model_type=kind, gaps="ignore", **over), seed=0)
    assert res.config.gaps == "ignore"
    assert np.abs(res.couplings[:, GAP]).max() == 0.0
    assert np.abs(res.couplings[:, :, :, GAP]).max() == 0.0
    scores = contact_scores(coupling_norms(res.couplings))
    i, j = np.triu_indices(scores.shape[0], 1)
    top = {(int(i[k]), int(j[k])) for k in np.argsort(-scores[i, j])[:2]}
    assert top == {(1, 9), (3, 6)}


def test_gaps_default_by_model_and_are_checked():
    """Factored attention ignores gaps by default, the Potts model models them; a given value
    wins; anything else is a one-line input error."""
    assert FitConfig().resolve(100, 500, 400).gaps == "ignore"
    assert FitConfig(model_type="potts").resolve(100, 500, 400).gaps == "model"
    assert FitConfig(gaps="model").resolve(100, 500, 400).gaps == "model"
    assert FitConfig(model_type="potts", gaps="ignore").resolve(100, 500, 400).gaps == "ignore"
    with pytest.raises(InputError, match="--gaps both: expected ignore or model"):
        FitConfig(gaps="both").resolve(100, 500, 400)


def test_modelled_gaps_are_coupled():
    """With the gap as a state, columns whose gaps always come together couple through it."""
    rows = planted_msa(n=300)
    rng = np.random.default_rng(1)
    together = rng.random(len(rows)) < 0.3
    rows = [r[:4] + "--" + r[6:] if t else r for r, t in zip(rows, together, strict=True)]
    weights = sequence_weights(encode_rows(rows), identity=0.8, n_states=STATES)
    res = fit_couplings(weights, config=FitConfig(model_type="potts", gaps="model"), seed=0)
    assert abs(res.couplings[4, GAP, 5, GAP]) > 0.1


def test_cli_gaps_reaches_the_fit(tmp_path):
    """``--gaps`` is recorded in run.json's resolved config; the default for factored is ignore;
    a wrong value is one line, exit 2."""
    msa = tmp_path / "fam.a3m"
    msa.write_text("".join(f">s{k}\n{s}\n" for k, s in enumerate(_gappy(planted_msa(n=60), 0.1))))
    for flag, expected in ((None, "ignore"), ("model", "model"), ("ignore", "ignore")):
        out = tmp_path / f"out{flag}"
        args = [msa, "--out", out, "--steps", 3, "--heads", 2, "--device", "cpu"]
        result = invoke("contacts", *args, *(["--gaps", flag] if flag else []))
        assert result.exit_code == 0, result.output
        run = json.loads((out / "run.json").read_text())
        assert run["result"]["config"]["gaps"] == expected, flag
    result = invoke("contacts", msa, "--out", tmp_path / "bad", "--gaps", "skip")
    assert result.exit_code == 2
    assert "--gaps skip: expected ignore or model" in result.output
    assert not (tmp_path / "bad").exists()
