"""Fuzzing the input readers: any bytes give records or an ``InputError``, never another exception.

Each reader gets random bytes, text over its format's own letters, and valid files with bytes
cut, repeated or replaced. The suite runs a few dozen examples per reader;
``benchmarks/fuzz_readers.py`` runs the same properties for longer (``MHSA_BIO_FUZZ_EXAMPLES``).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from mhsa_bio.errors import InputError  # noqa: E402

EXAMPLES = int(os.environ.get("MHSA_BIO_FUZZ_EXAMPLES", "40"))

VALID = {
    "fasta": b">a first\nACGTNacgt\nACGT\n>b\nGGGGCCCC\n",
    "bed": b"track name=x\nchr1\t10\t20\tr1\t0\t+\nchr2\t0\t5\tr2\t1\t-\n",
    "meme": (b"MEME version 4\n\nALPHABET= ACGT\n\nstrands: + -\n\n"
             b"Background letter frequencies\nA 0.25 C 0.25 G 0.25 T 0.25\n\n"
             b"MOTIF M1 one\nletter-probability matrix: alength= 4 w= 3 nsites= 5 E= 0\n"
             b"0.7 0.1 0.1 0.1\n0.1 0.7 0.1 0.1\n0.25 0.25 0.25 0.25\n\n"),
    "a3m": b">q\nACDEFGHIKL\n>r\nAC-EFgGHIKL\n>s\nACDEFGHIKM\n",
    "fasta_msa": b">q\nACDEFGHIKL\n>r\nAC-EFGHIKL\n",
    "stockholm": b"# STOCKHOLM 1.0\n#=GF ID x\nq ACDEFGHIKL\nr AC-EFGHIKL\n\nq MN\nr MN\n//\n",
    "clustal": b"CLUSTAL W\n\nq ACDEFGHIKL\nr AC-EFGHIKL\n           ** *\n",
    "aln": b"ACDEFGHIKL\nAC-EFGHIKL\n",
    "labels": b"id\tclass\na\tx\nb\ty\n",
    "pdb": (b"ATOM      1  CA  ALA A   1      11.104   6.134  -6.504  1.00  0.00           C\n"
            b"ATOM      2  CB  ALA A   1      11.639   6.071  -5.147  1.00  0.00           C\n"
            b"ATOM      3  CA  GLY A   2      12.104   7.134  -6.504  1.00  0.00           C\n"
            b"END\n"),
    "cif": (b"data_x\nloop_\n_atom_site.group_PDB\n_atom_site.id\n_atom_site.type_symbol\n"
            b"_atom_site.label_atom_id\n_atom_site.label_alt_id\n_atom_site.label_comp_id\n"
            b"_atom_site.label_asym_id\n_atom_site.label_entity_id\n_atom_site.label_seq_id\n"
            b"_atom_site.pdbx_PDB_ins_code\n_atom_site.Cartn_x\n_atom_site.Cartn_y\n"
            b"_atom_site.Cartn_z\n_atom_site.occupancy\n_atom_site.B_iso_or_equiv\n"
            b"_atom_site.auth_seq_id\n_atom_site.auth_asym_id\n_atom_site.pdbx_PDB_model_num\n"
            b"ATOM 1 C CA . ALA A 1 1 ? 11.1 6.1 -6.5 1.0 0.0 1 A 1\n"),
}


def _records() -> list[Any]:
    from mhsa_bio.io.fasta import Record

    return [Record("a", "ACGT"), Record("b", "GGCC")]


def _read_fasta(path: Path) -> Any:
    from mhsa_bio.io.fasta import read_fasta

    return read_fasta(path)


def _read_protein(path: Path) -> Any:
    from mhsa_bio.io.fasta import read_fasta

    return read_fasta(path, kind="protein")


def _read_bed(path: Path) -> Any:
    from mhsa_bio.io.genome import read_bed

    return read_bed(path)


def _read_meme(path: Path) -> Any:
    from mhsa_bio.io.meme import read_meme

    return read_meme(path)


def _msa(fmt: str) -> Callable[[Path], Any]:
    def read(path: Path) -> Any:
        from mhsa_bio.io.msa import read_msa

        return read_msa(path, fmt=fmt)

    return read


def _read_labels(path: Path) -> Any:
    from mhsa_bio.io.labels import read_labels

    return read_labels(path, _records())


def _read_chain(path: Path) -> Any:
    from mhsa_bio.io.structure import read_chain

    return read_chain(path)


#: reader name -> (function, file suffix, seed files, the format's own letters)
READERS: dict[str, tuple[Callable[[Path], Any], str, list[bytes], str]] = {
    "fasta": (_read_fasta, ".fa", [VALID["fasta"]], ">ACGTNacgtn \n;\r-*RYKM"),
    "fasta_protein": (_read_protein, ".fa", [b">a\nACDEFGHIKL\n>b\nMKV*\n"], ">ACDEFGHIKLMNPQRSTVWYX*\n"),
    "bed": (_read_bed, ".bed", [VALID["bed"]], "chr12\t0123456789+-.#trackbrowser \n"),
    "meme": (_read_meme, ".meme", [VALID["meme"]],
             "MEME version4ALPHABET=ACGTstrands:+-MOTIFletter-probabilitymatrix:alength=w "
             "0.123456789\nE-\t"),
    **{f"msa_{fmt}": (_msa(fmt), suffix, [VALID[key]], ">ACDEFGHIKLacdef-.#/ =\nSTOCKHOLM1CLUSTAL")
       for fmt, suffix, key in (("auto", ".a3m", "a3m"), ("fasta", ".fasta", "fasta_msa"),
                                ("a3m", ".a3m", "a3m"), ("a2m", ".a2m", "a3m"),
                                ("stockholm", ".sto", "stockholm"),
                                ("clustal", ".aln", "clustal"), ("aln", ".aln", "aln"))},
    "labels": (_read_labels, ".tsv", [VALID["labels"]], "abxy\t #\nid class"),
    "pdb": (_read_chain, ".pdb", [VALID["pdb"]], "ATOMHETCAB ALAGLY0123456789.-\nEND"),
    "cif": (_read_chain, ".cif", [VALID["cif"]], "data_loop_atom.ATOMCA ALA0123456789?-\n"),
}


@st.composite
def mutated(draw: st.DrawFn, seeds: list[bytes]) -> bytes:
    """A valid file with a few bytes cut, repeated, inserted or replaced."""
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 4))):
        if not data:
            break
        i = draw(st.integers(0, len(data) - 1))
        j = draw(st.integers(i, min(len(data), i + 16)))
        op = draw(st.sampled_from(["cut", "repeat", "insert", "replace", "truncate"]))
        if op == "cut":
            del data[i:j]
        elif op == "repeat":
            data[i:i] = data[i:j]
        elif op == "insert":
            data[i:i] = draw(st.binary(min_size=1, max_size=8))
        elif op == "replace":
            data[i:j] = draw(st.binary(max_size=8))
        else:
            del data[i:]
    return bytes(data)


def inputs(seeds: list[bytes], letters: str) -> st.SearchStrategy[bytes]:
    return st.one_of(
        st.binary(max_size=512),
        st.text(alphabet=letters, max_size=400).map(lambda s: s.encode()),
        mutated(seeds),
    )


def reads_or_refuses(reader: Callable[[Path], Any], suffix: str, data: bytes) -> None:
    """The property: records back, or an InputError; any other exception fails."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"input{suffix}"
        path.write_bytes(data)
        try:
            reader(path)
        except InputError as exc:
            assert str(exc).strip() and "\n" not in str(exc).strip(), repr(str(exc))


@pytest.mark.parametrize("name", sorted(READERS))
def test_any_bytes_give_records_or_an_input_error(name: str) -> None:
    reader, suffix, seeds, letters = READERS[name]
    for seed in seeds:  # the seed files themselves read
        reader_ok = True
        try:
            reader(_write(seed, suffix))
        except InputError:
            reader_ok = False
        assert reader_ok or name == "msa_auto", name

    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(data=inputs(seeds, letters))
    def check(data: bytes) -> None:
        reads_or_refuses(reader, suffix, data)

    check()


_KEEP: list[Any] = []


def _write(data: bytes, suffix: str) -> Path:
    folder = tempfile.TemporaryDirectory()
    _KEEP.append(folder)
    path = Path(folder.name) / f"seed{suffix}"
    path.write_bytes(data)
    return path
