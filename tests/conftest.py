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
