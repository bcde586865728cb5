"""Sequence weights: 1 / (number of sequences at or above an identity), in chunks, and Neff."""

from __future__ import annotations

import logging
from typing import NamedTuple

import numpy as np

log = logging.getLogger(__name__)


class Weights(NamedTuple):
    """Weights of the unique rows of an MSA.

    Attributes
    ----------
    unique : (U, L) uint8, the distinct rows, in order of first occurrence
    counts : (U,) int64, how many times each distinct row occurs
    weights : (U,) float64, the summed weight of all copies of each distinct row
    inverse : (N,) int64, the distinct row of each original row
    neff : the effective number of sequences, the sum of all weights
    """

    unique: np.ndarray
    counts: np.ndarray
    weights: np.ndarray
    inverse: np.ndarray
    neff: float


def deduplicate(tokens: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct rows of ``tokens`` (N, L), in order of first occurrence.

    Returns
    -------
    unique : (U, L), counts : (U,), inverse : (N,)
    """
    tokens = np.ascontiguousarray(tokens)
    keys = tokens.view(np.dtype((np.void, tokens.dtype.itemsize * tokens.shape[1]))).ravel()
    _, first, inverse, counts = np.unique(keys, return_index=True, return_inverse=True, return_counts=True)
    order = np.argsort(first, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    return tokens[first[order]], counts[order].astype(np.int64), rank[inverse.ravel()]


def sequence_weights(
    tokens: np.ndarray, *, identity: float = 0.8, n_states: int = 21, chunk: int = 1024
) -> Weights:
    """Weight each sequence by 1 / (number of sequences with identity >= ``identity``).

    Identity is the fraction of the L aligned columns (gaps included) where two rows agree, as in
    plmDCA, CCMpred and GREMLIN. Identical rows are weighted once and their copies counted; the
    pairwise identities are computed in blocks of ``chunk`` rows, so memory stays at
    O(chunk·U + U·L·A) floats and never U·U (N = 13,000, L = 300: about 0.3 GB, against 0.7 GB
    for one float32 N × N matrix).

    Parameters
    ----------
    tokens : (N, L) integer states 0..n_states-1
    identity : the threshold in [0, 1]; above 1 turns weighting off (every copy weighs 1)
    n_states : A, the alphabet size
    chunk : rows per block

    Returns
    -------
    Weights of the distinct rows, whose sum over copies gives Neff.
    """
    unique, counts, inverse = deduplicate(tokens)
    n_unique, length = unique.shape
    if identity > 1.0 or length == 0:
        w = counts.astype(np.float64)
        return Weights(unique, counts, w, inverse, float(w.sum()))
    onehot = np.zeros((n_unique, length * n_states), dtype=np.float32)
    onehot[
        np.repeat(np.arange(n_unique), length),
        (np.arange(length) * n_states)[None, :].repeat(n_unique, 0).ravel() + unique.ravel().astype(np.int64),
    ] = 1.0
    need = identity * length - 1e-6
    neighbours = np.zeros(n_unique, dtype=np.float64)
    copies = counts.astype(np.float32)
    for start in range(0, n_unique, chunk):
        block = onehot[start : start + chunk] @ onehot.T  # (chunk, U) shared positions
        neighbours[start : start + chunk] = (block >= need).astype(np.float32) @ copies
    per_copy = 1.0 / neighbours  # the row itself is always its own neighbour
    w = per_copy * counts
    neff = float(w.sum())
    log.info(
        "weights: %d sequences, %d distinct, Neff %.1f at %.0f%% identity",
        int(counts.sum()),
        n_unique,
        neff,
        identity * 100,
    )
    return Weights(unique, counts, w, inverse, neff)
