"""Shared fixtures: tiny DNA sets with a planted motif, written as FASTA in tmp folders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def random_dna(rng: np.random.Generator, length: int) -> str:
    return "".join(rng.choice(list("ACGT"), size=length))


def planted_set(n: int = 120, length: int = 60, *, motif: str = "TATAATGC", pos: int = 25,
                seed: int = 0) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Positives carry ``motif`` at ``pos``; negatives are random sequence."""
    rng = np.random.default_rng(seed)
    pos_recs, neg_recs = [], []
    for i in range(n):
        s = random_dna(rng, length)
        pos_recs.append((f"p{i}", s[:pos] + motif + s[pos + len(motif):]))
        neg_recs.append((f"n{i}", random_dna(rng, length)))
    return pos_recs, neg_recs


def fit_toy(model, pos, neg, *, epochs: int, lr: float, seed: int) -> float:
    """Train ``model`` in place on positives (class 1) vs negatives (records with ``.seq``):
    AdamW, batches of 64 in a seeded order, no schedule. Leaves it in eval mode and returns its
    accuracy on the training sequences."""
    import torch
    import torch.nn.functional as F

    from mhsa_bio.alphabet import encode_batch

    tokens, lengths = encode_batch([r.seq for r in pos + neg])
    x, n = torch.from_numpy(tokens), torch.from_numpy(lengths)
    y = torch.tensor([1] * len(pos) + [0] * len(neg))
    opt = torch.optim.AdamW(model.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(seed)
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(y), generator=gen)
        for start in range(0, len(y), 64):
            rows = order[start:start + 64]
            loss = F.cross_entropy(model(x[rows], n[rows]).logits, y[rows])
            opt.zero_grad()
            loss.backward()
            opt.step()
    model.eval()
    with torch.no_grad():
        return (model(x, n).logits.argmax(1) == y).float().mean().item()


def invoke(*args):
    """Run ``mhsa-bio ARGS`` in process (paths and numbers as strings)."""
    from typer.testing import CliRunner

    from mhsa_bio.cli.main import app

    return CliRunner().invoke(app, [str(a) for a in args])


def assert_clean_error(result, *needles):
    """A user error: non-zero exit, no traceback, every needle in the (re-wrapped) message."""
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    text = " ".join(result.output.split())
    for needle in needles:
        assert needle in text, result.output


def write_fasta(path: Path, records: list[tuple[str, str]]) -> Path:
    path.write_text("".join(f">{i}\n{s}\n" for i, s in records))
    return path


@pytest.fixture
def planted_fastas(tmp_path: Path) -> tuple[Path, Path]:
    pos, neg = planted_set()
    return write_fasta(tmp_path / "pos.fa", pos), write_fasta(tmp_path / "neg.fa", neg)


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny model trained once for the session through the CLI (a few seconds)."""
    from typer.testing import CliRunner

    from mhsa_bio.cli.main import app

    root = tmp_path_factory.mktemp("trained")
    pos, neg = planted_set()
    p = write_fasta(root / "pos.fa", pos)
    q = write_fasta(root / "neg.fa", neg)
    out = root / "run"
    result = CliRunner().invoke(app, ["train", str(p), "--negatives", str(q), "--out", str(out),
                                      "--epochs", "6", "--dim", "32", "--heads", "2", "--lr", "3e-3",
                                      "--batch-size", "16", "--device", "cpu", "--seed", "1"])
    assert result.exit_code == 0, result.output
    return out
