"""Co-attended motif pairs: scan sites, co-attention per head, null, tests, enrichment."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from mhsa_bio.io.fasta import Record
from mhsa_bio.io.meme import MemeMotif
from mhsa_bio.pairs.composite import Split
from mhsa_bio.pairs.geometry import PairKey, site_pairs
from mhsa_bio.pairs.sites import Hit
from mhsa_bio.pwm import ScoredMotif

if TYPE_CHECKING:
    import pandas as pd
    import torch

    from mhsa_bio.models.promoter import PromoterTransformer
    from mhsa_bio.pairs.coattention import Instances
    from mhsa_bio.pairs.groups import Groups

log = logging.getLogger(__name__)

__all__ = ["PairResult", "find_pairs", "group_hits"]


class PairResult(NamedTuple):
    """What ``find_pairs`` returns.

    table : one row per tested group (``COLUMNS``), best first (q, p, −log2 ratio, key)
    hits : the sites found in the analysed sequences
    motifs : the scanned motifs (thresholds included)
    heads : head labels ``L1H1 …`` in the order of the co-attention arrays
    profiles : per (A, B, orientation, spacing) in positives: sequences and mean co-attention per
        head; and the same for the null and the background counts (for the spacing plots)
    summary : counts (sequences, sites, pairs, groups, tested groups, significant groups)
    splits : the composite motifs split into two parts (their parts are in ``motifs``)
    """

    table: pd.DataFrame
    hits: list[Hit]
    motifs: list[ScoredMotif]
    heads: list[str]
    profiles: dict[str, Any]
    summary: dict[str, Any]
    splits: tuple[Split, ...] = ()


def group_hits(hits: Sequence[Hit], n: int) -> list[list[Hit]]:
    """Sites per sequence: a list of ``n`` lists."""
    out: list[list[Hit]] = [[] for _ in range(n)]
    for h in hits:
        out[h.seq].append(h)
    return out


class _Counts(NamedTuple):
    """Numbers of sequences holding each key, each (A, B) pair at any spacing and orientation,
    and each (A, B, orientation) at any spacing."""

    keys: dict[PairKey, int]
    ab: dict[tuple[int, int], int]
    abo: dict[tuple[int, int, str], int]


def _key_counts(pairs: Sequence[Sequence[tuple[int, int, PairKey]]]) -> _Counts:
    """Count the sequences holding each key, (A, B) and (A, B, orientation)."""
    keys: dict[PairKey, int] = defaultdict(int)
    ab: dict[tuple[int, int], int] = defaultdict(int)
    abo: dict[tuple[int, int, str], int] = defaultdict(int)
    for seq_pairs in pairs:
        for key in {p[2] for p in seq_pairs}:
            keys[key] += 1
        for a_b in {(p[2].a, p[2].b) for p in seq_pairs}:
            ab[a_b] += 1
        for a_b_o in {(p[2].a, p[2].b, p[2].orientation) for p in seq_pairs}:
            abo[a_b_o] += 1
    return _Counts(keys, ab, abo)


class Sites(NamedTuple):
    """The motifs' sites in the analysed and the background sequences, and their pairs."""

    seqs: list[str]
    scored: list[ScoredMotif]
    palindromes: dict[int, int]
    hits: list[Hit]
    by_seq: list[list[Hit]]
    pairs: list[list[tuple[int, int, PairKey]]]
    bg_seqs: list[str]
    bg_pairs: list[list[tuple[int, int, PairKey]]]
    counts: _Counts
    bg_counts: _Counts


def _sites(
    records: Sequence[Record],
    motifs: Sequence[MemeMotif],
    background: Sequence[Record],
    *,
    bg: np.ndarray,
    pvalue: float,
    strand_symmetric: bool,
) -> Sites:
    """Step 1: scan both sets for sites (threshold from the analysed sequences' composition
    ``bg``)."""
    from mhsa_bio.pairs.sites import scan
    from mhsa_bio.pwm import prepare_motif

    seqs = [r.seq for r in records]
    scored = [prepare_motif(m, index=k, background=bg, pvalue=pvalue) for k, m in enumerate(motifs)]
    pal = {m.motif_index: m.palindrome for m in scored if m.palindrome is not None}
    hits = scan(seqs, scored)
    by_seq = group_hits(hits, len(seqs))
    pairs = [site_pairs(h, strand_symmetric=strand_symmetric, palindromes=pal) for h in by_seq]
    bg_seqs = [r.seq for r in background]
    bg_hits = group_hits(scan(bg_seqs, scored), len(bg_seqs))
    bg_pairs = [site_pairs(h, strand_symmetric=strand_symmetric, palindromes=pal) for h in bg_hits]
    log.info(
        "%d sites in %d sequences, %d in %d background sequences",
        len(hits),
        len(seqs),
        sum(map(len, bg_hits)),
        len(bg_seqs),
    )
    return Sites(
        seqs, scored, pal, hits, by_seq, pairs, bg_seqs, bg_pairs, _key_counts(pairs), _key_counts(bg_pairs)
    )


class Coattention(NamedTuple):
    """Co-attention of every site pair, per head, in the analysed sequences and in the null."""

    heads: list[str]
    pos: Instances
    nul: Instances
    null_sequences: int


def _coattention(
    model: PromoterTransformer,
    records: Sequence[Record],
    sites: Sites,
    *,
    n_null: int,
    null_shuffle: bool,
    strand_symmetric: bool,
    device: torch.device,
    batch_size: int,
    seed: int,
) -> Coattention:
    """Steps 2 and 3: the null copies (the sites moved), then co-attention in both sets."""
    from mhsa_bio.pairs.coattention import head_labels, site_coattention
    from mhsa_bio.pairs.null import reembed_sites

    null = reembed_sites(records, sites.by_seq, n_per=n_null, seed=seed, shuffle=null_shuffle)
    null_pairs = [
        site_pairs(h, strand_symmetric=strand_symmetric, palindromes=sites.palindromes) for h in null.hits
    ]
    cfg = model.config
    heads = head_labels(cfg.layers, cfg.heads)
    pos = site_coattention(model, sites.seqs, sites.by_seq, sites.pairs, device=device, batch_size=batch_size)
    nul = site_coattention(
        model, [r.seq for r in null.records], null.hits, null_pairs, device=device, batch_size=batch_size
    )
    return Coattention(heads, pos, nul, len(null.records))


def _summary(
    sites: Sites,
    co: Coattention,
    groups: Groups,
    table: pd.DataFrame,
    motifs: Sequence[MemeMotif],
    *,
    untested: int,
    null_exclude: float,
    n_null: int,
    null_neighbours: int,
    splits: Sequence[Split],
    split_min_gap: int,
) -> dict[str, Any]:
    """Counts of every step and the settings that shaped them (``summary.json``)."""
    summary = {
        "sequences": len(sites.seqs),
        "background_sequences": len(sites.bg_seqs),
        "sites": len(sites.hits),
        "sequences_with_pairs": int(sum(1 for p in sites.pairs if p)),
        "site_pairs": len(co.pos.keys),
        "null_sequences": co.null_sequences,
        "null_site_pairs": len(co.nul.keys),
        "groups": len(groups.rows),
        "groups_tested": int(len(table)),
        "groups_with_too_small_null": untested,
        # the table has its columns even when empty (then every count is 0)
        "groups_with_attention_contrast": int(table["p_spacing_attention"].notna().sum()),
        "groups_with_occurrence_contrast": int(table["p_spacing_occurrence"].notna().sum()),
        "coattended_q05": int((table["q_null"] < 0.05).sum()),
        "significant_q05": int((table["q"] < 0.05).sum()),
        "null_exclude_bp": null_exclude,
        "null_copies": n_null,
        "null_neighbours": null_neighbours,
        "thresholds_bits": {m.motif.id: m.threshold / 100 for m in sites.scored},
        "palindromes": {motifs[k].id: d for k, d in sites.palindromes.items()},
        "split_min_gap": split_min_gap,
        "split_composites": [
            {
                "motif": s.motif,
                "name": s.name,
                "parts": list(s.parts),
                "columns": [f"{a + 1}-{b}" for a, b in s.columns],
                "gap": s.gap,
            }
            for s in splits
        ],
    }
    log.info("%d groups, %d tested, %d at q < 0.05", len(groups.rows), len(table), summary["significant_q05"])
    return summary


def find_pairs(
    model: PromoterTransformer,
    records: Sequence[Record],
    motifs: Sequence[MemeMotif],
    *,
    background: Sequence[Record],
    device: torch.device,
    pvalue: float = 1e-4,
    n_null: int = 8,
    min_sequences: int = 10,
    null_exclude: float = 2.0,
    null_neighbours: int = 100,
    strand_symmetric: bool = False,
    null_shuffle: bool = False,
    split_min_gap: int = 2,
    batch_size: int = 64,
    seed: int = 0,
) -> PairResult:
    """Co-attended motif pairs of a trained model.

    Parameters
    ----------
    model : trained promoter Transformer
    records : N analysed sequences (usually the positives)
    motifs : motifs of a MEME file; their order sets the A/B order of pairs
    background : sequences for the plain co-occurrence baseline (training negatives or shuffles)
    device : where the model runs
    pvalue : site threshold: exact P(score >= threshold) under the sequences' base composition
    n_null : null copies per analysed sequence with two or more sites
    min_sequences : groups in fewer sequences are not tested
    null_exclude, null_neighbours : each group's null is the ``null_neighbours`` null pairs of
        the same two motifs in the same orientation nearest to the group's spacing but more than
        ``null_exclude`` bp away from it (ties kept); groups with fewer than 10 are not tested.
        So ``p_null`` asks whether the pair is co-attended more than the same sites moved to
        the spacings around it, with the distance decay of attention roughly matched.
        Matching the orientation matters because even an untrained model attends differently
        between A and B and between A and the reverse complement of B.
        A *spacing* is claimed only with evidence that it is special for the pair, by either
        of two contrasts (p = 2 × the smaller of the two routes, Bonferroni):

        * attention: a head co-attends the group more than the null *and* more than the same
          two motifs in the same orientation at the ``null_neighbours`` other spacings nearest
          to the group's (beyond ``null_exclude``) in the analysed sequences (when they come
          from at least 10 sequences); per head the larger of the two one-sided p-values (an
          intersection–union test), Bonferroni over heads;
        * occurrence: some head co-attends the group more than the null (Bonferroni over
          heads) *and*, among the sequences holding the two motifs in this orientation at any
          spacing, more analysed than background sequences hold them at this spacing (one-sided
          Fisher; when the background holds the pair in at least 10 sequences).

        So a head that co-attends the pair more than moved sites at *every* spacing claims no
        spacing unless the spacing is also over-represented; ``q_null`` (BH of ``p_null``)
        still shows that the pair is co-attended. Attention weights need not single out a
        spacing even where the model uses it: a model can read the spacing from the positions
        that the attended sites carry in their values (see docs/pairs.md).
    strand_symmetric : one group for a pair and its reverse complement (unstranded data)
    null_shuffle : dinucleotide-shuffle the null copies' background (SATORI) instead of keeping
        its order (the default: only the sites move, so the context is the real one)
    split_min_gap : a motif with an internal run of at least this many uninformative columns
        between two unlike parts (a composite element: two sites at a fixed spacing found as
        one matrix) is replaced by its two parts, which are then scanned and tested like any
        two motifs (:mod:`mhsa_bio.pairs.composite`); 0 never splits. The whole is not kept
        beside its parts: its sites would glue the parts together in the null, where
        overlapping sites move as one block.
    batch_size : sequences per forward pass
    seed : seeds the null

    Returns
    -------
    PairResult
    """
    from mhsa_bio.pairs.composite import split_motifs
    from mhsa_bio.pairs.groups import group_pairs, group_table, group_tests
    from mhsa_bio.pwm import background_frequencies

    bg = background_frequencies([r.seq for r in records])
    motifs, splits = split_motifs(motifs, min_gap=split_min_gap, background=bg, pvalue=pvalue)
    sites = _sites(records, motifs, background, bg=bg, pvalue=pvalue, strand_symmetric=strand_symmetric)
    co = _coattention(
        model,
        records,
        sites,
        n_null=n_null,
        null_shuffle=null_shuffle,
        strand_symmetric=strand_symmetric,
        device=device,
        batch_size=batch_size,
        seed=seed,
    )
    groups = group_pairs(co.pos)
    rows, untested = group_tests(
        groups,
        co,
        sites,
        motifs,
        min_sequences=min_sequences,
        null_exclude=null_exclude,
        null_neighbours=null_neighbours,
    )
    table = group_table(rows)
    profiles = {
        "pos": groups.values,
        "null_keys": co.nul.keys,
        "null_values": co.nul.values,
        "bg_counts": dict(sites.bg_counts.keys),
        "pos_counts": dict(sites.counts.keys),
        "n_pos": len(sites.seqs),
        "n_bg": len(sites.bg_seqs),
    }
    summary = _summary(
        sites,
        co,
        groups,
        table,
        motifs,
        untested=untested,
        null_exclude=null_exclude,
        n_null=n_null,
        null_neighbours=null_neighbours,
        splits=splits,
        split_min_gap=split_min_gap,
    )
    return PairResult(table, sites.hits, sites.scored, co.heads, profiles, summary, tuple(splits))
