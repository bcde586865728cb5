"""JASPAR count matrices from the database pyjaspar ships (offline): the release and taxon
checks, motifs by matrix id, and a release's CORE collection for a taxon."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from mhsa_bio.errors import InputError

__all__ = ["TAXA", "JasparMatrix", "check_jaspar", "fetch_by_id", "fetch_core", "normalise_release"]

#: The ``--taxon`` choices: JASPAR's taxonomic groups, or every group.
TAXA = ("vertebrates", "insects", "nematodes", "plants", "fungi", "urochordates", "all")


class JasparMatrix(NamedTuple):
    """One JASPAR matrix: its id (``MA0035.4``), TF name and (W, 4) float64 counts, A C G T."""

    id: str
    name: str
    counts: np.ndarray


def normalise_release(release: str) -> str:
    """``2024`` or ``jaspar2024`` → ``JASPAR2024``."""
    release = str(release).strip().upper()
    return release if release.startswith("JASPAR") else f"JASPAR{release}"


def check_jaspar(release: str, taxon: str | None = None) -> str:
    """Validate ``--jaspar-release`` (and ``--taxon`` when given) without loading any motif;
    returns the release's name as pyjaspar spells it."""
    from pyjaspar import jaspardb

    rel = normalise_release(release)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        releases = jaspardb().get_releases()
    if rel not in releases:
        raise InputError(f"--jaspar-release: unknown release '{rel}' (pyjaspar has {', '.join(releases)})")
    if taxon is not None and taxon not in TAXA:
        raise InputError(f"--taxon {taxon}: expected one of {', '.join(TAXA)}")
    return rel


def _matrix(motif: Any) -> JasparMatrix:
    counts = np.array([motif.counts[b] for b in "ACGT"], dtype=np.float64).T  # (W, 4)
    return JasparMatrix(str(motif.matrix_id), str(motif.name), counts)


def fetch_by_id(ids: Sequence[str], *, release: str = "JASPAR2024") -> list[JasparMatrix]:
    """The matrices of ``ids`` (``MA0035.4``; an id without a version gives the latest), in order.

    Raises
    ------
    InputError
        For an unknown release or an unknown motif id.
    """
    from pyjaspar import jaspardb

    rel = check_jaspar(release)
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        db = jaspardb(release=rel)
        for motif_id in ids:
            motif_id = motif_id.strip()
            try:
                motif = db.fetch_motif_by_id(motif_id)
            except Exception:  # pyjaspar fails with AttributeError on an unknown id
                motif = None
            if motif is None or not getattr(motif, "matrix_id", None):
                raise InputError(f"--motifs: unknown JASPAR motif id '{motif_id}' in {rel}")
            out.append(_matrix(motif))
    return out


def fetch_core(release: str, taxon: str) -> list[JasparMatrix]:
    """The CORE collection of a release for a taxon (``all``: every taxon), the latest version
    of each matrix, in pyjaspar's order.

    Raises
    ------
    InputError
        For an unknown release or taxon, or a taxon without CORE motifs in that release.
    """
    from pyjaspar import jaspardb

    rel = check_jaspar(release, taxon)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        db = jaspardb(release=rel)
        found = db.fetch_motifs(
            collection="CORE", all_versions=False, tax_group=None if taxon == "all" else [taxon]
        )
    out = [_matrix(m) for m in found]
    if not out:
        raise InputError(f"--taxon {taxon}: no CORE motifs in {rel}")
    return out
