"""Groups of overlapping records: sequences that share an exact k-mer on either strand.

Windows cut from one genome often overlap (negatives tiled across the same genes, promoters of
neighbouring transcription starts). Dealt one by one into cross-validation folds, a held-out
window then has an overlapping copy in training, and the held-out figure measures memory as well
as generalisation. ``overlap_groups`` links every two records that share a k-mer (or one is the
other's reverse complement there); the folds keep each linked group whole.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: The k-mer length that links records by default (``train --group-kmer``): 20 bases occur by
#: chance about once in 4²⁰ ≈ 10¹² positions, so a shared 20-mer is an overlap or a repeat.
DEFAULT_GROUP_KMER = 20
#: The longest k whose codes fit an int64 (2 bits a base).
MAX_GROUP_KMER = 31

_CODE = np.full(256, 4, dtype=np.uint8)  # A C G T (either case) 0 … 3, any other byte 4
for _i, _base in enumerate("ACGT"):
    _CODE[ord(_base)] = _i
    _CODE[ord(_base.lower())] = _i


#: Bases whose k-mers one pass of :func:`overlap_groups` sorts at a time (about 30 bytes a base):
#: larger inputs take several passes, each over the k-mers of one residue class of their codes.
PASS_BASES = 4_000_000


def kmer_codes(seqs: Sequence[str], k: int, *, first: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(codes, records): the canonical code of every k-mer of ``seqs`` made of A, C, G and T
    only — the smaller of the k-mer's and its reverse complement's 2-bit codes — and the index
    (from ``first``) of the record holding it; computed at once over the records joined by an N.
    int64, shape (M,) each."""
    from mhsa_bio.alphabet import kmer_code_pair

    if not 1 <= k <= MAX_GROUP_KMER:
        raise ValueError(f"k = {k}: expected 1 to {MAX_GROUP_KMER}")
    bases = _CODE[np.frombuffer("N".join(seqs).encode("ascii", "replace"), dtype=np.uint8)]
    forward, reverse, valid = kmer_code_pair(bases, k)
    lengths = np.fromiter((len(s) + 1 for s in seqs), dtype=np.int64, count=len(seqs))
    owner = np.repeat(np.arange(first, first + len(seqs)), lengths)[: valid.size]
    return np.minimum(forward, reverse)[valid], owner[valid]


def overlap_groups(
    seqs: Sequence[str], k: int = DEFAULT_GROUP_KMER, *, pass_bases: int = PASS_BASES
) -> np.ndarray:
    """The group of every sequence, shape (N,) int64, numbered 0, 1, … in order of first record:
    the connected components of "shares a k-mer with" (on either strand). A sequence shorter
    than ``k``, or with no k-mer of A, C, G, T only, is a group of its own.

    The k-mers are sorted and each links the records that hold it; inputs of more than
    ``pass_bases`` bases are read in chunks of records and sorted in passes (one residue class
    of the codes each), so memory stays near ``pass_bases`` × 30 bytes."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = len(seqs)
    chunks, size, start, total = [], 0, 0, 0
    for i, seq in enumerate(seqs):
        size += len(seq) + 1
        if size >= pass_bases or i == n - 1:
            chunks.append((start, i + 1))
            start, total, size = i + 1, total + size, 0
    passes = max(1, -(-total // pass_bases))
    links = [np.empty((0, 2), dtype=np.int64)]
    for residue in range(passes):
        parts = []
        for lo, hi in chunks:
            codes, owner = kmer_codes(seqs[lo:hi], k, first=lo)
            keep = codes % passes == residue
            parts.append((codes[keep], owner[keep]))
        codes = np.concatenate([c for c, _ in parts]) if parts else np.empty(0, dtype=np.int64)
        owner = np.concatenate([o for _, o in parts]) if parts else np.empty(0, dtype=np.int64)
        order = np.argsort(codes, kind="stable")
        codes, owner = codes[order], owner[order]
        same = codes[1:] == codes[:-1]  # consecutive holders of one k-mer
        pair = np.stack([owner[:-1][same], owner[1:][same]], axis=1)
        links.append(np.unique(pair[pair[:, 0] != pair[:, 1]], axis=0))
    edges = np.concatenate(links)
    graph = coo_matrix((np.ones(len(edges), dtype=np.int8), (edges[:, 0], edges[:, 1])), shape=(n, n))
    _, component = connected_components(graph, directed=False)
    _, first, relabel = np.unique(component, return_index=True, return_inverse=True)
    order = np.argsort(np.argsort(first))  # number the groups by their first record
    return order[relabel].astype(np.int64)


def linked_groups(seqs: Sequence[str], k: int) -> np.ndarray | None:
    """``overlap_groups`` when any two of ``seqs`` share a k-mer, else None (and None for ``k`` 0):
    with nothing to keep together, a split deals records one by one, exactly as without groups."""
    if not k:
        return None
    groups = overlap_groups(seqs, k)
    return groups if groups.size and np.bincount(groups).max() > 1 else None


def deal_groups(
    labels: np.ndarray, groups: np.ndarray, *, shares: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """The part (0 … P − 1) of every record when whole groups are dealt into parts that should
    hold ``shares`` (P,) of each class (K folds: 1/K each).

    In a random (seeded) order, the largest groups first, a group goes to the part p with the
    least Σ_c n_gc · filled_pc / (n_c · share_p), n_gc its records of class c: where its classes
    are furthest below their share (ties: the part least filled for its share, then the lower
    index). (N,) ``labels`` and ``groups``; returns (N,) int64.
    """
    shares = np.asarray(shares, dtype=np.float64)
    _, group = np.unique(groups, return_inverse=True)
    _, label = np.unique(labels, return_inverse=True)
    per = np.zeros((int(group.max()) + 1 if group.size else 0, int(label.max()) + 1 if label.size else 0))
    np.add.at(per, (group, label), 1)
    total = np.maximum(per.sum(0), 1.0)
    shuffled = rng.permutation(per.shape[0])
    order = shuffled[np.argsort(-per[shuffled].sum(1), kind="stable")]
    filled = np.zeros((shares.size, per.shape[1]))
    where = np.empty(per.shape[0], dtype=np.int64)
    parts = np.arange(shares.size)
    for g in order:
        need = (filled / total) @ per[g] / shares
        k = int(np.lexsort((parts, filled.sum(1) / shares, need))[0])
        where[g] = k
        filled[k] += per[g]
    return where[group]


def part_without_class(part: np.ndarray, labels: np.ndarray, parts: int) -> int | None:
    """The first of ``parts`` parts that holds no record of some class of ``labels``, or None."""
    classes = np.unique(labels)
    for p in range(parts):
        if np.setdiff1d(classes, labels[part == p]).size:
            return p
    return None
