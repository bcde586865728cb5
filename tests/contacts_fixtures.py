"""Shared by the contacts tests: one torch thread for tiny fits, planted alignments and fake PDBs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from Bio.Data.IUPACData import protein_letters_1to3

from mhsa_bio.io.msa import MSA_ALPHABET

#: One-letter amino acid → PDB residue name (ALA, CYS, ...).
ONE_TO_THREE = {one: three.upper() for one, three in protein_letters_1to3.items()}
AA = MSA_ALPHABET[:20]


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny fits run fastest on one thread (and do not fight other tests for cores)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def planted_msa(
    n: int = 300, length: int = 12, *, seed: int = 0, pairs: tuple[tuple[int, int], ...] = ((1, 9), (3, 6))
) -> list[str]:
    """Random sequences where column j copies a permuted column i for each planted pair."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 20, size=(n, length))
    for i, j in pairs:
        perm = rng.permutation(20)
        x[:, j] = np.where(rng.random(n) < 0.9, perm[x[:, i]], x[:, j])
    return ["".join(AA[k] for k in row) for row in x]


def line_pdb(
    path: Path, query: str, close: tuple[tuple[int, int], ...], *, chains: str = "A", extra: str = ""
) -> Path:
    """A fake chain: residues far apart on a line, except planted pairs put 4 Å apart.

    ``extra``, when given, is written first as another chain (id ``chains[1]``) far from the first.
    """
    lines = []
    for k, aa in enumerate(extra):
        lines.append(
            f"ATOM  {k + 1:5d}  CA  {ONE_TO_THREE[aa]} {chains[1]}{k + 1:4d}    "
            f"{20.0 * k:8.3f}{500.0:8.3f}{0.0:8.3f}  1.00  0.00           C\n"
        )
    xyz = np.array([[20.0 * k, 0.0, 0.0] for k in range(len(query))])
    for i, j in close:
        xyz[j] = xyz[i] + [0.0, 4.0, 0.0]
    for k, (aa, p) in enumerate(zip(query, xyz, strict=True)):
        lines.append(
            f"ATOM  {len(extra) + k + 1:5d}  CA  {ONE_TO_THREE[aa]} {chains[0]}{k + 1:4d}    "
            f"{p[0]:8.3f}{p[1]:8.3f}{p[2]:8.3f}  1.00  0.00           C\n"
        )
    path.write_text("".join(lines) + "END\n")
    return path
