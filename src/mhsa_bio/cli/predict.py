"""``mhsa-bio predict``: score sequences with a trained model, TSV out."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from mhsa_bio.cli.common import command_context
from mhsa_bio.cli.options import Amp, BatchSize, Device, Force, Model, Threads, Verbose


def predict(
    fasta: Annotated[Path, typer.Argument(help="Sequences to score (FASTA/FASTA.gz, '-' = stdin); "
                                          "any length.")],
    model: Model,
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="TSV file to write (default: stdout).")] = None,
    batch_size: BatchSize = 128,
    amp: Amp = True,
    device: Device = "auto",
    threads: Threads = 0,
    force: Force = False,
    verbose: Verbose = 0,
) -> None:
    """Score every sequence: a TSV of id, length and the probability of each class.

    The first line is a '#' comment with the version, checkpoint and its sha256.
    """
    with command_context(verbose=verbose, threads=threads, device=device, out=output,
                         force=force, out_kind="file") as run:
        from mhsa_bio import __version__
        from mhsa_bio.checkpoint import load_model, sha256
        from mhsa_bio.io.fasta import read_fasta
        from mhsa_bio.io.outputs import atomic_open
        from mhsa_bio.predict import predict_proba

        dev = run.device
        net, ckpt = load_model(model, device=dev)
        records = read_fasta(fasta, min_length=net.config.stem_kernel)
        probs = predict_proba(net, records, device=dev, batch_size=batch_size, amp=amp)
        classes = ckpt["classes"]
        lines = [f"# mhsa-bio {__version__} predict --model {Path(model).resolve()} "
                 f"(sha256 {sha256(model)[:16]})\n",
                 "\t".join(["id", "length", *classes]) + "\n"]
        lines += ["\t".join([r.id, str(len(r.seq)), *(f"{p:.6f}" for p in row)]) + "\n"
                  for r, row in zip(records, probs)]
        if output is None:
            sys.stdout.writelines(lines)
        else:
            with atomic_open(run.out_dir()) as handle:
                handle.writelines(lines)
