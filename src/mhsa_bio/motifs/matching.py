"""Known-motif matching: JASPAR (offline, pyjaspar) or a user MEME file, compared with Tomtom.

Tomtom is memelite's; p-values of each query against every target are turned into q-values over
the targets (Benjamini–Hochberg per query, as MEME's Tomtom does). numba compiles memelite once
and caches the result in ``NUMBA_CACHE_DIR`` (set here to ``~/.cache/mhsa-bio/numba`` when unset).
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np

from mhsa_bio.errors import InputError
from mhsa_bio.io.jaspar import check_jaspar, fetch_core
from mhsa_bio.io.meme import MemeMotif, read_meme, write_meme
from mhsa_bio.stats import benjamini_hochberg

log = logging.getLogger(__name__)


class Match(NamedTuple):
    """A known motif similar to a query: id, name, Tomtom p, q over targets, offset, strand."""

    target_id: str
    target_name: str
    p_value: float
    q_value: float
    offset: int
    strand: str


def cache_dir() -> Path:
    """``$XDG_CACHE_HOME/mhsa-bio`` (or ``~/.cache/mhsa-bio``)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "mhsa-bio"


def ensure_numba_cache() -> None:
    """Point numba's cache at a user folder before memelite is imported (compile once)."""
    if "NUMBA_CACHE_DIR" not in os.environ:
        path = cache_dir() / "numba"
        path.mkdir(parents=True, exist_ok=True)
        os.environ["NUMBA_CACHE_DIR"] = str(path)


def load_jaspar(release: str, taxon: str) -> list[MemeMotif]:
    """CORE motifs (latest version of each) of a JASPAR release and taxon, as probabilities
    (counts + 0.25 pseudocount); cached as a MEME file under :func:`cache_dir`."""
    rel = check_jaspar(release, taxon)
    cached = cache_dir() / "jaspar" / f"{rel}_CORE_{taxon}.meme"
    if cached.is_file():
        try:
            return read_meme(cached)
        except InputError:
            log.warning("%s: unreadable cache, rebuilding", cached)
    motifs = []
    for m in fetch_core(rel, taxon):
        counts = m.counts + 0.25
        motifs.append(MemeMotif(m.id, m.name, counts / counts.sum(1, keepdims=True)))
    try:
        write_meme(cached, motifs)
    except OSError as exc:
        log.warning("cannot cache JASPAR motifs in %s (%s)", cached, exc)
    return motifs


def tomtom_matches(
    queries: Sequence[np.ndarray], targets: Sequence[MemeMotif], *, top: int = 3, threads: int = 1
) -> list[list[Match]]:
    """Tomtom each (W, 4) query against ``targets``; per query the ``top`` matches by p."""
    if not queries:
        return []
    ensure_numba_cache()
    from memelite import tomtom

    qs = [np.ascontiguousarray(np.asarray(q, dtype=np.float64).T) for q in queries]
    ts = [np.ascontiguousarray(t.probs.T.astype(np.float64)) for t in targets]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p, _, offsets, _, strands = tomtom(qs, ts, n_jobs=threads)
    out = []
    for i in range(len(qs)):
        q = benjamini_hochberg(p[i])
        order = np.lexsort((np.arange(p.shape[1]), p[i]))[:top]
        out.append(
            [
                Match(
                    targets[j].id,
                    targets[j].name,
                    float(p[i, j]),
                    float(q[j]),
                    int(offsets[i, j]),
                    "-" if strands[i, j] else "+",
                )
                for j in order
            ]
        )
    return out
