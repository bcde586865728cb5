"""``mhsa-bio simulate``: write a simulated promoter set with planted JASPAR motifs."""

from __future__ import annotations

from typing import Annotated

import typer

from mhsa_bio.cli.common import command_context, console
from mhsa_bio.cli.options import Force, OutDir, Seed, Verbose


def simulate(
    out: OutDir,
    n: Annotated[int, typer.Option("--n", help="Number of positive sequences.")] = 2000,
    length: Annotated[int, typer.Option("--length", help="Length of every sequence (bp).")] = 300,
    motifs: Annotated[
        str | None,
        typer.Option(
            "--motifs",
            help="Comma-separated JASPAR matrix ids to plant (default: MA0035.4,MA0091.1, "
            "i.e. GATA1 and TAL1::TCF3).",
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
        typer.Option(
            "--n-negatives", help="Number of negatives (default: --n).", show_default=False
        ),
    ] = None,
    jaspar_release: Annotated[
        str, typer.Option("--jaspar-release", help="JASPAR release shipped with pyjaspar.")
    ] = "2024",
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
        from mhsa_bio.errors import InputError
        from mhsa_bio.io.fasta import write_fasta
        from mhsa_bio.io.outputs import atomic_open, write_run_json
        from mhsa_bio.simulate import DEFAULT_MOTIFS, load_jaspar_motifs, sites_table
        from mhsa_bio.simulate import simulate as run_simulation

        pair_motifs = None
        if pair is not None:
            if motifs is not None:
                raise InputError("--pair replaces --motifs; give one of them")
            pair_ids = [p.strip() for p in pair.split(",") if p.strip()]
            if len(pair_ids) != 2:
                raise InputError(f"--pair: '{pair}' is not two motif ids MOTIF_A,MOTIF_B")
            a, b = load_jaspar_motifs(pair_ids, release=jaspar_release)
            pair_motifs = (a, b)
            pwms = []
        else:
            ids = DEFAULT_MOTIFS if motifs is None else [m for m in motifs.split(",") if m.strip()]
            pwms = load_jaspar_motifs(ids, release=jaspar_release)
        result = run_simulation(
            pwms,
            n=n,
            length=length,
            positions=positions,
            pair=pair_motifs,
            spacing=spacing,
            orientation=orientation,
            pair_negatives=pair_negatives,
            gc=gc,
            p_site=p_site,
            n_negatives=n_negatives,
            seed=seed,
        )
        out_dir = run.out_dir()
        with atomic_open(out_dir / "promoters.fa") as handle:
            write_fasta(handle, result.positives)
        with atomic_open(out_dir / "background.fa") as handle:
            write_fasta(handle, result.negatives)
        with atomic_open(out_dir / "truth.tsv") as handle:
            handle.write(sites_table(result.truth))
        params = {
            "n": n,
            "length": length,
            "n_negatives": len(result.negatives),
            "motifs": [p.id for p in (pair_motifs or pwms)],
            "motif_names": [p.name for p in (pair_motifs or pwms)],
            "positions": positions,
            "pair": pair is not None,
            "spacing": spacing,
            "orientation": orientation,
            "pair_negatives": pair_negatives,
            "gc": gc,
            "p_site": p_site,
            "jaspar_release": jaspar_release,
            "seed": seed,
        }
        write_run_json(out_dir, "simulate", params)
        console.print(
            f"wrote {len(result.positives)} positives, {len(result.negatives)} negatives and "
            f"{len(result.truth)} planted sites to {run.out}",
            highlight=False,
        )
