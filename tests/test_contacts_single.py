"""Tests for one-sequence contacts: jackhmmer MSAs (contacts/search.py) and ESM-2 (contacts/esm.py)."""

from __future__ import annotations

from argparse import Namespace
from pathlib import Path

import numpy as np
import pytest
from conftest import invoke
from contacts_fixtures import one_thread  # noqa: F401 (autouse fixture)

from mhsa_bio.contacts.search import _query_row, build_msa
from mhsa_bio.io.msa import MSA_ALPHABET

AA = MSA_ALPHABET[:20]


def _family(seed: int = 0, length: int = 90, n: int = 12):
    """A random query, mutated homologues (one with an insertion) and unrelated decoys."""
    rng = np.random.default_rng(seed)
    query = "".join(rng.choice(list(AA), length))
    homologues = []
    for k in range(n):
        s = list(query)
        for pos in rng.choice(length, size=length // 6, replace=False):
            s[pos] = AA[rng.integers(20)]
        if k == 0:
            s.insert(40, "WWWW")  # an insertion: must not shift the query's columns
        homologues.append("".join(s))
    decoys = ["".join(rng.choice(list(AA), length)) for _ in range(20)]
    return query, homologues, decoys


def test_query_row_projection_drops_inserts():
    # profile positions 3..6 aligned; the target has two inserted residues ('.' in the model)
    assert _query_row("ABC..D", "xyzqrw", 3, 8) == "--XYZW--"
    assert _query_row("ABCD", "A-CD", 1, 4) == "A-CD"


def test_jackhmmer_builds_a_query_anchored_msa(tmp_path):
    query, homologues, decoys = _family()
    db = tmp_path / "db.fasta"
    db.write_text(
        "".join(f">h{k}\n{s}\n" for k, s in enumerate(homologues))
        + "".join(f">d{k}\n{s}\n" for k, s in enumerate(decoys))
    )
    msa = build_msa("q", query, db, iterations=2, evalue=1e-3, cpus=1)
    assert msa.ids[0] == "q" and msa.seqs[0] == query
    assert all(len(s) == len(query) for s in msa.seqs)
    names = {i.split("/")[0] for i in msa.ids[1:]}
    assert {f"h{k}" for k in range(12)} <= names
    assert not any(n.startswith("d") for n in names)
    row = msa.seqs[msa.ids.index(next(i for i in msa.ids if i.startswith("h0/")))]
    expected = homologues[0][:40] + homologues[0][44:]
    same = sum(a == b for a, b in zip(row, expected, strict=True))
    assert same >= len(query) - 4  # the insertion is dropped, the columns stay in register
    capped = build_msa("q", query, db, iterations=1, max_sequences=3, cpus=1)
    assert len(capped.seqs) == 4


def test_cli_database_path_and_saved_msa(tmp_path):
    query, homologues, decoys = _family(seed=1, length=40, n=30)
    qfile = tmp_path / "q.fasta"
    qfile.write_text(f">query\n{query}\n")
    db = tmp_path / "db.fasta"
    db.write_text("".join(f">h{k}\n{s}\n" for k, s in enumerate(homologues + decoys)))
    out = tmp_path / "out"
    result = invoke(
        "contacts",
        str(qfile),
        "--database",
        str(db),
        "--iterations",
        "1",
        "--model-type",
        "potts",
        "--steps",
        "5",
        "--out",
        str(out),
        "--device",
        "cpu",
    )
    assert result.exit_code == 0, result.output
    assert (out / "msa.a3m").exists() and (out / "contacts.rr").exists()
    from mhsa_bio.io.msa import read_msa

    assert read_msa(out / "msa.a3m").query == query


# ---------------------------------------------------------------- ESM-2


def _tiny_esm(tmp_path: Path, *, regression: bool) -> Path:
    """A randomly initialised 2-layer ESM-2 saved the way fair-esm's checkpoints are."""
    pytest.importorskip("esm")
    import torch
    from esm.data import Alphabet
    from esm.model.esm2 import ESM2

    torch.manual_seed(0)
    alphabet = Alphabet.from_architecture("ESM-1b")
    model = ESM2(num_layers=2, embed_dim=32, attention_heads=4, alphabet=alphabet, token_dropout=True)
    state = model.state_dict()
    body = {
        f"encoder.sentence_encoder.{k}": v
        for k, v in state.items()
        if not k.startswith("contact_head.regression")
    }
    path = tmp_path / "esm2_t2_tiny.pt"
    cfg = Namespace(encoder_layers=2, encoder_embed_dim=32, encoder_attention_heads=4, token_dropout=True)
    torch.save({"cfg": {"model": cfg}, "model": body}, path)
    if regression:
        reg = {k: v for k, v in state.items() if k.startswith("contact_head.regression")}
        torch.save({"model": reg}, tmp_path / "esm2_t2_tiny-contact-regression.pt")
    return path


def test_esm_attention_path_crops_special_tokens(tmp_path):
    import torch

    from mhsa_bio.contacts.esm import contacts_from_esm, load_esm
    from mhsa_bio.contacts.readout import apc, symmetrize

    path = _tiny_esm(tmp_path, regression=False)
    seq = "MKTAYIAKQRQISFVKSHFSRQ"
    scores, probs, info = contacts_from_esm(path, seq)
    assert scores.shape == probs.shape == (len(seq), len(seq))
    assert info["layers"] == 2 and info["heads"] == 4 and not info["regression_head"]
    np.testing.assert_allclose(scores, scores.T, atol=1e-6)
    # by hand: BOS at 0, EOS at L+1
    model, alphabet, _ = load_esm(path)
    _, _, tokens = alphabet.get_batch_converter()([("q", seq)])
    assert tokens.shape[1] == len(seq) + 2
    with torch.no_grad():
        attn = model(tokens, need_head_weights=True)["attentions"][0].numpy()
    maps = apc(symmetrize(attn[:, :, 1:-1, 1:-1].reshape(8, len(seq), len(seq)))).mean(0)
    np.fill_diagonal(maps, 0)
    np.testing.assert_allclose(scores, maps, atol=1e-5)


def test_esm_regression_head_and_padding(tmp_path):
    import torch

    from mhsa_bio.contacts.esm import contacts_from_esm, load_esm

    path = _tiny_esm(tmp_path, regression=True)
    seq = "MKTAYIAKQRQISFVKSHFSRQ"
    scores, probs, info = contacts_from_esm(path, seq)
    assert info["regression_head"]
    assert probs.min() >= 0 and probs.max() <= 1
    model, alphabet, _ = load_esm(path)
    # the same sequence padded in a batch beside a longer one gives the same contacts
    _, _, tokens = alphabet.get_batch_converter()([("q", seq), ("long", seq + "AAAAAAAA")])
    with torch.no_grad():
        batch = model.predict_contacts(tokens)[0, : len(seq), : len(seq)].numpy()
    np.testing.assert_allclose(scores, 0.5 * (batch + batch.T), atol=1e-5)


def test_cli_model_path_and_bad_checkpoint(tmp_path):
    path = _tiny_esm(tmp_path, regression=False)
    qfile = tmp_path / "q.fasta"
    qfile.write_text(">query\nMKTAYIAKQRQISFVKSHFSRQ\n")
    out = tmp_path / "out"
    result = invoke("contacts", str(qfile), "--model", str(path), "--out", str(out), "--device", "cpu")
    assert result.exit_code == 0, result.output
    assert {p.name for p in out.iterdir()} >= {"contacts.tsv", "contacts.rr", "run.json"}
    bad = tmp_path / "esm2_bad.pt"
    bad.write_bytes(b"not a checkpoint")
    result = invoke("contacts", qfile, "--model", bad, "--out", tmp_path / "o2", "--device", "cpu")
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert "esm2_bad.pt" in result.output
    assert not (tmp_path / "o2").exists() or not any((tmp_path / "o2").iterdir())


class _Payload:
    def __reduce__(self):
        return (open, (str(Path("/tmp") / "mhsa_bio_esm_pwned"), "w"))


def test_esm_checkpoint_with_arbitrary_objects_is_refused_not_executed(tmp_path):
    import torch

    from mhsa_bio.contacts.esm import _torch_load
    from mhsa_bio.errors import InputError

    marker = Path("/tmp") / "mhsa_bio_esm_pwned"
    marker.unlink(missing_ok=True)
    path = tmp_path / "evil.pt"
    torch.save({"model": {}, "cfg": _Payload()}, path)
    with pytest.raises(InputError, match="weights_only=True"):
        _torch_load(path)
    assert not marker.exists()
    ok = tmp_path / "ok.pt"
    torch.save({"model": {"w": torch.zeros(2)}, "args": Namespace(layers=1)}, ok)
    assert _torch_load(ok)["args"].layers == 1
