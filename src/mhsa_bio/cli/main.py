"""The ``mhsa-bio`` command: global options and the list of subcommands.

Nothing heavy is imported here: each subcommand imports torch and friends inside its body, so
``mhsa-bio --help`` answers at once.
"""

from __future__ import annotations

from typing import Annotated

import typer

from mhsa_bio import __version__

app = typer.Typer(
    name="mhsa-bio",
    help="Train multi-head self-attention models on DNA and protein sequences and read motifs, "
    "motif pairs and residue contacts out of their attention.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"mhsa-bio {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """mhsa-bio: attention models for biological sequences."""


def _register() -> None:
    """Add the subcommands in pipeline order (each module imports its heavy parts lazily)."""
    from mhsa_bio.cli import contacts, motifs, pairs, predict, scan, simulate, train

    app.command("simulate")(simulate.simulate)
    app.command("train")(train.train)
    app.command("predict")(predict.predict)
    app.command("scan")(scan.scan)
    app.command("motifs")(motifs.motifs)
    app.command("pairs")(pairs.pairs)
    app.command("contacts")(contacts.contacts)


_register()
