"""Sequence alphabets and their integer encodings (DNA with N and padding, protein)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

DNA = "ACGTN"
#: Token of padded positions; never read downstream (the model masks it).
PAD = 5
N_TOKEN = 4
IUPAC_AMBIGUOUS = set("RYSWKMBDHVN")
PROTEIN = "ACDEFGHIKLMNPQRSTVWY"
#: Letters that occur in protein sequences but never in DNA (besides IUPAC codes).
PROTEIN_ONLY = set("EFIJLOPQXZ*")

_LUT = np.full(256, 255, dtype=np.uint8)
for _i, _c in enumerate("ACGT"):
    _LUT[ord(_c)] = _i
    _LUT[ord(_c.lower())] = _i
for _c in IUPAC_AMBIGUOUS:
    _LUT[ord(_c)] = N_TOKEN
    _LUT[ord(_c.lower())] = N_TOKEN
_COMPLEMENT = str.maketrans("ACGTNacgtn", "TGCANtgcan")
#: token -> token of the complementary base (PAD stays PAD).
COMPLEMENT_TOKENS = np.array([3, 2, 1, 0, 4, 5], dtype=np.int64)


def kmer_code_pair(tokens: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(forward, reverse, valid), each (L − k + 1,), for the k-mer starting at each position of
    ``tokens`` (A C G T = 0 … 3): its 2-bit code read 5′→3′ (A…A = 0), the code of its reverse
    complement, and whether it holds A, C, G and T only (a token above 3 anywhere in it makes
    it invalid, and its codes meaningless). Built one base at a time, so memory stays a few
    arrays of the input's length."""
    m = tokens.size - k + 1
    if m <= 0:
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, bool)
    other = np.concatenate([[0], np.cumsum(tokens > 3)])
    valid = other[k:] == other[:m]
    two_bit = np.minimum(tokens, 3).astype(np.int64)
    forward = np.zeros(m, dtype=np.int64)
    reverse = np.zeros(m, dtype=np.int64)
    for j in range(k):
        forward <<= 2
        forward += two_bit[j : j + m]
        reverse += (3 - two_bit[j : j + m]) << (2 * j)  # the complement, read backwards
    return forward, reverse, valid


def encode_dna(seq: str) -> np.ndarray:
    """Encode one validated DNA string as tokens 0..4 (A C G T N), shape (L,), uint8."""
    return _LUT[np.frombuffer(seq.encode("ascii"), dtype=np.uint8)]


def encode_batch(seqs: Sequence[str], length: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Encode DNA strings as a padded token matrix.

    Returns
    -------
    tokens : (N, L) int64, ``PAD`` beyond each sequence's end
    lengths : (N,) int64
    """
    lengths = np.array([len(s) for s in seqs], dtype=np.int64)
    width = int(lengths.max(initial=0)) if length is None else length
    tokens = np.full((len(seqs), width), PAD, dtype=np.int64)
    for i, seq in enumerate(seqs):
        tokens[i, : len(seq)] = encode_dna(seq[:width])
    return tokens, np.minimum(lengths, width)


def decode(tokens: np.ndarray) -> str:
    """Tokens (L,) back to a DNA string; padding is dropped."""
    return "".join(DNA[t] for t in tokens if t != PAD)


def reverse_complement(seq: str) -> str:
    """Reverse complement of a DNA string (case kept)."""
    return seq.translate(_COMPLEMENT)[::-1]


def reverse_complement_tokens(tokens: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Reverse complement each padded row within its own length; padding stays at the end."""
    out = np.full_like(tokens, PAD)
    for i, n in enumerate(lengths):
        out[i, :n] = COMPLEMENT_TOKENS[tokens[i, :n][::-1]]
    return out
