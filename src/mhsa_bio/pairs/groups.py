"""Pair groups (A, B, orientation, spacing): per-sequence co-attention, tests, the ``pairs.tsv`` table."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from mhsa_bio.pairs.geometry import PairKey

if TYPE_CHECKING:
    import pandas as pd

    from mhsa_bio.io.meme import MemeMotif
    from mhsa_bio.pairs.coattention import Instances
    from mhsa_bio.pairs.find import Coattention, Sites

__all__ = ["COLUMNS", "Groups", "group_pairs", "group_table", "group_tests"]

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


class Groups(NamedTuple):
    """The analysed pairs by group: rows of each group per sequence, one value per (group,
    sequence) (the mean over that sequence's pairs of the group), and per (A, B, orientation)
    every group's per-sequence values with spacing and sequence."""

    rows: dict[PairKey, dict[int, list[int]]]
    values: dict[PairKey, np.ndarray]
    by_abo: dict[tuple[int, int, str], list[tuple[int, int, np.ndarray]]]


def group_pairs(pos: Instances) -> Groups:
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
    return Groups(groups, seq_values, real_by_abo)


def group_tests(
    groups: Groups,
    co: Coattention,
    sites: Sites,
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


def group_table(rows: list[dict[str, Any]]) -> pd.DataFrame:
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
