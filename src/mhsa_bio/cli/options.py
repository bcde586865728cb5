"""Reusable ``Annotated`` option types shared by the commands, and the choice options.

Torch-free (``mhsa-bio --help`` imports it). A choice option's type is a ``Literal``: ``--help``
lists its values and a value outside them stops the command before it starts, with the one-line
message that names the option and the values.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

import typer

from mhsa_bio.errors import InputError

Seed = Annotated[int, typer.Option("--seed", help="Random seed; the same seed gives the same result.")]
Device = Annotated[
    str,
    typer.Option(
        "--device",
        metavar="<auto|cpu|cuda[:N]>",
        help="auto (CUDA when present, else CPU), cpu, cuda or cuda:N.",
    ),
]
Threads = Annotated[
    int, typer.Option("--threads", min=0, help="CPU threads for torch (0 = torch's default).")
]
Verbose = Annotated[
    int, typer.Option("-v", "--verbose", count=True, help="More logging on stderr (-vv: debug).")
]
Force = Annotated[bool, typer.Option("--force", help="Replace an existing output folder or file.")]
OutDir = Annotated[Path, typer.Option("--out", "-o", help="Output folder.")]
BatchSize = Annotated[int, typer.Option("--batch-size", min=1, help="Sequences per batch.")]
Amp = Annotated[
    bool,
    typer.Option(
        "--amp/--no-amp", help="Mixed precision on CUDA (bfloat16, else float16); no effect on CPU."
    ),
]
Model = Annotated[Path, typer.Option("--model", "-m", help="Checkpoint from `train`.")]
JasparRelease = Annotated[
    str, typer.Option("--jaspar-release", help="JASPAR release shipped with pyjaspar (offline), e.g. 2024.")
]

# The values of each choice option (the library takes them as plain strings).
Preset = Literal["small", "base", "large"]
StemActivation = Literal["none", "gelu", "relu"]
Score = Literal["cls", "received", "rollout", "gradient"]
Fallback = Literal["gradient", "none"]
Enrichment = Literal["auto", "scan", "window", "seqlets"]
Control = Literal["none", "shuffle"]
NullBackground = Literal["kept", "shuffled"]
MsaFormat = Literal["auto", "fasta", "a3m", "a2m", "stockholm", "clustal", "aln"]
ModelType = Literal["factored", "potts"]
Gaps = Literal["ignore", "model"]
Strand = Literal["both", "+", "-"]


def _listed(values: tuple[str, ...]) -> str:
    """``a, b or c``."""
    return f"{', '.join(values[:-1])} or {values[-1]}"


def choice(flag: str, kind: Any, *, help: str, expected: str | None = None) -> Any:
    """The ``typer.Option`` of a choice option whose values are the ``Literal`` ``kind``.

    A value outside them is an ``InputError`` "FLAG VALUE: expected ``expected``" (default:
    the values as "a, b or c"), which the command line prints as one line (exit 2).
    """
    values: tuple[str, ...] = get_args(kind)
    wanted = expected or _listed(values)

    def parse(value: str) -> str:
        if value not in values:
            raise InputError(f"{flag} {value}: expected {wanted}")
        return value

    parser: Callable[[str], str] = parse
    return typer.Option(flag, help=help, parser=parser)
