"""The ``contacts`` command: residue contact maps from an MSA, a database search or a protein LM."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mhsa_bio.cli.common import command_context, console
from mhsa_bio.cli.options import Device, Force, OutDir, Seed, Threads, Verbose

_FORMATS = ("auto", "fasta", "a3m", "a2m", "stockholm", "clustal", "aln")


def contacts(
    alignment: Annotated[
        Path,
        typer.Argument(
            help="An MSA (aligned FASTA, a3m, a2m, Stockholm, Clustal, PSICOV .aln), or a FASTA of "
            "one protein sequence together with --database or --model."
        ),
    ],
    out: OutDir = Path("contacts"),
    fmt: Annotated[str, typer.Option("--format", help=f"MSA format: {', '.join(_FORMATS)}.")] = "auto",
    query: Annotated[
        str | None, typer.Option("--query", help="Id of the query row (default: the first row).")
    ] = None,
    pdb: Annotated[
        Path | None,
        typer.Option("--pdb", help="A structure (PDB or mmCIF) of the query, to measure precision."),
    ] = None,
    chain: Annotated[
        str | None, typer.Option("--chain", help="Chain of --pdb (needed when it has several).")
    ] = None,
    model_type: Annotated[
        str, typer.Option("--model-type", help="factored (factored attention) or potts (plmDCA-like).")
    ] = "factored",
    identity: Annotated[
        float,
        typer.Option(
            "--identity",
            min=0.0,
            max=1.0,
            help="Sequence weights: 1 / (number of sequences at >= this identity).",
        ),
    ] = 0.8,
    heads: Annotated[
        int | None, typer.Option("--heads", min=1, help="Attention heads (default: from L and Neff).")
    ] = None,
    steps: Annotated[
        int | None,
        typer.Option("--steps", min=1, help="Most optimiser steps (default 400 factored, 60 potts)."),
    ] = None,
    lr: Annotated[
        float | None,
        typer.Option("--lr", min=0.0, help="Adam's peak learning rate, decayed linearly (default 0.05)."),
    ] = None,
    batch_size: Annotated[
        int | None, typer.Option("--batch-size", min=1, help="Sequences per step (factored; default 512).")
    ] = None,
    l2: Annotated[
        float | None,
        typer.Option(
            "--l2", min=0.0, help="L2 on the couplings (default 0.4(L-1) factored, 0.2(L-1) potts)."
        ),
    ] = None,
    top: Annotated[
        int | None,
        typer.Option(
            "--top", min=1, help="Pairs called contacts in the binary map (default: L, the query length)."
        ),
    ] = None,
    threshold: Annotated[
        float | None,
        typer.Option(
            "--threshold",
            min=0.0,
            max=1.0,
            help="Call every pair with probability >= this a contact, instead of the top L.",
        ),
    ] = None,
    min_separation: Annotated[
        int,
        typer.Option("--min-separation", min=1, help="Binary map: only pairs with |i - j| >= this."),
    ] = 6,
    database: Annotated[
        Path | None,
        typer.Option("--database", help="Protein FASTA to search with jackhmmer (one-sequence input)."),
    ] = None,
    iterations: Annotated[int, typer.Option("--iterations", min=1, help="jackhmmer iterations.")] = 3,
    evalue: Annotated[float, typer.Option("--evalue", min=0.0, help="jackhmmer inclusion E-value.")] = 1e-3,
    max_sequences: Annotated[
        int, typer.Option("--max-sequences", min=1, help="Most jackhmmer hits kept in the MSA.")
    ] = 10000,
    model: Annotated[
        Path | None,
        typer.Option("--model", help="Local ESM-2 checkpoint (.pt, needs fair-esm) for one sequence."),
    ] = None,
    seed: Seed = 0,
    device: Device = "auto",
    threads: Threads = 0,
    verbose: Verbose = 0,
    force: Force = False,
) -> None:
    """Predict residue-residue contacts and, with --pdb, measure them against the structure."""
    with command_context(verbose=verbose, threads=threads, device=device, seed=seed, out=out,
                         force=force) as run:
        from mhsa_bio.contacts.fit import FitConfig
        from mhsa_bio.contacts.run import predict_contacts
        from mhsa_bio.contacts.writers import write_outputs
        from mhsa_bio.errors import InputError
        from mhsa_bio.io.outputs import write_run_json

        for label, path in (
            ("input", alignment),
            ("--pdb", pdb),
            ("--database", database),
            ("--model", model),
        ):
            if path is not None and not Path(path).is_file():
                raise InputError(f"{path}: no such file ({label})")
        if fmt not in _FORMATS:
            raise InputError(f"--format {fmt}: expected one of {', '.join(_FORMATS)}")
        if model_type not in ("factored", "potts"):
            raise InputError(f"--model-type {model_type}: expected factored or potts")
        if lr is not None and not 0 < lr < float("inf"):  # also NaN
            raise InputError(f"--lr {lr}: must be a positive number")
        if top is not None and threshold is not None:
            raise InputError("--top and --threshold: give one (the top pairs, or a probability cut-off)")
        dev = run.device
        params = {
            "alignment": str(alignment),
            "format": fmt,
            "query": query,
            "pdb": str(pdb) if pdb else None,
            "chain": chain,
            "model_type": model_type,
            "identity": identity,
            "heads": heads,
            "steps": steps,
            "lr": lr,
            "batch_size": batch_size,
            "l2": l2,
            "top": top,
            "threshold": threshold,
            "min_separation": min_separation,
            "database": str(database) if database else None,
            "iterations": iterations,
            "evalue": evalue,
            "max_sequences": max_sequences,
            "model": str(model) if model else None,
            "seed": seed,
            "device": str(dev),
            "threads": threads,
        }
        config = FitConfig(
            model_type=model_type, heads=heads, steps=steps, lr=lr, batch_size=batch_size, l2=l2
        )
        out_dir = run.out_dir()
        with console.status("fitting", spinner="dots") as status:

            def progress(step: int, total: int, loss: float) -> None:
                if step % 10 == 0 or step == total:
                    status.update(f"step {step}/{total}  loss {loss:.3f}")

            result = predict_contacts(
                alignment,
                fmt=fmt,
                query=query,
                config=config,
                identity=identity,
                database=database,
                search_options={
                    "iterations": iterations,
                    "evalue": evalue,
                    "max_sequences": max_sequences,
                },
                model=model,
                pdb=str(pdb) if pdb else None,
                chain=chain,
                device=str(dev),
                seed=seed,
                work_dir=out_dir,
                progress=progress,
            )
        written = write_outputs(
            out_dir, result, top=top, threshold=threshold, min_separation=min_separation
        )
        write_run_json(out_dir, "contacts", params, result=result.info, outputs=written)
        line = f"{len(result.query)} residues, {result.method}; wrote {out}/"
        if result.metrics is not None:
            long = result.metrics["precision"]["long"]
            line += f"  long-range P@L {long['P@L']:.2f}  P@L/5 {long['P@L/5']:.2f}"
        console.print(line, highlight=False)
