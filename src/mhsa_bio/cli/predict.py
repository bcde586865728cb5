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
        from mhsa_bio import __version__
        from mhsa_bio.checkpoint import decision_threshold, load_model, sha256
        from mhsa_bio.errors import InputError
        from mhsa_bio.io.fasta import read_fasta
        from mhsa_bio.io.outputs import atomic_open
        from mhsa_bio.predict import predict_proba

        dev = run.device
        net, ckpt = load_model(model, device=dev)
        classes = ckpt["classes"]
        cut = decision_threshold(ckpt)
        if threshold is not None:
            if cut is None:
                raise InputError(
                    f"{model}: --threshold needs a two-class model; this one has "
                    f"{len(classes)} classes (the call is the most probable one)"
                )
            cut, source = threshold, "--threshold"
        else:
            source = (
                "stored in the checkpoint"
                if "decision_threshold" in ckpt
                else "none stored in the checkpoint: 0.5"
            )
        records = read_fasta(fasta, min_length=net.config.stem_kernel)
        probs = predict_proba(net, records, device=dev, batch_size=batch_size, amp=amp)
        calls = probs.argmax(1) if cut is None else (probs[:, 1] >= cut).astype(int)
        rule = (
            "call: most probable class"
            if cut is None
            else f"call: {classes[1]} if P({classes[1]}) >= {cut:.6g} ({source})"
        )
        lines = [
            f"# mhsa-bio {__version__} predict --model {Path(model).resolve()} "
            f"(sha256 {sha256(model)[:16]}); {rule}\n",
            "\t".join(["id", "length", *classes, "call"]) + "\n",
        ]
        lines += [
            "\t".join([r.id, str(len(r.seq)), *(f"{p:.6f}" for p in row), classes[c]]) + "\n"
            for r, row, c in zip(records, probs, calls)
        ]
        if output is None:
            sys.stdout.writelines(lines)
        else:
            with atomic_open(run.out_dir()) as handle:
                handle.writelines(lines)
