"""``mhsa-bio predict``: score sequences with a trained model, TSV out."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from mhsa_bio.cli.common import command_context
from mhsa_bio.cli.options import Amp, BatchSize, Device, Force, Model, Threads, Verbose


def predict(
    fasta: Annotated[
        Path, typer.Argument(help="Sequences to score (FASTA/FASTA.gz, '-' = stdin); any length.")
    ],
    model: Model,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="TSV file to write (default: stdout).")
    ] = None,
    threshold: Annotated[
        float | None,
        typer.Option(
            "--threshold",
            min=0.0,
            max=1.0,
            help="Call a sequence positive when its probability of "
            "the positive class is at least this (two-class models). Default: the threshold stored "
            "in the checkpoint by train (the one with the highest validation MCC; 0.5 for "
            "checkpoints that store none).",
            show_default=False,
        ),
    ] = None,
    batch_size: BatchSize = 128,
    amp: Amp = True,
    device: Device = "auto",
    threads: Threads = 0,
    force: Force = False,
    verbose: Verbose = 0,
) -> None:
    """Score every sequence: a TSV of id, length, the probability of each class and the call.

    The call of a two-class model is the positive class when its probability is at least the
    decision threshold (the checkpoint's, or --threshold), else the background class; with more
    classes, the most probable class. The first line is a '#' comment with the version,
    checkpoint, its sha256 and the threshold used.
    """
    with command_context(
        verbose=verbose, threads=threads, device=device, out=output, force=force, out_kind="file"
    ) as run:
        from mhsa_bio.io.outputs import atomic_open
        from mhsa_bio.predict import prediction_table

        lines = prediction_table(
            model, fasta, device=run.device, batch_size=batch_size, amp=amp, threshold=threshold
        )
        if output is None:
            sys.stdout.writelines(lines)
        else:
            with atomic_open(run.out_dir()) as handle:
                handle.writelines(lines)
