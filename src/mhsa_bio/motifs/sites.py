"""Every site of the final motifs: the matrices scanned over all sequences (``sites.bed``).

The attention seqlets that built a motif are a fraction of its sites: the seqlet threshold is
calibrated to a low FDR, and at most ``max_per_seq`` windows per sequence are candidates. So
each final matrix is scanned over every sequence on both strands, FIMO-like: a site is a window
whose log-odds score (uniform background, bits) reaches the score a random window reaches with
probability ``p_value`` (exact score distribution, :func:`mhsa_bio.pwm.score_threshold`);
overlapping hits of one motif keep the best. The sites the attention selected (the motif's
aligned seqlets) are marked; those below the scan threshold are kept too, as sites the attention
chose.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from mhsa_bio import pwm

if TYPE_CHECKING:
    from mhsa_bio.motifs.find import Motif


class ScanSite(NamedTuple):
    """One site of motif ``motif_id`` in sequence ``seq_index``: bases [start, end), 0-based."""

    seq_index: int
    start: int
    end: int
    strand: str
    motif_id: str
    score: float  # log-odds, bits
    scanned: bool  # reaches the scan threshold
    attention: bool  # one of the motif's attention sites


def _hits(fwd: np.ndarray, rev: np.ndarray, width: int, threshold: float) -> list[tuple[float, int, str]]:
    """Non-overlapping (score, start, strand) hits ≥ ``threshold``, best first, from the window
    scores ``pwm.scan_scores`` gives."""
    cand = [(float(fwd[i]), int(i), "+") for i in np.flatnonzero(fwd >= threshold)]
    cand += [(float(rev[i]), int(i), "-") for i in np.flatnonzero(rev >= threshold)]
    cand.sort(key=lambda c: (-c[0], c[1], c[2]))
    taken: list[tuple[float, int, str]] = []
    for c in cand:
        if all(abs(c[1] - t[1]) >= width for t in taken):
            taken.append(c)
    return taken


def scan_sites(motifs: Sequence[Motif], seqs: Sequence[np.ndarray], *, p_value: float) -> list[ScanSite]:
    """Sites of every motif in every sequence, attention sites marked.

    Parameters
    ----------
    motifs : the final motifs (their counts and attention sites)
    seqs : N (L_i,) token arrays the motifs' sites index into
    p_value : per-window chance that a random window reaches the site threshold

    Returns
    -------
    sites in (motif order, sequence, start) order
    """
    out: list[ScanSite] = []
    for m in motifs:
        lo = pwm.log_odds(pwm.probabilities(m.counts))
        width = lo.shape[0]
        thr = pwm.score_threshold(lo, p_value=p_value)
        chosen: dict[int, list[tuple[int, str]]] = defaultdict(list)
        for s in m.sites:
            chosen[s.seq_index].append((s.start, s.strand))
        rows: list[ScanSite] = []
        for i, seq in enumerate(seqs):
            fwd, rev = pwm.scan_scores(lo, seq)
            hits = _hits(fwd, rev, width, thr)
            att = chosen.get(i, [])
            used: set[int] = set()
            here: list[int] = []
            for score, start, strand in hits:
                near = [k for k, (a, _) in enumerate(att) if abs(a - start) * 2 < width]
                used.update(near)
                here.append(start)
                rows.append(ScanSite(i, start, start + width, strand, m.id, score, True, bool(near)))
            for k, (start, strand) in enumerate(att):
                if k in used or start < 0 or start + width > seq.size:
                    continue
                if any(abs(a - start) * 2 < width for a in here):
                    continue
                here.append(start)
                score = float((fwd if strand == "+" else rev)[start])
                rows.append(ScanSite(i, start, start + width, strand, m.id, score, False, True))
        rows.sort(key=lambda r: (r.seq_index, r.start, r.strand))
        out.extend(rows)
    return out
