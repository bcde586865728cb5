"""MEME files: round trips (our reader, Biopython, memelite), motifs folders, background, bad
input; and BED coordinates."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mhsa_bio.errors import InputError
from mhsa_bio.io.bed import to_genome
from mhsa_bio.io.meme import MemeMotif, read_meme, read_meme_file, resolve_meme_path, write_meme

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def _motifs() -> list[MemeMotif]:
    rng = np.random.default_rng(0)
    out = []
    for i, w in enumerate((6, 11)):
        p = rng.random((w, 4))
        out.append(MemeMotif(f"M{i + 1}", f"cons{i}", p / p.sum(1, keepdims=True), 1000 + i, 1e-5))
    return out


def test_round_trip_ours_biopython_memelite(tmp_path: Path) -> None:
    path = tmp_path / "m.meme"
    motifs = _motifs()
    write_meme(path, motifs)
    back = read_meme(path)
    assert [m.id for m in back] == ["M1", "M2"]
    for a, b in zip(motifs, back):
        np.testing.assert_allclose(a.probs, b.probs, atol=1e-6)
        assert (b.name, b.nsites, b.evalue) == (a.name, a.nsites, a.evalue)
    from Bio import motifs as bio_motifs

    with open(path) as handle:
        record = bio_motifs.parse(handle, "minimal")
    assert [m.name for m in record] == ["M1", "M2"] or [m.id for m in record] == ["M1", "M2"]
    for a, m in zip(motifs, record):
        got = np.array([m.counts[b] for b in "ACGT"]).T
        got = got / got.sum(1, keepdims=True)
        np.testing.assert_allclose(got, a.probs, atol=1e-3)  # Biopython rounds p × nsites
    from memelite.io import read_meme as mm_read

    mm = mm_read(str(path))
    assert list(mm) == ["M1 cons0", "M2 cons1"]
    for a, m in zip(motifs, mm.values()):
        np.testing.assert_allclose(m.T, a.probs, atol=1e-6)


def test_folder_background_and_what_pairs_reads(tmp_path: Path) -> None:
    """A ``mhsa-bio motifs`` folder is read through its motifs.meme; the background line comes
    back; a MOTIF line without an alternate name gives an empty name."""
    write_meme(tmp_path / "motifs.meme", _motifs(), background=(0.3, 0.2, 0.2, 0.3))
    got = read_meme_file(tmp_path)
    assert [m.id for m in got.motifs] == ["M1", "M2"]
    np.testing.assert_allclose(got.background, [0.3, 0.2, 0.2, 0.3])
    assert resolve_meme_path(tmp_path) == tmp_path / "motifs.meme"
    plain = tmp_path / "plain.meme"
    plain.write_text("MEME version 4\n\nMOTIF X\nletter-probability matrix: alength= 4 w= 1\n"
                     "0.1 0.2 0.3 0.4\n")
    only = read_meme_file(plain)
    assert only.background is None and only.motifs[0].name == "" and only.motifs[0].nsites == 0


HEAD = "MEME version 4\n\nALPHABET= ACGT\n\n"


@pytest.mark.parametrize("text, message", [
    ("hello\n", "not a MEME motif file"),
    (HEAD, "no motifs"),
    ("MEME version 4\nALPHABET= ACDEFGHIKLMNPQRSTVWY\n", "not DNA"),
    (HEAD + "MOTIF a\nletter-probability matrix: alength= 4 w= 2\n0.5 0.5 0 0\n", "1 rows"),
    (HEAD + "MOTIF a\nletter-probability matrix: alength= 4 w= 1\n0.5 0.5 0.5 0\n", "summing"),
    (HEAD + "MOTIF a\nletter-probability matrix: alength= 4 w= 1\n0.5 0.5\n", "4 non-negative"),
    (HEAD + "MOTIF a\nletter-probability matrix: alength= 4 w= 1\n0.5 0.5 -1 1\n",
     "non-negative"),
    (HEAD + "MOTIF a\nletter-probability matrix: alength= 20 w= 1\n1 0 0 0\n", "alength"),
    (HEAD + "MOTIF X\nletter-probability matrix: w= 1\n1 0 0 0\n\n"
     "MOTIF X\nletter-probability matrix: w= 1\n1 0 0 0\n", "duplicate"),
])
def test_bad_meme_files(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.meme"
    path.write_text(text)
    with pytest.raises(InputError, match=message):
        read_meme(path)
    with pytest.raises(InputError, match="no motifs.meme"):
        read_meme(tmp_path)
    with pytest.raises(InputError, match="no such MEME file"):
        read_meme(tmp_path / "absent.meme")


def test_reads_shared_jaspar_file() -> None:
    path = DATA / "motifs" / "JASPAR2024_CORE_vertebrates_latest.meme"
    if not path.exists():
        pytest.skip("shared data absent")
    motifs = read_meme(path)
    assert len(motifs) == 879
    assert any(m.id.startswith("MA0138") and m.name == "REST" for m in motifs)
    assert {m.id: m.name for m in motifs}["MA0035.5"] == "GATA1"
    assert all(abs(m.probs.sum(axis=1) - 1).max() < 1e-9 for m in motifs)


def test_genome_coordinates_flip_on_minus_regions() -> None:
    # region chr1:100-120 on +: base 3..8 -> 103..108
    assert to_genome(3, 8, "+", region_start=100, region_end=120, region_strand="+") == (
        103, 108, "+")
    # on -, base 0 is genome base 119: bases 3..8 -> 112..117, strand flips
    assert to_genome(3, 8, "+", region_start=100, region_end=120, region_strand="-") == (
        112, 117, "-")
