"""Tests for the MSA readers (io/msa.py) and sequence weights (contacts/weights.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mhsa_bio.contacts.weights import deduplicate, sequence_weights
from mhsa_bio.errors import InputError
from mhsa_bio.io.msa import GAP, MSA_ALPHABET, read_msa

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "contacts"

ROWS = [("q1", "-ACDE-FG"), ("s2", "MAC-EKFG"), ("s3", "-AYDEWFA")]
EXPECTED = ["ACDEFG", "AC-EFG", "AYDEFA"]  # columns where q1 has gaps are dropped


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _formats(tmp_path: Path) -> dict[str, Path]:
    fasta = "".join(f">{i} some description\n{s[:4]}\n{s[4:]}\n" for i, s in ROWS)
    sto = (
        "# STOCKHOLM 1.0\n#=GF ID test\n"
        + "".join(f"{i} {s[:4]}\n" for i, s in ROWS)
        + "\n"
        + "".join(f"{i} {s[4:]}\n" for i, s in ROWS)
        + "#=GC RF xxxxxxxx\n//\n"
    )
    clustal = (
        "CLUSTAL W (1.83) multiple sequence alignment\n\n"
        + "".join(f"{i}      {s[:4]}\n" for i, s in ROWS)
        + "          * .*\n\n"
        + "".join(f"{i}      {s[4:]} 8\n" for i, s in ROWS)
    )
    aln = "".join(f"{s}\n" for _, s in ROWS)
    # a3m: an insertion (lowercase) in s2 that the others lack, and a '.'-padded a2m
    a3m = ">q1\n-ACDE-FG\n>s2\nMAC-EKkkFG\n>s3\n-AYDEWFA\n"
    a2m = ">q1\n-ACDE..-FG\n>s2\nMAC-EkkKFG\n>s3\n-AYDE..WFA\n"
    return {
        "fasta": _write(tmp_path, "x.fasta", fasta),
        "stockholm": _write(tmp_path, "x.sto", sto),
        "clustal": _write(tmp_path, "x.clustal", clustal),
        "aln": _write(tmp_path, "x.aln", aln),
        "a3m": _write(tmp_path, "x.a3m", a3m),
        "a2m": _write(tmp_path, "x.a2m", a2m),
    }


@pytest.mark.parametrize("fmt", ["fasta", "stockholm", "clustal", "aln", "a3m", "a2m"])
def test_every_format_reads_the_same_alignment(tmp_path, fmt):
    path = _formats(tmp_path)[fmt]
    msa = read_msa(path)
    assert msa.format == fmt
    assert msa.seqs == EXPECTED
    assert msa.query == "ACDEFG"
    # explicit --format agrees with detection
    assert read_msa(path, fmt=fmt).seqs == EXPECTED


def test_query_choice_changes_the_kept_columns(tmp_path):
    path = _formats(tmp_path)["fasta"]
    msa = read_msa(path, query="s2")
    assert msa.query_index == 1
    assert msa.query == "MACEKFG"
    assert msa.seqs[0] == "-ACE-FG"
    assert msa.ids == ["q1", "s2", "s3"]


def test_psicov_rows_are_named_by_number(tmp_path):
    msa = read_msa(_formats(tmp_path)["aln"], query="row3")
    assert msa.query == "AYDEWFA"


def test_encoding_maps_ambiguity_codes(tmp_path):
    path = _write(tmp_path, "a.fasta", ">a\nACXUOB\n>b\nAC-DE.\n")
    tokens = read_msa(path).encode()
    assert tokens.shape == (2, 6)
    assert tokens[0].tolist() == [
        MSA_ALPHABET.index("A"),
        MSA_ALPHABET.index("C"),
        GAP,
        MSA_ALPHABET.index("C"),
        MSA_ALPHABET.index("K"),
        GAP,
    ]
    assert tokens[1, 2] == GAP and tokens[1, 5] == GAP


@pytest.mark.parametrize(
    "text,name,message",
    [
        (">a\nACDE\n>b\nACD\n", "x.fasta", "aligned length"),
        (">a\nACDE\n>b\nAC1E\n", "x.fasta", "invalid letter '1'"),
        (">a\nACDE\n", "x.fasta", "only one sequence"),
        ("hello world!\nthis is not an alignment\n", "x.txt", "not a multiple sequence alignment"),
        ("", "x.fasta", "empty file"),
        (">a\n----\n>b\nACDE\n", "x.fasta", "all gaps"),
    ],
)
def test_bad_alignments_are_one_line_errors(tmp_path, text, name, message):
    path = _write(tmp_path, name, text)
    with pytest.raises(InputError) as err:
        read_msa(path)
    assert message in str(err.value)
    assert str(path) in str(err.value)
    assert "\n" not in str(err.value)


def test_unknown_query_and_format(tmp_path):
    path = _formats(tmp_path)["fasta"]
    with pytest.raises(InputError, match="no row with this id"):
        read_msa(path, query="nope")
    with pytest.raises(InputError, match="--format"):
        read_msa(path, fmt="nexus")


def _brute_weights(tokens: np.ndarray, identity: float) -> np.ndarray:
    ident = (tokens[:, None, :] == tokens[None, :, :]).mean(-1)
    return 1.0 / (ident >= identity - 1e-9).sum(1)


def test_weights_match_brute_force_and_ignore_chunking():
    rng = np.random.default_rng(0)
    base = rng.integers(0, 21, size=(1, 20))
    tokens = np.repeat(base, 40, axis=0)
    flips = rng.random(tokens.shape) < rng.random((40, 1)) * 0.5
    tokens = np.where(flips, rng.integers(0, 21, size=tokens.shape), tokens)
    tokens = np.concatenate([tokens, tokens[:5]])  # exact duplicates
    expected = _brute_weights(tokens, 0.8)
    for chunk in (1, 7, 1000):
        w = sequence_weights(tokens, identity=0.8, chunk=chunk)
        per_row = (w.weights / w.counts)[w.inverse]
        np.testing.assert_allclose(per_row, expected, rtol=1e-12)
        assert w.neff == pytest.approx(expected.sum())
    assert len(w.counts) == len({tuple(r) for r in tokens}) and w.counts.sum() == 45


def test_weights_off_and_identical_rows():
    tokens = np.zeros((6, 5), dtype=np.uint8)
    w = sequence_weights(tokens, identity=0.8)
    assert w.unique.shape == (1, 5) and w.neff == pytest.approx(1.0)
    w = sequence_weights(tokens, identity=1.01)
    assert w.neff == pytest.approx(6.0)


def test_deduplicate_round_trip():
    rng = np.random.default_rng(1)
    tokens = rng.integers(0, 3, size=(50, 3)).astype(np.uint8)
    unique, counts, inverse = deduplicate(tokens)
    np.testing.assert_array_equal(unique[inverse], tokens)
    assert counts.sum() == 50
    assert len({tuple(r) for r in unique}) == len(unique)


@pytest.mark.skipif(not DATA.is_dir(), reason="shared data not present")
def test_real_alignments_and_neff():
    fas = read_msa(DATA / "1atzA" / "1atzA.fas", query="seq_2634")
    aln = read_msa(DATA / "1atzA" / "1atzA.ccmpred_example.aln", query="row2635")
    assert len(fas.seqs) == 3068 and len(fas.query) == 75
    np.testing.assert_array_equal(fas.encode(), aln.encode())  # X in the .aln reads as a gap
    assert sequence_weights(fas.encode()).neff == pytest.approx(1149.4, abs=0.5)
    a3m = read_msa(DATA / "1a3aA" / "1a3a_1_A.a3m")
    assert a3m.format == "a3m" and len(a3m.query) == 145 and len(a3m.seqs) == 1024


def test_weights_memory_stays_below_n_squared():
    import tracemalloc

    rng = np.random.default_rng(4)
    n = 4000
    tokens = rng.integers(0, 21, size=(n, 8)).astype(np.uint8)
    tracemalloc.start()
    w = sequence_weights(tokens, identity=0.8, chunk=256)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < n * n * 4 / 2  # half of one float32 N x N matrix
    assert 0 < w.neff <= n
