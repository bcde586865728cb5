"""BED6 (plus extra columns) output for motif sites, in sequence or genome coordinates."""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import NamedTuple

from mhsa_bio.io.outputs import atomic_open


class BedRecord(NamedTuple):
    """One BED6 line: 0-based half-open [start, end) on ``chrom``; ``extra`` columns follow."""

    chrom: str
    start: int
    end: int
    name: str
    score: float
    strand: str
    extra: tuple[str, ...] = ()


def to_genome(
    start: int, end: int, strand: str, *, region_start: int, region_end: int, region_strand: str
) -> tuple[int, int, str]:
    """Map [start, end) of a region's sequence (read on ``region_strand``) to genome coordinates.

    On a − region, base 0 of the sequence is the region's last genome base, and the site's
    strand flips.
    """
    if region_strand == "-":
        flipped = {"+": "-", "-": "+"}.get(strand, strand)
        return region_end - end, region_end - start, flipped
    return region_start + start, region_start + end, strand


def write_bed(path: str | os.PathLike[str], records: Iterable[BedRecord]) -> None:
    """Write BED6 (+ each record's extra columns) atomically (score with 4 significant
    digits)."""
    with atomic_open(path) as out:
        for r in records:
            tail = "".join(f"\t{x}" for x in r.extra)
            out.write(f"{r.chrom}\t{r.start}\t{r.end}\t{r.name}\t{r.score:.4g}\t{r.strand}{tail}\n")
