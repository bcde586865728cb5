"""Writing the pairs results: ``pairs.tsv`` and ``sites.tsv``."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from mhsa_bio.io.fasta import Record
from mhsa_bio.io.outputs import atomic_open
from mhsa_bio.pairs.find import PairResult
from mhsa_bio.pairs.groups import COLUMNS
from mhsa_bio.pwm import ScoredMotif

__all__ = ["write_pairs_tsv", "write_sites_tsv"]


def _fmt(value: object) -> str:
    if isinstance(value, float | np.floating):
        if np.isnan(value):
            return "NA"
        return f"{value:.4g}"
    return str(value)


def write_pairs_tsv(result: PairResult, path: str | os.PathLike[str]) -> None:
    """``pairs.tsv``: one line per tested group, best first; columns ``COLUMNS``."""
    with atomic_open(path) as handle:
        handle.write("\t".join(COLUMNS) + "\n")
        for row in result.table[COLUMNS].itertuples(index=False):
            handle.write("\t".join(_fmt(v) for v in row) + "\n")


def write_sites_tsv(
    result: PairResult, records: Sequence[Record], motifs: Sequence[ScoredMotif], path: str | os.PathLike[str]
) -> None:
    """``sites.tsv``: the sites scanned in the analysed sequences (0-based, end exclusive)."""
    with atomic_open(path) as handle:
        handle.write("sequence\tmotif\tname\tstart\tend\tstrand\tscore_bits\tp\n")
        for h in result.hits:
            m = motifs[h.motif].motif
            handle.write(
                f"{records[h.seq].id}\t{m.id}\t{m.name or m.id}\t{h.start}\t{h.end}\t"
                f"{h.strand}\t{h.score:.2f}\t{h.pvalue:.3g}\n"
            )
