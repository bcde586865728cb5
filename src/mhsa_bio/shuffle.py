"""Uniform dinucleotide-preserving shuffles of DNA sequences (the default background)."""

from __future__ import annotations

import logging
from collections.abc import Iterable

import numpy as np

from mhsa_bio.io.fasta import Record

log = logging.getLogger(__name__)

__all__ = ["dinucleotide_shuffle", "shuffle_records"]


def dinucleotide_shuffle(seq: str, rng: np.random.Generator) -> str:
    """Draw a uniformly random sequence with exactly the dinucleotide counts of ``seq``.

    The Altschul–Erickson (1985) shuffle as made uniform by Kandel et al. (1996): the
    sequence is an Euler path in the multigraph whose vertices are the letters and whose edges
    are its L - 1 dinucleotides. A random *last-exit* arborescence towards the last letter is
    drawn with Wilson's loop-erased random walk (each edge instance equally likely, so every
    edge-labelled arborescence is equally likely), the remaining out-edges of each letter are put
    in a uniformly random order, and the path is walked from the first letter. Every sequence with
    the same dinucleotide counts (and therefore the same first and last letter) has the same
    probability.

    Every letter that occurs (A C G T N, or any other) is a vertex, so N runs are shuffled like
    any other letter and never create new dinucleotides.

    Parameters
    ----------
    seq : the sequence to shuffle; any single-byte (ASCII) letters
    rng : the source of randomness

    Returns
    -------
    str
        The shuffled sequence, same length, same first and last letter, same count of every
        dinucleotide. Sequences of length <= 2 have only one such sequence and come back as is.
    """
    n = len(seq)
    if n <= 2:
        return seq
    raw = np.frombuffer(seq.encode("ascii"), dtype=np.uint8)
    letters = np.flatnonzero(np.bincount(raw, minlength=256)).astype(np.uint8)
    n_vertices = len(letters)
    lut = np.zeros(256, dtype=np.intp)
    lut[letters] = np.arange(n_vertices)
    codes = lut[raw]
    src = codes[:-1]
    dst = codes[1:]
    # Out-edges grouped by source vertex: vertex v owns edges starts[v] : starts[v] + counts[v].
    order = np.argsort(src, kind="stable")
    succ = dst[order]
    counts = np.bincount(src, minlength=n_vertices)
    starts = np.zeros(n_vertices, dtype=np.int64)
    np.cumsum(counts[:-1], out=starts[1:])
    counts_l = counts.tolist()
    starts_l = starts.tolist()
    succ_l = succ.tolist()

    # Wilson's algorithm: a uniform random arborescence (edge-labelled) rooted at the last letter.
    root = int(codes[-1])
    in_tree = [False] * n_vertices
    in_tree[root] = True
    last_edge = [-1] * n_vertices  # index into succ of the edge each vertex leaves by last
    for start in range(n_vertices):
        v = start
        while not in_tree[v]:
            e = starts_l[v] + int(rng.integers(counts_l[v]))
            last_edge[v] = e  # overwriting erases loops
            v = succ_l[e]
        v = start
        while not in_tree[v]:
            in_tree[v] = True
            v = succ_l[last_edge[v]]

    # A uniform order of each vertex's remaining out-edges, with the tree edge at the end.
    keys = rng.random(n - 1)
    chosen = [e for e in last_edge if e >= 0]
    keys[chosen] = 2.0
    src_sorted = src[order]
    perm = np.lexsort((keys, src_sorted))
    walk_succ = succ[perm].tolist()

    out = [0] * n
    v = int(codes[0])
    out[0] = v
    pointer = starts_l[:]
    for i in range(1, n):
        p = pointer[v]
        pointer[v] = p + 1
        v = walk_succ[p]
        out[i] = v
    return letters[np.asarray(out, dtype=np.intp)].tobytes().decode("ascii")


def shuffle_records(
    records: Iterable[Record], *, n_per: int = 1, seed: int, suffix: str = "shuf"
) -> list[Record]:
    """Dinucleotide-shuffle every record ``n_per`` times.

    Record ``i`` (0-based, in input order) is shuffled with its own generator,
    ``numpy.random.default_rng([seed, i])``, so a record's shuffles depend only on the seed and its
    position, not on which other records are in the batch.

    Parameters
    ----------
    records : the sequences to shuffle (validated DNA)
    n_per : shuffles per record
    seed : random seed (a negative seed is taken modulo 2**64)
    suffix : the new ids are ``"{id}_{suffix}{k}"`` with k = 0 .. n_per - 1

    Returns
    -------
    list of Record
        ``len(records) * n_per`` records, record by record, then k by k; the description is
        ``"{new id} shuffle_of={id}"``.
    """
    if n_per < 1:
        raise ValueError(f"n_per must be at least 1, not {n_per}")
    base = int(seed) % 2**64
    out: list[Record] = []
    for i, rec in enumerate(records):
        rng = np.random.default_rng([base, i])
        for k in range(n_per):
            new_id = f"{rec.id}_{suffix}{k}"
            out.append(Record(new_id, dinucleotide_shuffle(rec.seq, rng), f"{new_id} shuffle_of={rec.id}"))
    log.debug("shuffled %d records x %d", len(out) // n_per if n_per else 0, n_per)
    return out
