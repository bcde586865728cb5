"""What ``pairs --split-composites`` would split among single JASPAR matrices: each matrix of
JASPAR 2024 CORE vertebrates is one TF (or one dimer), so every split there is a matrix read as
two parts that a user did not ask for. Prints, per ``--split-gap`` and ``--pvalue``, how many
matrices split and which, and how many had a gap but were kept whole because their halves are
alike (palindromes, direct repeats) or a part cannot reach the site threshold.

    python benchmarks/composite_split.py [--gaps 1,2,3] [--pvalues 1e-4,1e-3]

A uniform background; no model, seconds of CPU.
"""

from __future__ import annotations

import argparse
import logging

import numpy as np
from _common import shared

from mhsa_bio.io.meme import read_meme
from mhsa_bio.pairs.composite import split_motifs, split_point


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--gaps", default="1,2,3")
    ap.add_argument("--pvalues", default="1e-4,1e-3")
    args = ap.parse_args()
    logging.disable(logging.INFO)
    jaspar = read_meme(shared("motifs", "JASPAR2024_CORE_vertebrates_latest.meme"))
    uniform = np.full(4, 0.25)
    print(f"{len(jaspar)} JASPAR 2024 CORE vertebrate matrices")
    for gap in (int(g) for g in args.gaps.split(",")):
        with_gap = [m for m in jaspar if split_point(m.probs, min_gap=gap) is not None]
        for pvalue in (float(p) for p in args.pvalues.split(",")):
            _, splits = split_motifs(jaspar, min_gap=gap, background=uniform, pvalue=pvalue)
            names = ", ".join(
                f"{s.name} {s.motif} [{'|'.join(f'{a + 1}-{b}' for a, b in s.columns)}]" for s in splits)
            print(f"--split-gap {gap} --pvalue {pvalue:g}: {len(with_gap)} with a gap, "
                  f"{len(splits)} split{': ' + names if names else ''}")


if __name__ == "__main__":
    main()
