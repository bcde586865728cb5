"""``mhsa-bio simulate``: write a simulated promoter set with planted JASPAR motifs."""

from __future__ import annotations

from typing import Annotated

import typer

from mhsa_bio.cli.common import command_context, console
from mhsa_bio.cli.options import Force, JasparRelease, OutDir, Seed, Verbose


def simulate(
    out: OutDir,
    n: Annotated[int, typer.Option("--n", help="Number of positive sequences.")] = 2000,
    length: Annotated[int, typer.Option("--length", help="Length of every sequence (bp).")] = 300,
    motifs: Annotated[
        str | None,
        typer.Option(
            "--motifs",
            help="Comma-separated JASPAR matrix ids to plant (default: MA0035,MA0091, "
            "GATA1 and TAL1::TCF3, their latest versions in --jaspar-release).",
            show_default=False,
        ),
    ] = None,
    positions: Annotated[
        str,
        typer.Option(
            "--positions",
            help="Where sites go: random, center, or a 0-based start; one value for all motifs "
            "or one per motif (comma-separated).",
        ),
    ] = "random",
    pair: Annotated[
        str | None,
        typer.Option(
            "--pair",
            help="MOTIF_A,MOTIF_B: positives hold both at a fixed spacing and orientation, "
            "negatives hold both at random ones (replaces --motifs).",
        ),
    ] = None,
    spacing: Annotated[
        int, typer.Option("--spacing", help="With --pair: bases between the end of A and B.")
    ] = 9,
    orientation: Annotated[
        str, typer.Option("--orientation", help="With --pair: strands of A and B (++ +- -+ --).")
    ] = "++",
    pair_negatives: Annotated[
        str,
        typer.Option(
            "--pair-negatives",
            help="With --pair: 'random' negatives hold A and B at random places and strands; "
            "'spacing' negatives hold A upstream of B on the positives' strands at any other "
            "gap, so only the spacing separates the classes.",
        ),
    ] = "random",
    gc: Annotated[float, typer.Option("--gc", help="G+C fraction of the background.")] = 0.42,
    p_site: Annotated[
        float,
        typer.Option(
            "--p-site",
            help="Chance that each motif is in a positive (a positive with none is redrawn).",
        ),
    ] = 0.8,
    n_negatives: Annotated[
        int | None,
        typer.Option("--n-negatives", help="Number of negatives (default: --n).", show_default=False),
    ] = None,
    jaspar_release: JasparRelease = "2024",
    seed: Seed = 0,
    force: Force = False,
    verbose: Verbose = 0,
) -> None:
    """Simulate positives (background with JASPAR motifs planted) and background negatives.

    Writes OUT/promoters.fa, OUT/background.fa, OUT/run.json
    and OUT/truth.tsv (the planted sites: 0-based start, end exclusive).
    The same options and seed give the same files.
    """
    with command_context(verbose=verbose, out=out, force=force) as run:
        from mhsa_bio.simulate import simulate_named, write_simulated

        result, params = simulate_named(
            motifs=motifs,
            pair=pair,
            jaspar_release=jaspar_release,
            n=n,
            length=length,
            positions=positions,
            spacing=spacing,
            orientation=orientation,
            pair_negatives=pair_negatives,
            gc=gc,
            p_site=p_site,
            n_negatives=n_negatives,
            seed=seed,
        )
        write_simulated(run.out_dir(), result, params)
        console.print(
            f"wrote {len(result.positives)} positives, {len(result.negatives)} negatives and "
            f"{len(result.truth)} planted sites to {run.out}",
            highlight=False,
        )
