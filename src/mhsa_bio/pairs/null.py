"""The null: the same sites, their relation broken.

For each analysed sequence, its sites (the exact bases that matched; overlapping sites stay
together as one block) are cut out, and the blocks are inserted back into the remaining
background at random places, each on a random strand. The null copy has the length, the
background and the very sites of the original; which motif sits next to which, at what spacing
and in what orientation is random.

By default the background keeps its own order (only the sites move), so real and null pairs sit
in the same context. With ``shuffle=True`` the background is dinucleotide-shuffled first, close
to SATORI's background. SATORI shuffles the *whole* sequence and writes the sites over it, so its
null copies carry the sites' letters twice; with that recipe even an untrained model "found"
the planted pair (q = 1e-16, tests/test_pairs_model.py). Cutting the sites out first fixes
that, and keeping the background's order further removed context effects: with a shuffled
background a shuffled-label E. coli model gave one pair at q = 0.025, with the kept background
none (docs/pairs.md).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from mhsa_bio.alphabet import reverse_complement
from mhsa_bio.io.fasta import Record
from mhsa_bio.pairs.sites import Hit
from mhsa_bio.shuffle import dinucleotide_shuffle

log = logging.getLogger(__name__)

__all__ = ["NullSet", "reembed_sites"]

_FLIP = {"+": "-", "-": "+"}


class NullSet(NamedTuple):
    """Null sequences and their sites.

    records : the null copies (ids ``{id}_null{k}``)
    hits : for each null copy its re-embedded sites (``seq`` indexes ``records``)
    source : (M,) index of the analysed sequence each null copy comes from
    """

    records: list[Record]
    hits: list[list[Hit]]
    source: np.ndarray


def _blocks(hits: Sequence[Hit]) -> list[tuple[int, int, list[Hit]]]:
    """Sites merged into blocks of overlapping sites: (start, end, sites), by position."""
    blocks: list[tuple[int, int, list[Hit]]] = []
    for h in sorted(hits, key=lambda x: (x.start, x.end)):
        if blocks and h.start < blocks[-1][1]:
            start, end, members = blocks[-1]
            blocks[-1] = (start, max(end, h.end), members + [h])
        else:
            blocks.append((h.start, h.end, [h]))
    return blocks


def reembed_sites(
    records: Sequence[Record],
    hits: Sequence[Sequence[Hit]],
    *,
    n_per: int = 4,
    seed: int,
    shuffle: bool = False,
) -> NullSet:
    """Null copies of ``records``: background shuffled, own sites re-inserted at random.

    Only sequences with at least two sites are copied (the others hold no pair).

    Parameters
    ----------
    records : N analysed sequences
    hits : the sites of each sequence
    n_per : null copies per sequence
    seed : copy k of record i is drawn from ``numpy.random.default_rng([seed, i, k])``, so it
        depends only on the seed and the record's position
    shuffle : dinucleotide-shuffle the background (SATORI); False keeps the background's own
        order, so only the places and strands of the sites change

    Returns
    -------
    NullSet
        Copies in input order, then k = 0 .. n_per - 1. Every block of sites goes back, on a
        random strand, at a uniformly random cut of the shuffled background (blocks never
        overlap); the copy has the original's length.
    """
    base = int(seed) % 2**64
    out_records: list[Record] = []
    out_hits: list[list[Hit]] = []
    source: list[int] = []
    for i, rec in enumerate(records):
        if len(hits[i]) < 2:
            continue
        blocks = _blocks(hits[i])
        keep = np.ones(len(rec.seq), dtype=bool)
        for start, end, _ in blocks:
            keep[start:end] = False
        background = "".join(np.asarray(list(rec.seq))[keep]) if keep.any() else ""
        for k in range(n_per):
            rng = np.random.default_rng([base, i, k])
            shuffled = dinucleotide_shuffle(background, rng) if shuffle else background
            order = rng.permutation(len(blocks))
            cuts = np.sort(rng.integers(0, len(shuffled) + 1, size=len(blocks)))
            pieces: list[str] = []
            placed: list[Hit] = []
            prev, pos = 0, 0
            for cut, b in zip(cuts.tolist(), order.tolist(), strict=True):
                pieces.append(shuffled[prev:cut])
                pos += cut - prev
                prev = cut
                start, end, members = blocks[b]
                bases = rec.seq[start:end]
                flip = bool(rng.random() < 0.5)
                if flip:
                    bases = reverse_complement(bases)
                for h in members:
                    if flip:
                        new_start, strand = pos + (end - h.end), _FLIP[h.strand]
                    else:
                        new_start, strand = pos + (h.start - start), h.strand
                    placed.append(
                        Hit(
                            len(out_records),
                            h.motif,
                            new_start,
                            new_start + (h.end - h.start),
                            strand,
                            h.score,
                            h.pvalue,
                        )
                    )
                pieces.append(bases)
                pos += end - start
            pieces.append(shuffled[prev:])
            seq = "".join(pieces)
            assert len(seq) == len(rec.seq)
            placed.sort(key=lambda x: (x.start, x.motif, x.strand))
            new_id = f"{rec.id}_null{k}"
            out_records.append(Record(new_id, seq, f"{new_id} null_of={rec.id}"))
            out_hits.append(placed)
            source.append(i)
    log.debug("null: %d copies of %d sequences", len(out_records), len(set(source)))
    return NullSet(out_records, out_hits, np.asarray(source, dtype=np.int64))
