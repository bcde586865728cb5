"""The README's three pictures, made by the tool itself: a motif logo, a pairs spacing plot and a
contact map.

    python benchmarks/tour_figures.py [--runs runs/tour] [--threads 2]

1. The README's set-up example (``data/example``, 8 epochs, seed 0): ``train`` then ``motifs``;
   the logo of the top motif.
2. A planted pair, as ``benchmarks/pairs.py --cases planted --spacings 9 --seeds 0`` makes it
   (GATA1 and TAL1::TCF3 at a 9 bp gap in 4,000 positives of 60 bp, other gaps in 4,000
   negatives, 20 epochs): the spacing plot of the top group of ``pairs.tsv``.
3. ``contacts`` on 1atzA (``../shared/data/contacts``) scored against its structure: the map.

The pictures go to ``docs/img/`` (tour_logo.png, tour_pairs_spacing.png, tour_contact_map.png);
each step prints what it copied. Steps whose data are missing are skipped with a note.
"""

from __future__ import annotations

import argparse
import csv
import shutil
import subprocess
import sys
from pathlib import Path

from _common import ROOT, SHARED_DATA

MHSA = [str(Path(sys.executable).with_name("mhsa-bio"))]
IMG = ROOT / "docs" / "img"


def run(args: list[str]) -> None:
    print("$", " ".join(args), flush=True)
    subprocess.run(args, check=True, cwd=ROOT)


def top_row(tsv: Path) -> dict[str, str]:
    with open(tsv) as handle:
        rows = [r for r in csv.DictReader((line for line in handle if not line.startswith("#")),
                                          delimiter="\t")]
    if not rows:
        raise SystemExit(f"{tsv}: no rows")
    return rows[0]


def copy(src: Path, name: str) -> None:
    IMG.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, IMG / name)
    print(f"{src} -> docs/img/{name}", flush=True)


def logo(runs: Path, threads: str) -> None:
    out = runs / "example"
    run(MHSA + ["train", "data/example/promoters.fa", "--negatives", "data/example/background.fa",
                "--out", str(out), "--epochs", "8", "--seed", "0", "--threads", threads, "--force"])
    run(MHSA + ["motifs", "--model", str(out / "model.pt"), "--out", str(out / "motifs"),
                "--threads", threads, "--force"])
    motif = top_row(out / "motifs" / "motifs.tsv")
    copy(out / "motifs" / "logos" / f"{motif['id']}.png", "tour_logo.png")


def spacing(runs: Path, threads: str) -> None:
    out = runs / "pairs"
    run([sys.executable, "benchmarks/pairs.py", "--cases", "planted", "--spacings", "9", "--seeds",
         "0", "--out", str(out), "--threads", threads])
    plots = sorted(out.rglob("spacing_01_*.png"))  # rank 1: the top group of pairs.tsv
    if not plots:
        raise SystemExit(f"{out}: no spacing plot (pairs reported no group)")
    copy(plots[0], "tour_pairs_spacing.png")


def contact_map(runs: Path, threads: str) -> None:
    fam = SHARED_DATA / "contacts" / "1atzA"
    if not fam.is_dir():
        print(f"skipped: {fam} is not here (the benchmarks read ../shared/data)")
        return
    out = runs / "contacts"
    run(MHSA + ["contacts", str(fam / "1atzA.fas"), "--query", "seq_2634", "--pdb",
                str(fam / "1atzA.pdb"), "--chain", "A", "--out", str(out), "--threads", threads,
                "--force"])
    copy(out / "contact_map.png", "tour_contact_map.png")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=Path, default=ROOT / "runs" / "tour")
    parser.add_argument("--threads", default="2")
    parser.add_argument("--steps", default="logo,spacing,contacts")
    args = parser.parse_args()
    steps = {"logo": logo, "spacing": spacing, "contacts": contact_map}
    for name in args.steps.split(","):
        steps[name](args.runs, args.threads)


if __name__ == "__main__":
    main()
