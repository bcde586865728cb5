"""Clustering seqlets by aligned similarity (both strands) into count matrices.

Greedy seed-and-align clustering, fast enough for tens of thousands of seqlets:

1. the seed is the k-mer (merged with its reverse complement) found in the most remaining
   seqlets relative to its rate in background windows of the same width (binomial z-score);
2. every seqlet holding the seed is aligned on it, with strand and offset, and a count matrix is
   built from the aligned sequence with ``ext`` extra bases on each side;
3. refinement: low-information flanks are trimmed, each remaining seqlet is scanned on both strands
   with the log-odds matrix and joins when its best site reaches the score of a random site's
   ``member_p`` tail; the matrix is rebuilt from those sites, ``iterations`` times;
4. the members leave the pool and the next seed is taken, until ``max_motifs`` clusters or no
   seed with ``min_sites`` seqlets is left. A cluster whose matrix matches an earlier one
   (aligned column correlation ≥ ``max_similarity``) is dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from mhsa_bio import pwm
from mhsa_bio.alphabet import kmer_code_pair
from mhsa_bio.motifs.seqlets import Seqlet

log = logging.getLogger(__name__)


class Site(NamedTuple):
    """A motif site in sequence ``seq_index``: bases [start, start + width), strand, seqlet."""

    seq_index: int
    start: int
    strand: str
    seqlet: int  # index into the seqlet list


class Cluster(NamedTuple):
    """A motif: its (W, 4) count matrix (trimmed), its sites and the k-mer that seeded it."""

    counts: np.ndarray
    sites: list[Site]
    seed: str


def _kmer_codes(seq: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Codes of every k-mer (−1 where it holds an N) and of its reverse complement."""
    fwd, rev, ok = kmer_code_pair(seq, k)
    return np.where(ok, fwd, -1), np.where(ok, rev, -1)


def _canonical_presence(windows: Sequence[np.ndarray], k: int) -> np.ndarray:
    """(4**k,) number of windows holding each canonical k-mer (either strand) at least once."""
    counts = np.zeros(4**k, dtype=np.int64)
    for w in windows:
        f, r = _kmer_codes(w, k)
        c = np.minimum(f, r)
        c = np.unique(c[f >= 0])
        counts[c] += 1
    return counts


def _decode(code: int, k: int) -> str:
    return "".join("ACGT"[(code >> (2 * (k - 1 - i))) & 3] for i in range(k))


def similarity(a: np.ndarray, b: np.ndarray, *, min_overlap: int = 5) -> float:
    """Largest mean column Pearson correlation of two (W, 4) matrices over offsets and strands."""
    best = -1.0
    for bb in (b, pwm.reverse_complement_matrix(b)):
        for off in range(-(bb.shape[0] - 1), a.shape[0]):
            i0, i1 = max(0, off), min(a.shape[0], off + bb.shape[0])
            if i1 - i0 < min(min_overlap, a.shape[0], bb.shape[0]):
                continue
            x = a[i0:i1] - a[i0:i1].mean(1, keepdims=True)
            y = bb[i0 - off : i1 - off] - bb[i0 - off : i1 - off].mean(1, keepdims=True)
            den = np.sqrt((x * x).sum(1) * (y * y).sum(1))
            r = np.where(den > 0, (x * y).sum(1) / np.where(den > 0, den, 1), 0.0)
            best = max(best, float(r.mean()))
    return best


def _matrix(seqs: Sequence[np.ndarray], sites: Sequence[Site], *, width: int, ext: int) -> np.ndarray:
    rows = [
        pwm.site_tokens(
            seqs[s.seq_index], s.start - ext if s.strand == "+" else s.start - ext, width + 2 * ext, s.strand
        )
        for s in sites
    ]
    return pwm.count_matrix(rows, width=width + 2 * ext)


def _refine(
    seqs: Sequence[np.ndarray],
    seqlets: Sequence[Seqlet],
    pool: list[int],
    sites: list[Site],
    width: int,
    *,
    ext: int,
    member_p: float,
    iterations: int,
    min_ic: float,
) -> tuple[np.ndarray, list[Site]]:
    """Iterate trim → scan the pool → rebuild; returns the trimmed counts and member sites."""
    counts = np.zeros((width, 4))
    for _ in range(iterations):
        full = _matrix(seqs, sites, width=width, ext=ext)
        a, b = pwm.trim(full, min_ic=min_ic)
        counts = full[a:b]
        lo = pwm.log_odds(pwm.probabilities(counts))
        thr = pwm.score_threshold(lo, p_value=member_p)
        width = b - a
        new: list[Site] = []
        for j in pool:  # sites may stick out of the seqlet by up to half the motif's width
            s = seqlets[j]
            lo_end = max(0, s.start - width // 2)
            hit = pwm.best_hit(lo, seqs[s.seq_index][lo_end : s.end + width // 2])
            if hit is not None and hit.score >= thr:
                new.append(Site(s.seq_index, lo_end + hit.start, hit.strand, j))
        if not new:
            return counts, []
        sites = new
    final = _matrix(seqs, sites, width=width, ext=0)
    return final, sites


def cluster_seqlets(
    seqlets: Sequence[Seqlet],
    seqs: Sequence[np.ndarray],
    background: Sequence[np.ndarray],
    *,
    k: int = 6,
    ext: int = 5,
    min_sites: int = 10,
    max_motifs: int = 10,
    member_p: float = 1e-3,
    iterations: int = 3,
    min_ic: float = 0.3,
    min_width: int = 5,
    max_similarity: float = 0.85,
    seed: int = 0,
) -> list[Cluster]:
    """Cluster positive seqlets into motifs.

    Parameters
    ----------
    seqlets : seqlets of the sequences ``seqs``
    seqs : (L_i,) token arrays the seqlets index into
    background : background token arrays; random windows of the seqlets' width give each
        k-mer's expected rate
    k : seed k-mer length
    ext : bases added on each side of the aligned sites before trimming
    min_sites, max_motifs, member_p, iterations, min_ic, min_width, max_similarity : see the
        module docstring
    seed : random seed for the background windows

    Returns
    -------
    clusters in the order found (most seqlets first, roughly)
    """
    if not seqlets:
        return []
    rng = np.random.default_rng([seed, 29])
    width = int(np.median([s.end - s.start for s in seqlets]))
    windows = []
    bg_long = [b for b in background if b.size >= width]
    if bg_long:
        for idx in rng.integers(0, len(bg_long), size=min(20000, 20 * len(seqlets) + 1000)):
            b = bg_long[idx]
            st = int(rng.integers(0, b.size - width + 1))
            windows.append(b[st : st + width])
    bg_rate = (_canonical_presence(windows, k) + 1.0) / (len(windows) + 2.0)
    pool = list(range(len(seqlets)))
    tried: set[int] = set()
    clusters: list[Cluster] = []
    while pool and len(clusters) < max_motifs and len(tried) < 4 * max_motifs:
        pres = _canonical_presence(
            [seqs[seqlets[j].seq_index][seqlets[j].start : seqlets[j].end] for j in pool], k
        )
        n = len(pool)
        z = (pres - n * bg_rate) / np.sqrt(n * bg_rate * (1 - bg_rate))
        z[list(tried)] = -np.inf
        z[pres < min_sites] = -np.inf
        code = int(np.argmax(z))
        if not np.isfinite(z[code]):
            break
        tried.add(code)
        sites: list[Site] = []
        for j in pool:
            s = seqlets[j]
            f, r = _kmer_codes(seqs[s.seq_index][s.start : s.end], k)
            hits = [(abs(s.start + i + k / 2 - s.peak), i, "+") for i in np.flatnonzero(f == code)]
            hits += [(abs(s.start + i + k / 2 - s.peak), i, "-") for i in np.flatnonzero(r == code)]
            if hits:
                _, i, strand = min(hits)
                sites.append(Site(s.seq_index, s.start + int(i), strand, j))
        counts, members = _refine(
            seqs, seqlets, pool, sites, k, ext=ext, member_p=member_p, iterations=iterations, min_ic=min_ic
        )
        seed_str = _decode(code, k)
        if len(members) < min_sites or counts.shape[0] < min_width:
            log.debug("seed %s: %d sites, width %d: dropped", seed_str, len(members), counts.shape[0])
            continue
        probs = pwm.probabilities(counts)
        if any(similarity(pwm.probabilities(c.counts), probs) >= max_similarity for c in clusters):
            log.debug("seed %s: matches an earlier cluster: dropped", seed_str)
            taken = {m.seqlet for m in members}
            pool = [j for j in pool if j not in taken]
            continue
        taken = {m.seqlet for m in members}
        pool = [j for j in pool if j not in taken]
        clusters.append(Cluster(counts, sorted(members), seed_str))
        log.info(
            "cluster %d: seed %s, %d sites, width %d", len(clusters), seed_str, len(members), counts.shape[0]
        )
    return clusters
