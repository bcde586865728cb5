"""Reusable ``Annotated`` option types shared by the commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

Seed = Annotated[int, typer.Option("--seed", help="Random seed; the same seed gives the same result.")]
Device = Annotated[
    str,
    typer.Option(
        "--device",
        help="auto (CUDA when present, else CPU), cpu, cuda or cuda:N.",
    ),
]
Threads = Annotated[
    int, typer.Option("--threads", min=0, help="CPU threads for torch (0 = torch's default).")
]
Verbose = Annotated[
    int, typer.Option("-v", "--verbose", count=True, help="More logging on stderr (-vv: debug).")
]
Force = Annotated[
    bool, typer.Option("--force", help="Replace an existing output folder or file.")
]
OutDir = Annotated[Path, typer.Option("--out", "-o", help="Output folder.")]
BatchSize = Annotated[int, typer.Option("--batch-size", min=1, help="Sequences per batch.")]
Amp = Annotated[bool, typer.Option(
    "--amp/--no-amp", help="Mixed precision on CUDA (bfloat16, else float16); no effect on CPU.")]
