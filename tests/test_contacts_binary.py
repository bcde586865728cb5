"""Tests for the binary contact map: which pairs are called, and how ``contacts`` writes them."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import invoke
from contacts_fixtures import line_pdb, one_thread, planted_msa  # noqa: F401 (autouse fixture)
from test_contacts import _fails, _write_a3m

from mhsa_bio.contacts.readout import binary_map, contact_scores, predicted_pairs, probability
from mhsa_bio.contacts.writers import read_tsv


def _random_scores(length: int = 20, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    scores = contact_scores(np.random.default_rng(seed).random((length, length)))
    return scores, probability(scores)


def test_top_l_by_hand():
    """Scores set by hand: the calls are the best pairs at separation >= 6, best first."""
    length = 10
    scores = np.zeros((length, length))
    for (i, j), s in {(0, 9): 5.0, (1, 2): 9.0, (2, 8): 4.0, (0, 6): 3.0, (3, 9): 2.0}.items():
        scores[i, j] = scores[j, i] = s
    i, j = predicted_pairs(scores, probability(scores), top=3)
    # (1, 2) scores highest but is 1 apart: never called at the default separation 6
    assert list(zip(i.tolist(), j.tolist(), strict=True)) == [(0, 9), (2, 8), (0, 6)]
    i, j = predicted_pairs(scores, probability(scores), top=1, min_separation=1)
    assert (i.tolist(), j.tolist()) == ([1], [2])


def test_default_is_top_l_and_respects_separation():
    scores, probs = _random_scores(20)
    i, j = predicted_pairs(scores, probs)
    assert i.size == 20 and np.all(j - i >= 6)
    assert np.all(np.diff(scores[i, j]) <= 0)
    # no pair at separation >= 6 left out scores above the weakest call
    a, b = np.triu_indices(20, 6)
    called = set(zip(i.tolist(), j.tolist(), strict=True))
    rest = [scores[x, y] for x, y in zip(a.tolist(), b.tolist(), strict=True) if (x, y) not in called]
    assert max(rest) <= scores[i, j].min()
    # more pairs asked than exist: all of them
    i, j = predicted_pairs(scores, probs, top=10_000, min_separation=15)
    assert i.size == len(np.triu_indices(20, 15)[0])


def test_threshold_calls_exactly_the_pairs_at_or_above_it():
    scores, probs = _random_scores(25, seed=1)
    cut = float(np.quantile(probs[np.triu_indices(25, 6)], 0.9))
    i, j = predicted_pairs(scores, probs, threshold=cut, top=3)  # top is ignored with a threshold
    a, b = np.triu_indices(25, 6)
    expect = {(x, y) for x, y in zip(a.tolist(), b.tolist(), strict=True) if probs[x, y] >= cut}
    assert set(zip(i.tolist(), j.tolist(), strict=True)) == expect and len(expect) > 3
    assert predicted_pairs(scores, probs, threshold=1.0)[0].size == 0


def test_binary_map_is_symmetric_zero_one():
    m = binary_map(6, np.array([0, 1]), np.array([5, 4]))
    assert m.dtype == np.uint8 and (m == m.T).all() and m.sum() == 4
    assert m[0, 5] == m[5, 0] == m[1, 4] == 1 and m.trace() == 0


def _run(tmp_path, *extra):
    seqs = planted_msa(n=300, length=14, pairs=((1, 9), (3, 12)))
    msa = _write_a3m(tmp_path / "fam.a3m", seqs)
    pdb = line_pdb(tmp_path / "fam.pdb", seqs[0], ((1, 9), (3, 12)))
    out = tmp_path / "out"
    args = ("--model-type", "potts", "--steps", 30, "--out", out, "--device", "cpu", "--force")
    result = invoke("contacts", msa, "--pdb", pdb, "--chain", "A", *args, *extra)
    assert result.exit_code == 0, result.output
    return out


def test_cli_writes_the_binary_map_and_its_list(tmp_path):
    out = _run(tmp_path)
    binary = np.load(out / "contact_map_binary.npy")
    assert binary.shape == (14, 14) and binary.dtype == np.uint8 and (binary == binary.T).all()
    rows = read_tsv(out / "contacts_predicted.tsv")
    assert len(rows) == 14 == binary.sum() // 2  # top L
    assert all(sep >= 6 for *_, sep in rows)
    assert {(a, b) for a, b, *_ in rows} == {(a + 1, b + 1) for a, b in zip(*np.nonzero(np.triu(binary)))}
    # the two planted pairs (separation 8 and 9) are the best calls, and the rows follow contacts.tsv
    assert {(r[0], r[1]) for r in rows[:2]} == {(2, 10), (4, 13)}
    full = [r for r in read_tsv(out / "contacts.tsv") if r[6] >= 6]
    assert rows == full[:14]
    metrics = json.loads((out / "metrics.json").read_text())["predicted"]
    assert metrics["rule"] == "top 14" and metrics["pairs"] == 14 and metrics["min_separation"] == 6
    # 2 of the 14 called pairs are the structure's only contacts at separation >= 6
    assert metrics["precision"] == pytest.approx(2 / 14)
    run = json.loads((out / "run.json").read_text())
    assert run["params"]["top"] is None and run["params"]["min_separation"] == 6


def test_cli_threshold_and_top(tmp_path):
    out = _run(tmp_path, "--threshold", "0.5")
    rows = read_tsv(out / "contacts_predicted.tsv")
    assert rows and all(r[5] >= 0.5 for r in rows)
    full = read_tsv(out / "contacts.tsv")
    assert len(rows) == sum(1 for r in full if r[6] >= 6 and r[5] >= 0.5)
    assert json.loads((out / "metrics.json").read_text())["predicted"]["rule"] == "probability >= 0.5"
    out = _run(tmp_path, "--top", "3", "--min-separation", "8")
    rows = read_tsv(out / "contacts_predicted.tsv")
    assert len(rows) == 3 and all(r[6] >= 8 for r in rows)
    assert np.load(out / "contact_map_binary.npy").sum() == 6


def test_cli_top_and_threshold_together_is_an_error(tmp_path):
    msa = _write_a3m(tmp_path / "fam.a3m", planted_msa(n=20))
    _fails([str(msa), "--top", "5", "--threshold", "0.5"], tmp_path / "out", "--top", "--threshold")
    _fails([str(msa), "--threshold", "1.5"], tmp_path / "out", "--threshold")
