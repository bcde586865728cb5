"""Shared by the contacts tests: one torch thread for tiny fits, and residue names for fake PDBs."""

from __future__ import annotations

import pytest
from Bio.Data.IUPACData import protein_letters_1to3

#: One-letter amino acid → PDB residue name (ALA, CYS, ...).
ONE_TO_THREE = {one: three.upper() for one, three in protein_letters_1to3.items()}


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny fits run fastest on one thread (and do not fight other tests for cores)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
