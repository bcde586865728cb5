"""The shared choice options: their values are the library's, a bad value is one line naming the
option, and ``--help`` lists the values."""

from __future__ import annotations

from typing import get_args

import pytest
from conftest import assert_clean_error, invoke

from mhsa_bio.cli.options import ModelType, MsaFormat, Preset, Strand, choice
from mhsa_bio.errors import InputError


def test_choice_values_are_the_librarys() -> None:
    pytest.importorskip("torch")
    from mhsa_bio.contacts.fit import MODEL_TYPES
    from mhsa_bio.io.msa import FORMATS
    from mhsa_bio.models.promoter import PRESETS

    assert get_args(Preset) == tuple(PRESETS)
    assert get_args(MsaFormat) == tuple(FORMATS)
    assert get_args(ModelType) == tuple(MODEL_TYPES)


def test_choice_parser_passes_a_value_and_names_the_option_for_another() -> None:
    listed = choice("--strand", Strand, help="").parser
    assert listed("+") == "+"
    with pytest.raises(InputError, match=r"^--strand x: expected both, \+ or -$"):
        listed("x")
    spelled = choice("--strand", Strand, expected="one of both, +, -", help="").parser
    with pytest.raises(InputError, match=r"^--strand \?: expected one of both, \+, -$"):
        spelled("?")


def test_bad_choice_is_one_line_before_anything_runs(tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "r"
    result = invoke("train", tmp_path / "missing.fa", "--out", out, "--preset", "huge")
    assert result.exit_code == 2
    assert_clean_error(result, "--preset huge: expected one of small, base, large")
    assert len(result.output.strip().splitlines()) == 1
    assert not out.exists()


def test_help_lists_the_choices() -> None:
    from typer.testing import CliRunner

    from mhsa_bio.cli.main import app

    result = CliRunner().invoke(app, ["motifs", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for values in ("cls|received|rollout|gradient", "gradient|none", "auto|scan|window|seqlets",
                   "none|shuffle"):
        assert f"<{values}>" in result.output


@pytest.mark.parametrize(
    ("command", "metavars"),
    [
        ("train", ("<auto|N>", "<auto|P>", "<auto|cpu|cuda[:N]>")),
        ("motifs", ("<auto|all|L:H,...>", "<auto|cpu|cuda[:N]>")),
        ("contacts", ("<auto|cpu|cuda[:N]>",)),
    ],
)
def test_help_shows_what_a_word_option_takes(command: str, metavars: tuple[str, ...]) -> None:
    """Options that take 'auto' or a number, a head list or a device show their forms, not <str>."""
    from typer.testing import CliRunner

    from mhsa_bio.cli.main import app

    result = CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for metavar in metavars:
        assert metavar in result.output
    for line in result.output.splitlines():
        if any(flag in line for flag in ("--min-epochs ", "--threshold ", "--heads ", "--device ")):
            assert "<str>" not in line
