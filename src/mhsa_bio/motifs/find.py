"""Attention-derived motifs from a model and sequences in memory: attention → seqlets → clusters
→ PWMs → enrichment → known matches (:func:`find_motifs`, returning a :class:`MotifResult`)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from mhsa_bio.io.fasta import Record

if TYPE_CHECKING:
    import torch

    from mhsa_bio.io.meme import MemeMotif
    from mhsa_bio.models.promoter import PromoterTransformer
    from mhsa_bio.motifs.cluster import Site
    from mhsa_bio.motifs.enrichment import Enrichment
    from mhsa_bio.motifs.heads import HeadStats
    from mhsa_bio.motifs.matching import Match
    from mhsa_bio.motifs.seqlets import Calibration, Seqlet
    from mhsa_bio.motifs.sites import ScanSite

log = logging.getLogger(__name__)

__all__ = [
    "MotifParams",
    "Motif",
    "MotifResult",
    "find_motifs",
    "shuffle_control",
]


@dataclass(frozen=True)
class MotifParams:
    """Settings of the motif pipeline (recorded in ``run.json``).

    score : per-base score (``cls``, ``received``, ``rollout``, ``gradient``: integrated
        gradients × input, see :mod:`mhsa_bio.attribution`)
    heads : ``auto``, ``all`` or ``L:H,...`` (1-based)
    fallback : with ``heads="auto"`` and a ``cls``/``received`` score, the score used when no
        head both points (CLS row not near uniform) and separates positives from background
        (AUROC ≥ 0.6), or when the chosen heads pass fewer than ``min_sites`` seqlets:
        ``gradient`` (default) or ``none`` (keep the heads)
    fdr : motifs kept at BH q ≤ fdr
    seqlet_fdr : FDR of the seqlet threshold (default: ``fdr``)
    window, flank : seqlet core width and flank added on each side (bp)
    max_per_seq : candidate seqlets per sequence
    k : seed k-mer length; min_width : narrowest motif kept after trimming
    min_sites : fewest seqlets that make a motif; max_motifs : at most this many clusters
    p_site : a sequence holds a motif site when a window scores at this p-value (enrichment)
    enrichment : ``auto`` (default: the better of ``scan`` and ``window``, p doubled for the
        two tests), ``scan`` (sequences with a site anywhere), ``window`` (sequences with a site
        starting where the motif's attention sites concentrate: between their start quartiles
        ± 2 bp; for elements at fixed positions, such as promoter boxes) or ``seqlets`` (sites
        inside the attention seqlets only, positives and background alike)
    min_ic : flank columns under this information (bits) are trimmed
    positional_k : seed k-mer length of the positional pass (``auto`` and ``window``; see
        :func:`~mhsa_bio.motifs.passes.positional_pass`)
    """

    score: str = "cls"
    heads: str = "auto"
    fallback: str = "gradient"
    fdr: float = 0.05
    seqlet_fdr: float | None = None
    window: int = 10
    flank: int = 5
    max_per_seq: int = 3
    k: int = 6
    min_width: int = 5
    min_sites: int = 10
    max_motifs: int = 10
    p_site: float = 1e-4
    enrichment: str = "auto"
    positional_k: int = 5
    min_ic: float = 0.3
    batch_size: int = 64
    amp: bool = True
    seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Motif(NamedTuple):
    """One motif: (W, 4) counts, its sites (attention seqlets aligned on it), enrichment, q."""

    id: str
    consensus: str
    counts: np.ndarray
    sites: list[Site]
    seed: str
    enrichment: Enrichment
    q_value: float
    matches: list[Match]


class MotifResult(NamedTuple):
    """Everything ``mhsa-bio motifs`` writes.

    motifs : passing ``fdr``, most significant first
    rejected : clusters that did not pass
    profile_positive, profile_background : (L_max,) mean per-position score (NaN where no
        sequence reaches)
    """

    motifs: list[Motif]
    rejected: list[Motif]
    heads: list[HeadStats]
    selected_heads: list[tuple[int, int]]
    calibration: Calibration
    seqlets: list[Seqlet]
    n_background_seqlets: int
    profile_positive: np.ndarray
    profile_background: np.ndarray
    score: str
    n_positives: int
    n_background: int
    positional_window: tuple[int, int] | None = None  # [start, end) of the attended window
    positional_test: tuple[float, float] | None = None  # its held-out (AUROC, Mann-Whitney p)
    positional_seqlets: tuple[Seqlet, ...] = ()  # sites' seqlet indices continue past seqlets
    path: str = ""  # which score made the seqlets, in words
    reason: str = ""  # why no motif passed (empty when some did)
    scan_sites: tuple[ScanSite, ...] = ()  # every site of the final matrices (sites.bed)
    pointer_heads: tuple[tuple[int, int], ...] = ()  # 0-based heads of the pointer pass
    pointer_seqlets: tuple[Seqlet, ...] = ()  # its seqlets; indices continue past positional


def _per_base(att: Any, kind: str, heads: list[tuple[int, int]]) -> list[np.ndarray]:
    from mhsa_bio.attention import combine_heads

    if kind in ("cls", "received"):
        return combine_heads(getattr(att, kind), heads)
    return list(getattr(att, kind))


def _enrichment(
    cluster: Any, pos: Sequence[np.ndarray], bg: Sequence[np.ndarray], params: MotifParams
) -> Enrichment:
    """Whole-sequence (``scan``), positional (``window``) or the better of both (``auto``)."""
    from mhsa_bio.motifs.enrichment import (
        best_evidence,
        motif_enrichment,
        site_window,
        window_enrichment,
    )

    if params.enrichment != "window":
        whole = motif_enrichment(cluster.counts, pos, bg, p_site=params.p_site)[0]
        if params.enrichment == "scan":
            return whole
    window = site_window([s.start for s in cluster.sites], cluster.counts.shape[0])
    positional = window_enrichment(cluster.counts, pos, bg, window, p_site=params.p_site)
    return positional if params.enrichment == "window" else best_evidence(whole, positional)


def find_motifs(
    model: PromoterTransformer,
    positives: Sequence[Record],
    background: Sequence[Record],
    *,
    params: MotifParams,
    device: torch.device | str = "cpu",
    known: Sequence[MemeMotif] | None = None,
    threads: int = 1,
    on_progress: Callable[[str, int, int], None] | None = None,
) -> MotifResult:
    """Attention-derived motifs of ``positives`` against ``background``.

    Parameters
    ----------
    model : a trained ``PromoterTransformer`` (eval mode)
    positives : N sequences whose motifs are sought
    background : M sequences for the seqlet threshold and the enrichment test
    params : see :class:`MotifParams`
    device : where the model runs
    known : motifs to match with Tomtom (JASPAR or a user file); ``None`` skips matching
    threads : numba threads for Tomtom
    on_progress : called as (stage, done, total) while attention is collected

    Returns
    -------
    MotifResult
    """
    from mhsa_bio import pwm
    from mhsa_bio.attention import collect_attention
    from mhsa_bio.motifs.diagnosis import why_nothing
    from mhsa_bio.motifs.enrichment import seqlet_enrichment
    from mhsa_bio.motifs.heads import (
        MAX_DIFFUSENESS,
        MIN_AUROC,
        head_stats,
        parse_heads,
        pointing_heads,
        score_path,
    )
    from mhsa_bio.motifs.matching import tomtom_matches
    from mhsa_bio.motifs.passes import clusters_of, mean_profile, pointer_pass, positional_pass
    from mhsa_bio.motifs.seqlets import call_seqlets
    from mhsa_bio.motifs.sites import scan_sites
    from mhsa_bio.stats import benjamini_hochberg

    cfg = model.config
    kinds = sorted({"cls", params.score} - {"gradient"})

    def run(records: Sequence[Record], stage: str) -> Any:
        cb = (lambda done: on_progress(stage, done, len(records))) if on_progress else None
        return collect_attention(
            model,
            records,
            device=device,
            batch_size=params.batch_size,
            kinds=kinds,
            on_batch=cb,
            amp=params.amp,
        )

    att_pos = run(positives, "positives")
    att_bg = run(background, "background")
    chosen = parse_heads(params.heads, layers=cfg.layers, heads=cfg.heads)
    heads, selected = head_stats(att_pos, att_bg, chosen=chosen)
    score = params.score
    path = score_path(score, selected)
    may_fall_back = chosen is None and score in ("cls", "received") and params.fallback == "gradient"
    if may_fall_back and not pointing_heads(heads):
        best = max(heads, key=lambda h: h.separation_auroc)
        score = "gradient"
        path = (
            "integrated gradients x input: no head both points (CLS entropy < "
            f"{MAX_DIFFUSENESS:g} of uniform) and separates (AUROC >= {MIN_AUROC:g}); best "
            f"head {best.layer}:{best.head} AUROC {best.separation_auroc:.2f} at "
            f"{best.cls_entropy_vs_uniform:.2f} of uniform"
        )
        selected = []
    seqlet_fdr = params.fdr if params.seqlet_fdr is None else params.seqlet_fdr

    def scores_and_seqlets(kind: str, att_pos: Any, att_bg: Any) -> tuple[Any, Any, Any, Any, Any]:
        if kind == "gradient":
            from mhsa_bio.attribution import gradient_x_input

            ps = gradient_x_input(model, positives, device=device, batch_size=params.batch_size)
            bs = gradient_x_input(model, background, device=device, batch_size=params.batch_size)
        else:
            ps, bs = _per_base(att_pos, kind, selected), _per_base(att_bg, kind, selected)
        called = call_seqlets(
            ps, bs, window=params.window, flank=params.flank, fdr=seqlet_fdr, max_per_seq=params.max_per_seq
        )
        return (ps, bs, *called)

    pos_scores, bg_scores, seqlets, bg_seqlets, cal = scores_and_seqlets(score, att_pos, att_bg)
    if may_fall_back and score != "gradient" and len(seqlets) < params.min_sites:
        path = (
            f"integrated gradients x input: {path} passed {len(seqlets)} seqlets "
            f"(< --min-sites {params.min_sites})"
        )
        score, selected = "gradient", []
        pos_scores, bg_scores, seqlets, bg_seqlets, cal = scores_and_seqlets(score, att_pos, att_bg)
    pointers = (
        [(h.layer - 1, h.head - 1) for h in pointing_heads(heads)]
        if chosen is None and params.enrichment in ("auto", "scan")
        else []
    )
    pointer_rows = [[c[a, b] for c in att_pos.cls] for a, b in pointers] if att_pos.cls else []
    del att_pos, att_bg  # the per-base scores are all that is read from here on
    log.info("per-base score: %s", path)
    log.info(
        "seqlet threshold %.3g (FDR %.3g): %d seqlets in positives, %d in background",
        cal.threshold,
        cal.achieved_fdr,
        len(seqlets),
        len(bg_seqlets),
    )
    pos_tok = [pwm.tokens(r.seq) for r in positives]
    bg_tok = [pwm.tokens(r.seq) for r in background]
    clusters = clusters_of(seqlets, pos_tok, bg_tok, params=params, k=params.k)
    if params.enrichment == "seqlets":
        ps = [(s.seq_index, s.start, s.end) for s in seqlets]
        bs = [(s.seq_index, s.start, s.end) for s in bg_seqlets]
        enr = [seqlet_enrichment(c.counts, pos_tok, bg_tok, ps, bs) for c in clusters]
    else:
        enr = [_enrichment(c, pos_tok, bg_tok, params) for c in clusters]
    window, gate = None, None
    pos_seqlets: list[Seqlet] = []
    if params.enrichment in ("auto", "window"):
        window, gate, pos_seqlets, extra, extra_enr = positional_pass(
            pos_scores,
            bg_scores,
            pos_tok,
            bg_tok,
            params=params,
            first_index=len(seqlets),
            known=[c.counts for c in clusters],
        )
        clusters, enr = clusters + extra, enr + extra_enr
    ptr_seqlets: list[Seqlet] = []
    if pointer_rows:
        ptr_seqlets, extra, extra_enr = pointer_pass(
            pointer_rows,
            pos_tok,
            bg_tok,
            params=params,
            first_index=len(seqlets) + len(pos_seqlets),
            known=[c.counts for c in clusters],
        )
        clusters, enr = clusters + extra, enr + extra_enr
    q = benjamini_hochberg([e.p_value for e in enr])
    order = sorted(range(len(clusters)), key=lambda i: (enr[i].p_value, -len(clusters[i].sites), i))
    passing = [i for i in order if q[i] <= params.fdr and enr[i].log2_enrichment > 0]
    failing = [i for i in order if i not in passing]
    matches: dict[int, list[Match]] = {i: [] for i in range(len(clusters))}
    if known and passing:
        found = tomtom_matches(
            [pwm.probabilities(clusters[i].counts) for i in passing], known, threads=threads
        )
        matches.update(zip(passing, found))

    def motif(i: int, name: str) -> Motif:
        c = clusters[i]
        return Motif(
            name,
            pwm.consensus(pwm.probabilities(c.counts)),
            c.counts,
            c.sites,
            c.seed,
            enr[i],
            float(q[i]),
            matches[i],
        )

    motifs = [motif(i, f"M{n + 1}") for n, i in enumerate(passing)]
    if any(enr[i].evidence == "held-out sequence" for i in passing):
        path += "; pointer pass of heads " + ", ".join(f"{a + 1}:{b + 1}" for a, b in pointers)
    rejected = [motif(i, f"R{n + 1}") for n, i in enumerate(failing)]
    reason = (
        ""
        if motifs
        else why_nothing(
            heads=heads,
            n_seqlets=len(seqlets) + len(pos_seqlets) + len(ptr_seqlets),
            n_clusters=len(clusters),
            best_q=float(q.min()) if len(q) else None,
            calibration=cal,
            params=params,
            attention=score != "gradient",
        )
    )
    sites = scan_sites(motifs, pos_tok, p_value=params.p_site)
    return MotifResult(
        motifs,
        rejected,
        heads,
        selected,
        cal,
        seqlets,
        len(bg_seqlets),
        mean_profile(pos_scores),
        mean_profile(bg_scores),
        score,
        len(positives),
        len(background),
        window,
        gate,
        tuple(pos_seqlets),
        path,
        reason,
        tuple(sites),
        tuple(pointers),
        tuple(ptr_seqlets),
    )


def shuffle_control(
    model: PromoterTransformer,
    positives: Sequence[Record],
    background: Sequence[Record],
    *,
    params: MotifParams,
    device: torch.device | str = "cpu",
) -> MotifResult:
    """The same pipeline on dinucleotide shuffles of the positives (seeded); no motif should
    pass."""
    from mhsa_bio.shuffle import shuffle_records

    shuffled = shuffle_records(positives, n_per=1, seed=params.seed + 7_000_001, suffix="ctrl")
    return find_motifs(model, shuffled, background, params=params, device=device, known=None)
