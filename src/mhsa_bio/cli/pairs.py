"""``mhsa-bio pairs``: co-attended TF motif pairs of a trained model."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from mhsa_bio.cli.common import command_context, console
from mhsa_bio.cli.options import (
    BatchSize,
    Device,
    Force,
    NullBackground,
    OutDir,
    Seed,
    Threads,
    Verbose,
    choice,
)


def pairs(
    model: Annotated[Path, typer.Option("--model", "-m", help="Trained checkpoint (model.pt).")],
    motifs: Annotated[
        Path,
        typer.Option(
            "--motifs",
            help="MEME motif file, or a 'mhsa-bio motifs' output folder (its "
            "motifs.meme; its report.html gets a pairs section). Motif order sets the A/B order "
            "of pairs.",
        ),
    ],
    out: OutDir = Path("runs/pairs"),
    sequences: Annotated[
        Path | None,
        typer.Option(
            "--sequences",
            help="Sequences to analyse (FASTA). Default: the training FASTA recorded in the checkpoint.",
        ),
    ] = None,
    background: Annotated[
        Path | None,
        typer.Option(
            "--background",
            help="Background for the plain co-occurrence baseline (FASTA). Default: "
            "the checkpoint's training negatives, else dinucleotide shuffles of the sequences.",
        ),
    ] = None,
    pvalue: Annotated[
        float,
        typer.Option(
            "--pvalue",
            help="Site threshold: exact PWM score p-value vs the sequences' base composition (as FIMO).",
        ),
    ] = 1e-4,
    null_copies: Annotated[
        int,
        typer.Option("--null-copies", min=1, help="Null copies (sites moved to random places) per sequence."),
    ] = 8,
    min_sequences: Annotated[
        int,
        typer.Option(
            "--min-sequences",
            min=2,
            help="Groups (A, B, spacing, orientation) in fewer sequences are not tested.",
        ),
    ] = 10,
    null_neighbours: Annotated[
        int,
        typer.Option(
            "--null-neighbours",
            min=10,
            help="Each group is tested against this many null pairs of "
            "the same two motifs and orientation, nearest to its spacing ...",
        ),
    ] = 100,
    null_exclude: Annotated[
        float,
        typer.Option(
            "--null-exclude",
            min=0.0,
            help="... but more than this many bp away from it (the null "
            "never holds the group's own arrangement).",
        ),
    ] = 2.0,
    strand_symmetric: Annotated[
        bool,
        typer.Option(
            "--strand-symmetric",
            help="Merge a pair with its reverse complement (unstranded data "
            "such as ChIP-seq); orientations become ++ (same strand) and +- (opposite).",
        ),
    ] = False,
    null_background: Annotated[
        NullBackground,
        choice(
            "--null-background",
            NullBackground,
            expected="shuffled or kept",
            help="Background of the null copies: 'kept' (the sequence's own "
            "background in order; only the sites move) or 'shuffled' (dinucleotide shuffle, as "
            "SATORI; not calibrated, for comparison only).",
        ),
    ] = "kept",
    split_composites: Annotated[
        bool,
        typer.Option(
            "--split-composites/--no-split-composites",
            help="Read a composite motif (two sites at a fixed spacing found as one matrix, "
            "e.g. FOS::JUN, 3 uninformative columns, FOXA2) as the pair it is: split it at its "
            "internal run of uninformative columns (< 0.5 bits) into two parts <id>.a/<id>.b, "
            "each >= 5 columns, and test the parts like any two motifs, in place of the whole. "
            "Not split: matrices whose two halves are alike (palindromes such as ESR1, direct "
            "repeats), parts that cannot reach --pvalue. Split motifs are logged and listed in "
            "summary.json/run.json; the parts are written to OUT/parts.meme.",
        ),
    ] = True,
    split_gap: Annotated[
        int,
        typer.Option(
            "--split-gap",
            min=1,
            help="The shortest run of uninformative columns that splits a composite motif.",
        ),
    ] = 2,
    max_sequences: Annotated[
        int,
        typer.Option(
            "--max-sequences", min=0, help="Analyse a seeded random subset of this many sequences (0 = all)."
        ),
    ] = 0,
    top_plots: Annotated[
        int, typer.Option("--top-plots", min=0, help="Spacing plots for this many top pairs.")
    ] = 5,
    batch_size: BatchSize = 64,
    seed: Seed = 0,
    device: Device = "auto",
    threads: Threads = 0,
    force: Force = False,
    verbose: Verbose = 0,
) -> None:
    """Find motif pairs that the attention heads connect, at which spacing and orientation.

    Writes OUT/pairs.tsv (one row per (A, B, spacing, orientation) group: co-attention vs a
    null of the same sites moved to random places and strands, Mann-Whitney U p, BH q, top
    heads, plain co-occurrence enrichment vs background), OUT/sites.tsv, OUT/spacing_*.png,
    OUT/summary.json, OUT/run.json and, when a composite motif was split, OUT/parts.meme.
    When --motifs is a 'mhsa-bio motifs' folder with report.html, a pairs section (top pairs,
    spacing plots) is put into that report (replaced on re-runs).
    """
    params = {k: (str(v) if isinstance(v, Path) else v) for k, v in locals().items()}
    with command_context(
        verbose=verbose, threads=threads, device=device, seed=seed, out=out, force=force
    ) as run:
        from mhsa_bio.pairs.run import PairInputs, PairParams, prepare, run_pairs

        inputs = PairInputs(model=model, motifs=motifs, sequences=sequences, background=background)
        settings = PairParams(
            pvalue=pvalue,
            null_copies=null_copies,
            min_sequences=min_sequences,
            null_neighbours=null_neighbours,
            null_exclude=null_exclude,
            strand_symmetric=strand_symmetric,
            null_background=null_background,
            split_composites=split_composites,
            split_gap=split_gap,
            max_sequences=max_sequences,
            top_plots=top_plots,
            batch_size=batch_size,
            seed=seed,
        )
        prep = prepare(inputs, settings, device=run.device)  # validates everything first
        done = run_pairs(
            prep, run.out_dir(), inputs=inputs, params=settings, device=run.device, out=out, cli_params=params
        )
        if done.report is not None:
            run.after_commit(lambda: _add_section(motifs, done))
        _print_summary(done.result)
        console.print(f"wrote {out / 'pairs.tsv'}")


def _add_section(motifs: Path, done: Any) -> None:
    """Put the pairs section into the motifs report (only once pairs' own outputs are in place)."""
    from mhsa_bio.pairs.report import update_motifs_report

    update_motifs_report(motifs, done.section)
    console.print(f"added a pairs section to {done.report}")


def _print_summary(result: Any) -> None:
    summary = result.summary
    for split in result.splits:
        console.print(f"split composite motif {split.name}: {split.describe()}")
    console.print(
        f"{summary['groups_tested']} pair groups tested: "
        f"{summary['coattended_q05']} co-attended at q < 0.05, "
        f"{summary['significant_q05']} of them at a fixed spacing"
    )
    for _, top in result.table.head(3).iterrows():
        console.print(
            f"  {top['name_a']} – {top['name_b']} spacing {top['spacing']:g} "
            f"{top['orientation']} in {top['n_sequences']} sequences: log2 "
            f"co-attention/null {top['log2_ratio']:.2f}, q co-attended "
            f"{top['q_null']:.2g}, q spacing {top['q']:.2g}"
        )
