"""The ``contacts`` command: residue contact maps from an MSA, a database search or a protein LM."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, get_args

import typer

from mhsa_bio.cli.common import command_context, console
from mhsa_bio.cli.options import (
    Device,
    Force,
    Gaps,
    ModelType,
    MsaFormat,
    OutDir,
    Seed,
    Threads,
    Verbose,
    choice,
)

_FORMATS = get_args(MsaFormat)


def contacts(
    alignment: Annotated[
        Path,
        typer.Argument(
            help="An MSA (aligned FASTA, a3m, a2m, Stockholm, Clustal, PSICOV .aln), or a FASTA of "
            "one protein sequence together with --database or --model."
        ),
    ],
    out: OutDir = Path("contacts"),
    fmt: Annotated[
        MsaFormat,
        choice(
            "--format",
            MsaFormat,
            expected=f"one of {', '.join(_FORMATS)}",
            help=f"MSA format: {', '.join(_FORMATS)}.",
        ),
    ] = "auto",
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
        ModelType,
        choice("--model-type", ModelType, help="factored (factored attention) or potts (plmDCA-like)."),
    ] = "factored",
    gaps: Annotated[
        Gaps | None,
        choice(
            "--gaps",
            Gaps,
            help="ignore: gaps take no part in the couplings and are not predicted (default for "
            "factored); model: the gap is a 21st state (default for potts).",
        ),
    ] = None,
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
        int | None,
        typer.Option(
            "--heads",
            min=1,
            help="Attention heads (default: from L and Neff: 128; 256 for 200 < L <= 300 or an "
            "alignment with Neff >= 20 L; 32 for L > 300 or Neff < 50).",
        ),
    ] = None,
    steps: Annotated[
        int | None,
        typer.Option(
            "--steps",
            min=1,
            help="Most optimiser steps (default: factored 400, 800 for an alignment with Neff >= "
            "20 L at L <= 300; potts 60).",
        ),
    ] = None,
    lr: Annotated[
        float | None,
        typer.Option("--lr", min=0.0, help="Adam's peak learning rate, decayed linearly (default 0.05)."),
    ] = None,
    batch_size: Annotated[
        int | None,
        typer.Option(
            "--batch-size",
            min=1,
            help="Sequences per step (factored; default: every distinct row up to 1,024 of them, else 512).",
        ),
    ] = None,
    l2: Annotated[
        float | None,
        typer.Option(
            "--l2",
            min=0.0,
            help="L2 on the couplings (default: factored 0.4(L-1), 0.1(L-1) for 200 < L <= 300; "
            "potts 0.2(L-1)).",
        ),
    ] = None,
    bfloat16: Annotated[
        bool | None,
        typer.Option(
            "--bfloat16/--float32",
            help="Factored attention's couplings in bfloat16 or float32 (default: bfloat16 for "
            "200 < L <= 300 on a CPU with native bfloat16, else float32).",
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
            help="Call every pair whose contact probability (Cb < 8 A; calibrated on benchmark families, "
            "a guide) is >= this a contact, instead of the top L.",
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
    params = {
        ("format" if k == "fmt" else k): (str(v) if isinstance(v, Path) else v)
        for k, v in locals().items()
        if k not in ("out", "verbose", "force")
    }
    with command_context(
        verbose=verbose, threads=threads, device=device, seed=seed, out=out, force=force
    ) as run:
        from mhsa_bio.contacts.fit import FitConfig
        from mhsa_bio.contacts.run import check_inputs, run_contacts

        check_inputs(alignment, pdb=pdb, database=database, model=model, lr=lr, top=top, threshold=threshold)
        params["device"] = str(run.device)
        config = FitConfig(
            model_type=model_type,
            heads=heads,
            steps=steps,
            lr=lr,
            batch_size=batch_size,
            l2=l2,
            bfloat16=bfloat16,
            gaps=gaps,
        )
        out_dir = run.out_dir()
        with console.status("fitting", spinner="dots") as status:
            result = run_contacts(
                alignment,
                out_dir,
                config=config,
                top=top,
                threshold=threshold,
                min_separation=min_separation,
                params=params,
                pdb=pdb,
                database=database,
                model=model,
                fmt=fmt,
                query=query,
                identity=identity,
                chain=chain,
                search_options={"iterations": iterations, "evalue": evalue, "max_sequences": max_sequences},
                device=str(run.device),
                seed=seed,
                progress=_progress(status),
            )
        line = f"{len(result.query)} residues, {result.method}; wrote {out}/"
        if result.metrics is not None:
            long = result.metrics["precision"]["long"]
            line += f"  long-range P@L {long['P@L']:.2f}  P@L/5 {long['P@L/5']:.2f}"
        console.print(line, highlight=False)


def _progress(status: Any) -> Any:
    """The fit's progress callback: step and loss on the status line every 10 steps."""

    def progress(step: int, total: int, loss: float) -> None:
        if step % 10 == 0 or step == total:
            status.update(f"step {step}/{total}  loss {loss:.3f}")

    return progress
