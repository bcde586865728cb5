"""Writing a :class:`~mhsa_bio.motifs.MotifResult`: MEME, TSV, BED, logos, heads, HTML report."""

from __future__ import annotations

import csv
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mhsa_bio import pwm
from mhsa_bio.io.bed import BedRecord, to_genome, write_bed
from mhsa_bio.io.fasta import Record
from mhsa_bio.io.meme import MemeMotif, write_meme
from mhsa_bio.io.outputs import atomic_open
from mhsa_bio.motifs.enrichment import describe
from mhsa_bio.motifs.find import Motif, MotifResult

log = logging.getLogger(__name__)

TSV_COLUMNS = [
    "id",
    "consensus",
    "width",
    "sites",
    "positives_with_site",
    "n_positives",
    "background_with_site",
    "n_background",
    "log2_enrichment",
    "p_value",
    "q_value",
    "evidence",
    "seed_kmer",
    "best_match",
    "best_match_name",
    "best_match_q",
    "matches",
]


def _fmt(v: float) -> str:
    return "<1e-300" if v == 0 else f"{v:.4g}"  # hypergeometric tails underflow to 0


def motif_rows(motifs: Sequence[Motif]) -> list[dict[str, Any]]:
    """One ``motifs.tsv`` row per motif."""
    rows = []
    for m in motifs:
        e = m.enrichment
        best = m.matches[0] if m.matches else None
        rows.append(
            {
                "id": m.id,
                "consensus": m.consensus,
                "width": m.counts.shape[0],
                "sites": len(m.sites),
                "positives_with_site": e.positives_with_site,
                "n_positives": e.n_positives,
                "background_with_site": e.background_with_site,
                "n_background": e.n_background,
                "log2_enrichment": _fmt(e.log2_enrichment),
                "p_value": _fmt(e.p_value),
                "q_value": _fmt(m.q_value),
                "evidence": describe(e),
                "seed_kmer": m.seed,
                "best_match": best.target_id if best else "",
                "best_match_name": best.target_name if best else "",
                "best_match_q": _fmt(best.q_value) if best else "",
                "matches": ";".join(f"{x.target_id} {x.target_name} q={x.q_value:.3g}" for x in m.matches),
            }
        )
    return rows


def write_tsv(path: Path, rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> None:
    """A TSV with a header, atomically."""
    with atomic_open(path) as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns), delimiter="\t", lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow(row)


def site_records(result: MotifResult, positives: Sequence[Record]) -> list[BedRecord]:
    """BED6+1 records of every motif's sites (:mod:`mhsa_bio.motifs.sites`): sequence
    coordinates, or genome coordinates for records cut from a genome (``chrom:start-end(strand)``
    in the description); score = log-odds (bits); a 7th column says whether the attention also
    selected the site (``attention``) or only the matrix scan found it (``scan``)."""
    from mhsa_bio.io.genome import region_of

    out = []
    for s in result.scan_sites:
        rec = positives[s.seq_index]
        tag = ("attention" if s.attention else "scan",)
        region = region_of(rec)
        if region is None:
            out.append(BedRecord(rec.id, s.start, s.end, s.motif_id, s.score, s.strand, tag))
        else:
            g0, g1, strand = to_genome(
                s.start,
                s.end,
                s.strand,
                region_start=region.start,
                region_end=region.end,
                region_strand=region.strand,
            )
            out.append(BedRecord(region.chrom, g0, g1, f"{s.motif_id}:{rec.id}", s.score, strand, tag))
    return out


def write_results(
    result: MotifResult, out: Path, positives: Sequence[Record], *, summary: dict[str, Any]
) -> dict[str, Path]:
    """Write every output file into ``out`` (which exists); returns name → path."""
    from mhsa_bio.motifs.logos import profile_png, write_logo
    from mhsa_bio.motifs.report import render_report

    paths = {
        name: out / name
        for name in ("motifs.meme", "motifs.tsv", "sites.bed", "heads.tsv", "profile.tsv", "report.html")
    }
    write_meme(
        paths["motifs.meme"],
        [
            MemeMotif(m.id, m.consensus, pwm.probabilities(m.counts), len(m.sites), m.q_value)
            for m in result.motifs
        ],
    )
    write_tsv(paths["motifs.tsv"], motif_rows(result.motifs), TSV_COLUMNS)
    write_bed(paths["sites.bed"], site_records(result, positives))
    head_cols = [
        "layer",
        "head",
        "entropy_bits",
        "cls_entropy_bits",
        "focus",
        "focus_background",
        "separation_auroc",
        "cls_entropy_vs_uniform",
        "selected",
    ]
    write_tsv(
        paths["heads.tsv"],
        [
            {
                "layer": h.layer,
                "head": h.head,
                "entropy_bits": _fmt(h.entropy_bits),
                "cls_entropy_bits": _fmt(h.cls_entropy_bits),
                "focus": _fmt(h.focus),
                "focus_background": _fmt(h.focus_background),
                "separation_auroc": _fmt(h.separation_auroc),
                "cls_entropy_vs_uniform": _fmt(h.cls_entropy_vs_uniform),
                "selected": "yes" if h.selected else "no",
            }
            for h in result.heads
        ],
        head_cols,
    )
    write_tsv(
        paths["profile.tsv"],
        [
            {"position": i, "positives": _fmt(float(a)), "background": _fmt(float(b))}
            for i, (a, b) in enumerate(zip(result.profile_positive, result.profile_background))
        ],
        ["position", "positives", "background"],
    )
    logos: dict[str, bytes] = {}
    for m in result.motifs:
        logos[m.id] = write_logo(
            out / "logos" / f"{m.id}.png", pwm.probabilities(m.counts), title=f"{m.id} {m.consensus}"
        )
    profile = profile_png(result.profile_positive, result.profile_background, score=result.score)
    with atomic_open(paths["report.html"]) as handle:
        handle.write(render_report(result, logos=logos, profile=profile, summary=summary))
    return paths
