"""The ``mhsa-bio`` command: global options and the list of subcommands.

Nothing heavy is imported here: each subcommand imports torch and friends inside its body, so
``mhsa-bio --help`` answers at once.
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from mhsa_bio import __version__
from mhsa_bio.errors import InputError


class OneLineErrors(TyperGroup):
    """Usage errors (a bad option value, a missing argument) as one line, not a framed box."""

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        if not standalone_mode:
            # misc: mypy reads *args as possibly filling click's positional standalone_mode
            return super().main(*args, standalone_mode=False, **kwargs)  # type: ignore[misc]
        try:
            from typer._click.exceptions import ClickException  # typer vendors click from 0.2x
        except ImportError:  # pragma: no cover - older typer depends on click instead
            from click.exceptions import ClickException  # type: ignore[no-redef,assignment,unused-ignore]
        try:
            code = super().main(*args, standalone_mode=False, **kwargs)  # type: ignore[misc]  # as above
        except ClickException as exc:
            if type(exc).__name__ == "NoArgsIsHelpError":  # `mhsa-bio` alone prints the help
                exc.show()
                sys.exit(exc.exit_code)
            from mhsa_bio.cli.common import fail

            ctx = getattr(exc, "ctx", None)
            where = f"{ctx.command_path}: " if ctx is not None else ""
            hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
            fail(f"{where}{exc.format_message()}{hint}")
            sys.exit(exc.exit_code)
        except typer.Abort:
            from mhsa_bio.cli.common import fail

            fail("aborted")
            sys.exit(1)
        except InputError as exc:  # a choice option's value outside its choices (cli.options)
            from mhsa_bio.cli.common import fail

            fail(str(exc))
            sys.exit(2)
        sys.exit(code if isinstance(code, int) else 0)


app = typer.Typer(
    cls=OneLineErrors,
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
