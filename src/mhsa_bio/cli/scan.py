"""``mhsa-bio scan``: slide a trained promoter model along chromosomes; bedGraph + BED out."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mhsa_bio.cli.common import command_context, console, progress_bar
from mhsa_bio.cli.options import (
    Amp,
    BatchSize,
    Device,
    Force,
    Model,
    OutDir,
    Seed,
    Strand,
    Threads,
    Verbose,
    choice,
)


def scan(
    genome: Annotated[
        Path,
        typer.Argument(
            help="Genome or long sequences: FASTA (one or many records) or bgzip FASTA, indexed "
            "with pyfaidx (a .fai is written beside it when missing)."
        ),
    ],
    model: Model,
    out: OutDir = Path("runs/scan"),
    window: Annotated[
        int | None,
        typer.Option(
            "--window",
            min=1,
            help="Window length in bp (default: the model's max_len, the training length).",
            show_default=False,
        ),
    ] = None,
    step: Annotated[
        int | None,
        typer.Option(
            "--step", min=1, help="bp between window starts (default: window / 4).", show_default=False
        ),
    ] = None,
    threshold: Annotated[
        float, typer.Option("--threshold", help="Call windows whose probability is at least this.")
    ] = 0.9,
    strand: Annotated[
        Strand,
        choice("--strand", Strand, help="Strands to scan: both, + or - (- scores the reverse complement)."),
    ] = "both",
    chrom: Annotated[
        str | None,
        typer.Option(
            "--chrom", help="Comma-separated chromosomes to scan (default: all).", show_default=False
        ),
    ] = None,
    class_name: Annotated[
        str | None,
        typer.Option(
            "--class",
            help="Class whose probability is the score (default: 'positive', else the last class).",
            show_default=False,
        ),
    ] = None,
    batch_size: BatchSize = 256,
    amp: Amp = True,
    seed: Seed = 0,
    device: Device = "auto",
    threads: Threads = 0,
    force: Force = False,
    verbose: Verbose = 0,
) -> None:
    """Scan chromosomes with a promoter model, both strands, in bounded memory.

    Writes OUT/scores.bedGraph (per-window probability, the maximum of the strands, in the bin
    nearest each window's centre), OUT/promoters.bed (windows at or above --threshold merged per
    strand: BED6 + max probability + windows) and run.json. Windows made only of N are skipped.
    """
    params = {k: (str(v) if isinstance(v, Path) else v) for k, v in locals().items()}
    with command_context(
        verbose=verbose, threads=threads, device=device, seed=seed, out=out, force=force
    ) as run:
        from mhsa_bio.genome_scan import plan_scan

        plan = plan_scan(
            model,
            genome,
            device=run.device,
            window=window,
            step=step,
            threshold=threshold,
            strand=strand,
            class_name=class_name,
            chrom=chrom,
            batch_size=batch_size,
            amp=amp,
        )  # validates everything first
        summary = _scan_with_progress(plan, genome, run.out_dir(), model, run.device, params)
        console.print(
            f"scanned {summary.bases:,} bp ({summary.windows:,} windows, "
            f"{summary.skipped:,} all-N skipped): {summary.promoters} promoters above "
            f"{threshold}"
        )
        console.print(f"wrote {out / 'promoters.bed'} and {out / 'scores.bedGraph'}")


def _scan_with_progress(plan, genome, out, model, dev, params):
    from rich.progress import BarColumn, TextColumn, TimeElapsedColumn

    from mhsa_bio.genome_scan import run_scan

    with progress_bar(
        TextColumn("{task.fields[chrom]}", style="bold", markup=False),
        BarColumn(),
        TextColumn("{task.completed:,}/{task.total:,} bp"),
        TimeElapsedColumn(),
    ) as progress:
        task = progress.add_task("scan", total=None, chrom="")

        def on_chunk(name: str, done: int, length: int) -> None:
            progress.update(task, chrom=name, completed=done, total=length)

        return run_scan(plan, genome, out, model_path=model, device=dev, params=params, on_chunk=on_chunk)
