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

log = logging.getLogger(__name__)

__all__ = ["COLUMNS", "PairResult", "find_pairs", "group_hits"]

#: Columns of ``pairs.tsv``, in order.
COLUMNS = [
    "motif_a",
    "name_a",
    "motif_b",
    "name_b",
    "spacing",
    "orientation",
    "n_sequences",
    "mean_coattention",
    "null_mean",
    "log2_ratio",
    "p",
    "q",
    "p_null",
    "q_null",
    "n_null",
    "p_spacing_attention",
    "other_spacings_mean",
    "n_other_spacings",
    "p_spacing_occurrence",
    "best_head",
    "top_heads",
    "frac_pos",
    "frac_bg",
    "spacing_log2_enrichment",
    "spacing_fisher_p",
    "cooc_frac_pos",
    "cooc_frac_bg",
    "cooc_log2_enrichment",
]


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


class _Sites(NamedTuple):
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
) -> _Sites:
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
    return _Sites(
        seqs, scored, pal, hits, by_seq, pairs, bg_seqs, bg_pairs, _key_counts(pairs), _key_counts(bg_pairs)
    )


class _Coattention(NamedTuple):
    """Co-attention of every site pair, per head, in the analysed sequences and in the null."""

    heads: list[str]
    pos: Instances
    nul: Instances
    null_sequences: int


def _coattention(
    model: PromoterTransformer,
    records: Sequence[Record],
    sites: _Sites,
    *,
    n_null: int,
    null_shuffle: bool,
    strand_symmetric: bool,
    device: torch.device,
    batch_size: int,
    seed: int,
) -> _Coattention:
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
    return _Coattention(heads, pos, nul, len(null.records))


class _Groups(NamedTuple):
    """The analysed pairs by group: rows of each group per sequence, one value per (group,
    sequence) (the mean over that sequence's pairs of the group), and per (A, B, orientation)
    every group's per-sequence values with spacing and sequence."""

    rows: dict[PairKey, dict[int, list[int]]]
    values: dict[PairKey, np.ndarray]
    by_abo: dict[tuple[int, int, str], list[tuple[int, int, np.ndarray]]]


def _groups(pos: Instances) -> _Groups:
    groups: dict[PairKey, dict[int, list[int]]] = defaultdict(lambda: defaultdict(list))
    for row, (k, key) in enumerate(zip(pos.seq.tolist(), pos.keys, strict=True)):
        groups[key][k].append(row)
    seq_values: dict[PairKey, np.ndarray] = {}
    real_by_abo: dict[tuple[int, int, str], list[tuple[int, int, np.ndarray]]] = defaultdict(list)
    for key in sorted(groups):
        per_seq = groups[key]
        seq_values[key] = np.stack([pos.values[per_seq[k]].mean(axis=0) for k in sorted(per_seq)])
        real_by_abo[(key.a, key.b, key.orientation)] += [
            (key.spacing2, k, v) for k, v in zip(sorted(per_seq), seq_values[key], strict=True)
        ]
    return _Groups(groups, seq_values, real_by_abo)


def _test_groups(
    groups: _Groups,
    co: _Coattention,
    sites: _Sites,
    motifs: Sequence[MemeMotif],
    *,
    min_sequences: int,
    null_exclude: float,
    null_neighbours: int,
) -> tuple[list[dict[str, Any]], int]:
    """Step 4: test every group in enough sequences against its distance-matched null and for
    its spacing (attention and occurrence routes); returns the rows and the number of groups
    whose null was too small."""
    from mhsa_bio.pairs.stats import MIN_COMPARISON, compare_group, enrichment, log2_ratio, nearest_null
    from mhsa_bio.stats import fisher_greater

    heads, nul = co.heads, co.nul
    null_by_abo: dict[tuple[int, int, str], list[int]] = defaultdict(list)
    for row, key in enumerate(nul.keys):
        null_by_abo[(key.a, key.b, key.orientation)].append(row)
    null_s2 = np.array([key.spacing2 for key in nul.keys], dtype=np.int64)
    pos_c, bg_c = sites.counts, sites.bg_counts
    pos_counts, pos_ab, bg_counts, bg_ab = pos_c.keys, pos_c.ab, bg_c.keys, bg_c.ab
    n_pos, n_bg = len(sites.seqs), len(sites.bg_seqs)
    exclude2 = int(round(2 * null_exclude))

    rows: list[dict[str, Any]] = []
    untested = 0
    for key in sorted(groups.rows):
        per_seq, values = groups.rows[key], groups.values[key]
        if len(per_seq) < min_sequences:
            continue
        abo = (key.a, key.b, key.orientation)
        pool = np.asarray(null_by_abo.get(abo, []), dtype=np.int64)
        chosen = (
            pool[nearest_null(null_s2[pool], key.spacing2, k=null_neighbours, exclude2=exclude2)]
            if len(pool)
            else pool
        )
        if len(chosen) < MIN_COMPARISON:
            untested += 1
            continue
        # The spacing contrast: the same pair at the nearest other spacings, real sequences.
        real = groups.by_abo[abo]
        near = nearest_null(
            np.array([r[0] for r in real], dtype=np.int64), key.spacing2, k=null_neighbours, exclude2=exclude2
        )
        n_other = len({real[i][1] for i in near.tolist()})
        other = np.stack([real[i][2] for i in near.tolist()]) if n_other >= MIN_COMPARISON else None
        test = compare_group(values, nul.values[chosen], other_spacings=other)
        # The occurrence contrast: this spacing among the pair's spacings, analysed vs background.
        p_occ = float("nan")
        if bg_c.abo.get(abo, 0) >= MIN_COMPARISON:
            p_occ = fisher_greater(pos_counts[key], pos_c.abo[abo], bg_counts.get(key, 0), bg_c.abo[abo])
        route_attention = 1.0 if np.isnan(test.p_spacing) else test.p_spacing
        route_occurrence = 1.0 if np.isnan(p_occ) else max(test.p_null, p_occ)
        p_group = min(1.0, 2.0 * min(route_attention, route_occurrence))
        ratio = log2_ratio(test.mean, test.null_mean)
        order = np.lexsort((-ratio, test.p_null_heads))
        top = [
            f"{heads[h]}:{ratio[h]:.2f}"
            for h in order[:3]
            if test.p_null_heads[h] * len(heads) < 0.05 and ratio[h] > 0
        ]
        sp_enr, sp_p = enrichment(pos_counts[key], n_pos, bg_counts.get(key, 0), n_bg)
        ab = (key.a, key.b)
        co_enr, _ = enrichment(pos_ab[ab], n_pos, bg_ab.get(ab, 0), n_bg)
        ma, mb = motifs[key.a], motifs[key.b]
        rows.append(
            {
                "motif_a": ma.id,
                "name_a": ma.name or ma.id,
                "motif_b": mb.id,
                "name_b": mb.name or mb.id,
                "spacing": key.spacing,
                "orientation": key.orientation,
                "n_sequences": len(per_seq),
                "mean_coattention": float(test.mean[test.best]),
                "null_mean": float(test.null_mean[test.best]),
                "log2_ratio": float(ratio[test.best]),
                "p": p_group,
                "q": np.nan,
                "p_null": test.p_null,
                "q_null": np.nan,
                "n_null": len(chosen),
                "p_spacing_attention": test.p_spacing,
                "other_spacings_mean": float(test.other_mean[test.best]),
                "n_other_spacings": n_other,
                "p_spacing_occurrence": p_occ,
                "best_head": heads[test.best],
                "top_heads": ",".join(top) if top else "-",
                "frac_pos": pos_counts[key] / max(n_pos, 1),
                "frac_bg": bg_counts.get(key, 0) / max(n_bg, 1),
                "spacing_log2_enrichment": sp_enr,
                "spacing_fisher_p": sp_p,
                "cooc_frac_pos": pos_ab[ab] / max(n_pos, 1),
                "cooc_frac_bg": bg_ab.get(ab, 0) / max(n_bg, 1),
                "cooc_log2_enrichment": co_enr,
                "_a": key.a,
                "_b": key.b,
                "_s2": key.spacing2,
            }
        )
    return rows, untested


def _table(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The tested groups with BH q-values, best first (q, p, −log2 ratio, key)."""
    import pandas as pd

    from mhsa_bio.stats import benjamini_hochberg

    table = pd.DataFrame(rows, columns=COLUMNS + ["_a", "_b", "_s2"])
    if len(table):
        table["q"] = benjamini_hochberg(table["p"].to_numpy())
        table["q_null"] = benjamini_hochberg(table["p_null"].to_numpy())
        table = table.assign(_neg=-table["log2_ratio"]).sort_values(
            ["q", "p", "_neg", "_a", "_b", "_s2", "orientation"], kind="mergesort"
        )
        table = table.drop(columns="_neg")
    return table.reset_index(drop=True)


def _summary(
    sites: _Sites,
    co: _Coattention,
    groups: _Groups,
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
    groups = _groups(co.pos)
    rows, untested = _test_groups(
        groups,
        co,
        sites,
        motifs,
        min_sequences=min_sequences,
        null_exclude=null_exclude,
        null_neighbours=null_neighbours,
    )
    table = _table(rows)
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
