"""Seqlets into clusters: the calibrated seqlets' pass and the held-out positional and pointer passes."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from mhsa_bio.motifs.enrichment import Enrichment
    from mhsa_bio.motifs.find import MotifParams
    from mhsa_bio.motifs.seqlets import Seqlet

log = logging.getLogger(__name__)

__all__ = ["clusters_of", "mean_profile", "pointer_pass", "positional_pass"]


def mean_profile(scores: Sequence[np.ndarray]) -> np.ndarray:
    """(L_max,) mean per-position score of ``scores`` (NaN where no sequence reaches)."""
    width = max((s.size for s in scores), default=0)
    total, count = np.zeros(width), np.zeros(width)
    for s in scores:
        total[: s.size] += s
        count[: s.size] += 1
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def clusters_of(
    seqlets: Sequence[Seqlet],
    pos: Sequence[np.ndarray],
    bg: Sequence[np.ndarray],
    *,
    params: MotifParams,
    k: int,
) -> list[Any]:
    """Seqlets into clusters (seeded by ``k``-mers) with the run's width, size and IC rules."""
    from mhsa_bio.motifs.cluster import cluster_seqlets

    return cluster_seqlets(
        seqlets,
        pos,
        bg,
        k=k,
        ext=params.flank,
        min_sites=params.min_sites,
        max_motifs=params.max_motifs,
        min_ic=params.min_ic,
        min_width=params.min_width,
        seed=params.seed,
    )


def positional_pass(
    pos_scores: Sequence[np.ndarray],
    bg_scores: Sequence[np.ndarray],
    pos: Sequence[np.ndarray],
    bg: Sequence[np.ndarray],
    *,
    params: MotifParams,
    first_index: int,
    known: Sequence[np.ndarray] = (),
) -> tuple[tuple[int, int] | None, tuple[float, float] | None, list[Seqlet], list[Any], list[Enrichment]]:
    """Motifs at the position the model attends to in the positives (promoter boxes).

    A positional element draws the attention to the same bases in most positives, but not
    more strongly than attention goes somewhere in a background sequence, so few of its windows
    pass the calibrated seqlet threshold. The positives are split in two halves (even and odd
    indices). On the first half, the window of ``params.window`` bases with the largest mean
    score is chosen. The pass goes on only when, on the second half, that window's score is
    larger in positives than in background (one-sided Mann-Whitney p ≤ ``params.fdr``): an
    untrained model, or a model that attends wherever a motif happens to be, stops here. Then
    the window plus ``params.flank`` on each side is a seqlet in every positive of the first
    half; their clusters (``positional_k``-mer seeds) are tested on the second half against the
    background with :func:`window_enrichment` at the clusters' own site window. The half that
    chose the window and made a matrix never tests it, so the p-values are not inflated by
    those choices. Clusters similar to ``known`` (the calibrated seqlets' clusters) are dropped.

    Returns
    -------
    window : [start, end) of the attended window (``None`` when too few sequences)
    test : (AUROC, p) of the window's score, held-out positives vs background
    seqlets : the positional seqlets; their indices in the sites start at ``first_index``
    clusters, enrichments : one per cluster, evidence ``held-out window``
    """
    from scipy.stats import mannwhitneyu

    from mhsa_bio.motifs.cluster import similarity
    from mhsa_bio.motifs.enrichment import site_window, window_enrichment
    from mhsa_bio.motifs.heads import auroc
    from mhsa_bio.motifs.seqlets import Seqlet, window_sums

    profile = np.nan_to_num(mean_profile(pos_scores[0::2]))
    if len(pos_scores) < 2 * params.min_sites or profile.size < params.window or not bg_scores:
        return None, None, [], [], []
    j = int(np.argmax(window_sums(profile, params.window)))
    window = (j, j + params.window)
    held = np.array([s[j : j + params.window].sum() for s in pos_scores[1::2]])
    other = np.array([s[j : j + params.window].sum() for s in bg_scores])
    gate = (auroc(held, other), float(mannwhitneyu(held, other, alternative="greater").pvalue))
    log.info("positional pass: window %d-%d, held-out AUROC %.3f, p %.3g", *window, *gate)
    if not gate[1] <= params.fdr:
        return window, gate, [], [], []
    build = range(0, len(pos), 2)
    test = [pos[i] for i in range(1, len(pos), 2)]
    seqlets = [
        Seqlet(
            i,
            max(0, j - params.flank),
            min(pos[i].size, j + params.window + params.flank),
            float(pos_scores[i][j : j + params.window].sum()),
            j,
        )
        for i in build
        if pos[i].size >= j + params.window
    ]
    clusters = clusters_of(seqlets, pos, bg, params=params, k=params.positional_k)
    clusters = [c for c in clusters if all(similarity(c.counts, k) < 0.85 for k in known)]
    clusters = [
        c._replace(sites=[s._replace(seqlet=s.seqlet + first_index) for s in c.sites]) for c in clusters
    ]
    enr = [
        window_enrichment(
            c.counts,
            test,
            bg,
            site_window([s.start for s in c.sites], c.counts.shape[0]),
            p_site=params.p_site,
        )._replace(evidence="held-out window")
        for c in clusters
    ]
    log.info("positional pass: %d seqlets, %d clusters", len(seqlets), len(clusters))
    return window, gate, seqlets, clusters, enr


def pointer_pass(
    rows: Sequence[Sequence[np.ndarray]],
    pos: Sequence[np.ndarray],
    bg: Sequence[np.ndarray],
    *,
    params: MotifParams,
    first_index: int,
    known: Sequence[np.ndarray] = (),
) -> tuple[list[Seqlet], list[Any], list[Enrichment]]:
    """Motifs at the bases each pointing head attends to, tested on held-out positives.

    A head whose CLS row puts nearly all its mass on one site (a *pointer*: the model reads a
    motif's presence or position from it) gives the same window sum in positives and background,
    and so no seqlet passes the calibrated threshold, even when it points at the same motif in
    every positive; this happens when the negatives carry the same motifs (a pair at other
    spacings) and the background is made of shuffles. Here the positives are split by index
    parity as in :func:`positional_pass`: in each even-half positive, each head of ``rows``
    (the heads that point and separate, the ``--heads auto`` rule) gives its largest
    ``params.window`` window, plus ``params.flank`` on each side, as a seqlet (a window
    overlapping one already taken in that sequence is skipped); the seqlets are clustered as in
    step 4, clusters similar to ``known`` are dropped, and each remaining one is tested on the
    odd half only against the background (whole-sequence scan, evidence ``held-out sequence``).
    A model that points at random bases gives clusters that fail that test.

    Returns
    -------
    seqlets : the pointer seqlets; their indices in the sites start at ``first_index``
    clusters, enrichments : one per cluster
    """
    from mhsa_bio.motifs.cluster import similarity
    from mhsa_bio.motifs.enrichment import motif_enrichment
    from mhsa_bio.motifs.seqlets import Seqlet, window_sums

    if len(pos) < 2 * params.min_sites or not bg:
        return [], [], []
    seqlets: list[Seqlet] = []
    for i in range(0, len(pos), 2):
        taken: list[tuple[int, int]] = []
        for row in rows:
            score = np.asarray(row[i], dtype=np.float64)
            if score.size < params.window:
                continue
            j = int(np.argmax(window_sums(score, params.window)))
            if any(min(j + params.window, b) - max(j, a) > params.window // 2 for a, b in taken):
                continue
            taken.append((j, j + params.window))
            seqlets.append(
                Seqlet(
                    i,
                    max(0, j - params.flank),
                    min(pos[i].size, j + params.window + params.flank),
                    float(score[j : j + params.window].sum()),
                    j + int(np.argmax(score[j : j + params.window])),
                )
            )
    clusters = clusters_of(seqlets, pos, bg, params=params, k=params.k)
    clusters = [
        c._replace(sites=[s._replace(seqlet=s.seqlet + first_index) for s in c.sites])
        for c in clusters
        if all(similarity(c.counts, k) < 0.85 for k in known)
    ]
    test = [pos[i] for i in range(1, len(pos), 2)]
    enr = [
        motif_enrichment(c.counts, test, bg, p_site=params.p_site)[0]._replace(evidence="held-out sequence")
        for c in clusters
    ]
    log.info("pointer pass: %d heads, %d seqlets, %d clusters", len(rows), len(seqlets), len(clusters))
    return seqlets, clusters, enr
