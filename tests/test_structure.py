"""Tests for reading structures and mapping them onto the query (io/structure.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from contacts_fixtures import ONE_TO_THREE

from mhsa_bio.errors import InputError
from mhsa_bio.io.structure import align_to_query, query_structure, read_chain

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "contacts"


def _atom(
    serial: int, name: str, resname: str, chain: str, number: int, icode: str, xyz: tuple[float, float, float]
) -> str:
    return (
        f"ATOM  {serial:5d} {name:<4s} {resname:3s} {chain}{number:4d}{icode:1s}   "
        f"{xyz[0]:8.3f}{xyz[1]:8.3f}{xyz[2]:8.3f}  1.00  0.00           {name[0]}\n"
    )


def _pdb(
    tmp_path: Path,
    residues: list[tuple[str, int, str]],
    *,
    chain: str = "A",
    extra_chain: bool = False,
    name: str = "s.pdb",
) -> tuple[Path, np.ndarray]:
    """Residues on a line 5 Å apart: (letter, number, insertion code); Cβ 1 Å off Cα."""
    lines, serial, cb = [], 1, []
    for k, (letter, number, icode) in enumerate(residues):
        ca = (5.0 * k, 0.0, 0.0)
        lines.append(_atom(serial, "CA", ONE_TO_THREE[letter], chain, number, icode, ca))
        serial += 1
        if letter != "G":
            lines.append(_atom(serial, "CB", ONE_TO_THREE[letter], chain, number, icode, (5.0 * k, 1.0, 0.0)))
            serial += 1
        cb.append(ca if letter == "G" else (5.0 * k, 1.0, 0.0))
    if extra_chain:
        lines.append(_atom(serial, "CA", "ALA", "B", 1, " ", (0.0, 50.0, 0.0)))
    path = tmp_path / name
    path.write_text("".join(lines) + "END\n")
    return path, np.array(cb)


def test_chain_reading_keeps_insertion_codes_and_glycine_ca(tmp_path):
    path, cb = _pdb(tmp_path, [("M", 10, " "), ("G", 11, " "), ("K", 11, "A"), ("W", 12, " ")])
    res = read_chain(path, "A")
    assert res.sequence == "MGKW"
    assert res.labels == ["10", "11", "11A", "12"]
    np.testing.assert_allclose(res.coords, cb)


def test_mapping_with_offset_missing_residues_and_extra_tail(tmp_path):
    # query ACDEFGHKLM; the chain starts at residue 100, lacks E and F, has an extra tail YY
    chain = [
        ("C", 100, " "),
        ("D", 101, " "),
        ("G", 104, " "),
        ("H", 105, " "),
        ("K", 105, "A"),
        ("L", 106, " "),
        ("M", 107, " "),
        ("Y", 108, " "),
        ("Y", 109, " "),
    ]
    path, cb = _pdb(tmp_path, chain)
    query = "ACDEFGHKLM"
    st = query_structure(path, query, chain="A")
    assert st.mapping.tolist() == [-1, 0, 1, -1, -1, 2, 3, 4, 5, 6]
    assert st.labels[6] == "105" and st.labels[7] == "105A" and st.labels[0] == ""
    assert st.n_mapped == 7 and st.identity == pytest.approx(1.0)
    # unmapped residues give NaN distances and -1 contacts
    assert np.isnan(st.distances[0]).all() and (st.contacts[3] == -1).all()
    # C (query 1) and D (query 2) are 5 Å apart; C and G (query 5) are 10 Å apart
    assert st.distances[1, 2] == pytest.approx(5.0)
    assert st.contacts[1, 2] == 1 and st.contacts[1, 5] == 0
    np.testing.assert_allclose(st.distances, st.distances.T, equal_nan=True)


def test_mmcif_gives_the_same_map_as_pdb(tmp_path):
    from Bio.PDB import MMCIFIO, PDBParser

    path, _ = _pdb(tmp_path, [("A", 1, " "), ("C", 2, " "), ("G", 3, " "), ("W", 4, " ")])
    structure = PDBParser(QUIET=True).get_structure("s", str(path))
    io = MMCIFIO()
    io.set_structure(structure)
    cif = tmp_path / "s.cif"
    io.save(str(cif))
    a = query_structure(path, "ACGW", chain="A")
    b = query_structure(cif, "ACGW", chain="A")
    np.testing.assert_allclose(a.distances, b.distances)


def test_chain_errors(tmp_path):
    path, _ = _pdb(tmp_path, [("A", 1, " "), ("C", 2, " "), ("D", 3, " ")], extra_chain=True)
    with pytest.raises(InputError, match="choose one with --chain"):
        read_chain(path)
    with pytest.raises(InputError, match="chain 'Z' not found"):
        read_chain(path, "Z")
    with pytest.raises(InputError, match="does not match the query"):
        query_structure(path, "WWWWWWWWWWWWWW", chain="A")
    bad = tmp_path / "bad.pdb"
    bad.write_text("this is not a structure\n")
    with pytest.raises(InputError):
        read_chain(bad)


def test_blank_chain_id_accepts_a_requested_chain(tmp_path):
    path, _ = _pdb(tmp_path, [("A", 1, " "), ("C", 2, " "), ("D", 3, " ")], chain=" ")
    assert read_chain(path, "A").sequence == "ACD"


def test_alignment_tolerates_a_point_mutation():
    mapping = align_to_query("ACDEFGHIKLMNPQ", "ACDEFGWIKLMNPQ")
    assert mapping.tolist() == list(range(14))


@pytest.mark.skipif(not DATA.is_dir(), reason="shared data not present")
def test_real_structures_map_fully():
    from mhsa_bio.io.msa import read_msa

    msa = read_msa(DATA / "1atzA" / "1atzA.fas", query="seq_2634")
    st = query_structure(DATA / "1atzA" / "1atzA.pdb", msa.query, chain="A")
    assert st.n_mapped == 75 and st.identity == pytest.approx(1.0)
    msa = read_msa(DATA / "1a3aA" / "1a3a_1_A.a3m")
    st = query_structure(DATA / "1a3aA" / "1a3a.pdb", msa.query, chain="A")
    assert st.n_mapped == 145 and st.labels[0] == "4" and st.labels[-1] == "148"
