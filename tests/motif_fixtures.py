"""Shared data for the motif tests: a planted-motif set and a tiny model trained on it (cached)."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from mhsa_bio.io.fasta import Record

MOTIF = "TGATAAGC"  # GATA-like, not a palindrome
LENGTH = 60
DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def random_seq(rng: np.random.Generator, n: int) -> str:
    return "".join(rng.choice(list("ACGT"), size=n))


def revcomp(seq: str) -> str:
    return seq.translate(str.maketrans("ACGT", "TGCA"))[::-1]


@functools.cache
def planted(n: int = 300, seed: int = 0) -> tuple[list[Record], list[Record], list[tuple[int, str]]]:
    """``n`` positives with MOTIF planted once (random place and strand), ``n`` random
    background sequences, and each positive's (start, strand)."""
    rng = np.random.default_rng(seed)
    pos, neg, truth = [], [], []
    for i in range(n):
        seq = random_seq(rng, LENGTH)
        start = int(rng.integers(0, LENGTH - len(MOTIF) + 1))
        strand = "+" if rng.random() < 0.5 else "-"
        site = MOTIF if strand == "+" else revcomp(MOTIF)
        pos.append(Record(f"p{i}", seq[:start] + site + seq[start + len(MOTIF):]))
        truth.append((start, strand))
        neg.append(Record(f"n{i}", random_seq(rng, LENGTH)))
    return pos, neg, truth


@functools.cache
def tiny_model(seed: int = 0, epochs: int = 8):  # -> PromoterTransformer
    """A 1-layer, 2-head model trained for a few seconds to tell positives from background."""
    import torch
    from conftest import fit_toy

    from mhsa_bio.models.promoter import PromoterConfig, PromoterTransformer

    torch.manual_seed(seed)
    pos, neg, _ = planted()
    model = PromoterTransformer(PromoterConfig(dim=32, heads=2, layers=1, stem_kernel=9,
                                               max_len=LENGTH, dropout=0.0))
    fit_toy(model, pos, neg, epochs=epochs, lr=3e-3, seed=seed)
    return model


def save_tiny_checkpoint(path: Path, *, fasta: Path | None = None,
                         negatives: Path | None = None, bed: Path | None = None,
                         genome: Path | None = None) -> Path:
    """Write the tiny model as an mhsa-bio checkpoint whose provenance names the input files."""
    from mhsa_bio.checkpoint import make_checkpoint, save_checkpoint

    model = tiny_model()
    inputs = {}
    if fasta is not None:
        inputs["fasta"] = {"path": str(fasta.resolve()), "sha256": ""}
    for key, file in (("negatives", negatives), ("bed", bed), ("genome", genome)):
        if file is not None:
            inputs[key] = {"path": str(file.resolve()), "sha256": ""}
    ckpt = make_checkpoint(model, model_type="promoter", config=model.config.to_dict(),
                           alphabet="ACGTN", classes=["background", "positive"],
                           provenance={"inputs": inputs,
                                       "background": "negatives" if negatives else "shuffle"},
                           metrics={})
    save_checkpoint(ckpt, path)
    return path


def write_fasta(path: Path, records: list[Record]) -> Path:
    path.write_text("".join(f">{r.id}\n{r.seq}\n" for r in records))
    return path
