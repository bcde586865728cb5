"""Tests for BED regions cut from a genome FASTA."""

from __future__ import annotations

import gzip
import io
import os
from pathlib import Path

import pytest

from mhsa_bio.alphabet import reverse_complement
from mhsa_bio.errors import InputError
from mhsa_bio.io import genome as genome_mod
from mhsa_bio.io.fasta import read_fasta, write_fasta
from mhsa_bio.io.genome import Region, read_bed, read_bed_regions, region_of

CHR1 = "ACGTACGTAAccggttNNGGCCAATTGGCCAATTACGTAC"  # 40 bp, soft-masked in the middle
CHR2 = "TTTTTGGGGGCCCCCAAAAAGTGTG"  # 25 bp


@pytest.fixture
def genome(tmp_path: Path) -> Path:
    path = tmp_path / "genome.fa"
    path.write_text(
        ">chr1 first chromosome\n" + CHR1[:20] + "\n" + CHR1[20:] + "\n>chr2\n" + CHR2 + "\n"
    )
    return path


def write_bed(tmp_path: Path, text: str, name: str = "regions.bed") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_bed3_and_bed6_regions(tmp_path: Path, genome: Path) -> None:
    bed = write_bed(
        tmp_path,
        "track name=test\nbrowser position chr1\n# a comment\n\n"
        "chr1\t0\t8\n"
        "chr1\t8\t20\tsoft\t0\t+\n"
        "chr2\t5\t15\tminus\t0\t-\n"
        "chr2\t0\t5\t.\t0\t.\n",
    )
    records = read_bed_regions(bed, genome)
    assert [r.id for r in records] == ["chr1:0-8(+)", "soft", "minus", "chr2:0-5(+)"]
    assert records[0].seq == CHR1[0:8]
    assert records[1].seq == CHR1[8:20].upper()  # soft-masked bases upper-cased
    assert records[2].seq == reverse_complement(CHR2[5:15])
    assert records[3].seq == CHR2[0:5]
    assert records[1].description == "soft chr1:8-20(+)"
    assert records[0].description == "chr1:0-8(+)"
    assert region_of(records[2]) == Region("chr2", 5, 15, "-", "minus")
    assert region_of(records[0]) == Region("chr1", 0, 8, "+", "chr1:0-8(+)")
    assert (genome.parent / "genome.fa.fai").exists()


def test_region_spanning_a_line_break_and_whole_chromosome(tmp_path: Path, genome: Path) -> None:
    bed = write_bed(tmp_path, "chr1\t15\t25\nchr1\t0\t40\nchr2\t0\t25\n")
    records = read_bed_regions(bed, genome)
    assert [r.seq for r in records] == [CHR1[15:25].upper(), CHR1.upper(), CHR2]


def test_region_of_survives_a_fasta_round_trip(tmp_path: Path, genome: Path) -> None:
    bed = write_bed(tmp_path, "chr2\t5\t15\tsiteA\t0\t-\nchr1\t2\t9\n")
    records = read_bed_regions(bed, genome)
    handle = io.StringIO()
    write_fasta(handle, records)
    fasta = tmp_path / "out.fa"
    fasta.write_text(handle.getvalue())
    back = read_fasta(fasta)
    assert [region_of(r) for r in back] == [region_of(r) for r in records]
    assert region_of(back[0]) == Region("chr2", 5, 15, "-", "siteA")


def test_region_of_plain_record_is_none() -> None:
    from mhsa_bio.io.fasta import Record

    assert region_of(Record("a", "ACGT", "a some description")) is None
    assert region_of(Record("a", "ACGT", "")) is None


def test_duplicate_names_fall_back_to_coordinates(tmp_path: Path) -> None:
    bed = write_bed(tmp_path, "chr1\t0\t5\tpeak\nchr1\t5\t10\tpeak\nchr1\t10\t12\tuniq\n")
    assert [r.name for r in read_bed(bed)] == ["chr1:0-5(+)", "chr1:5-10(+)", "uniq"]


def test_same_region_twice_is_an_error(tmp_path: Path) -> None:
    bed = write_bed(tmp_path, "chr1\t0\t5\nchr1\t0\t5\n")
    with pytest.raises(
        InputError, match=r"regions.bed: line 2: region chr1:0-5\(\+\) repeats line 1"
    ):
        read_bed(bed)


def test_gzipped_bed(tmp_path: Path, genome: Path) -> None:
    bed = tmp_path / "r.bed.gz"
    bed.write_bytes(gzip.compress(b"chr2\t0\t4\n"))
    assert read_bed_regions(bed, genome)[0].seq == "TTTT"


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("chr1\t0\n", r"line 1: 2 column\(s\); BED needs at least chrom, start, end"),
        ("chr1\t0\t8\nchr1\tzero\t8\n", r"line 2: start 'zero' and end '8' must be integers"),
        ("chr1\t1.5\t8\n", r"line 1: start '1.5' and end '8' must be integers"),
        ("chr1\t8\t8\n", r"line 1: start 8 is not before end 8"),
        ("chr1\t9\t3\n", r"line 1: start 9 is not before end 3"),
        ("chr1\t-1\t3\n", r"line 1: negative start -1"),
        ("chr1\t0\t3\tx\t0\tplus\n", r"line 1: strand 'plus' in column 6"),
        ("# only a comment\n", r"no regions"),
    ],
)
def test_bad_bed_lines(tmp_path: Path, genome: Path, text: str, pattern: str) -> None:
    bed = write_bed(tmp_path, text)
    with pytest.raises(InputError, match=pattern) as info:
        read_bed_regions(bed, genome)
    message = str(info.value)
    assert str(bed) in message and "\n" not in message


def test_region_outside_chromosome(tmp_path: Path, genome: Path) -> None:
    bed = write_bed(tmp_path, "chr1\t0\t5\nchr2\t20\t30\n")
    with pytest.raises(InputError) as info:
        read_bed_regions(bed, genome)
    message = str(info.value)
    assert "line 2" in message and "chr2:20-30(+)" in message
    assert "chromosome 'chr2' (length 25)" in message


def test_unknown_chromosome(tmp_path: Path, genome: Path) -> None:
    bed = write_bed(tmp_path, "chrX\t0\t5\n")
    with pytest.raises(InputError, match=r"line 1: chromosome 'chrX' is not in .*chr1, chr2"):
        read_bed_regions(bed, genome)


def test_min_length(tmp_path: Path, genome: Path) -> None:
    bed = write_bed(tmp_path, "chr1\t0\t30\nchr1\t0\t5\n")
    with pytest.raises(InputError, match=r"line 2: .* 5 bp is shorter than the minimum of 10"):
        read_bed_regions(bed, genome, min_length=10)


def test_genome_not_fasta(tmp_path: Path) -> None:
    bed = write_bed(tmp_path, "chr1\t0\t5\n")
    bad = tmp_path / "genome.txt"
    bad.write_text("chr1 ACGT\n")
    with pytest.raises(InputError, match=r"genome.txt: not a FASTA file"):
        read_bed_regions(bed, bad)
    binary = tmp_path / "genome.bin"
    binary.write_bytes(b"\x00\x01\x02>")
    with pytest.raises(InputError, match=r"genome.bin: binary file"):
        read_bed_regions(bed, binary)
    with pytest.raises(InputError, match=r"missing.fa: no such file"):
        read_bed_regions(bed, tmp_path / "missing.fa")


def test_plain_gzip_genome_is_refused(tmp_path: Path) -> None:
    bed = write_bed(tmp_path, "chr1\t0\t5\n")
    gz = tmp_path / "genome.fa.gz"
    gz.write_bytes(gzip.compress(b">chr1\nACGTACGT\n"))
    with pytest.raises(InputError, match=r"gzip-compressed genome; .*bgzip"):
        read_bed_regions(bed, gz)


def test_genome_with_ragged_lines(tmp_path: Path) -> None:
    bed = write_bed(tmp_path, "chr1\t0\t5\n")
    ragged = tmp_path / "ragged.fa"
    ragged.write_text(">chr1\nACGTACGT\nAC\nACGTACGT\n")
    with pytest.raises(InputError, match=r"ragged.fa: not a valid genome FASTA") as info:
        read_bed_regions(bed, ragged)
    assert "\n" not in str(info.value)


def test_invalid_letter_in_genome(tmp_path: Path) -> None:
    bed = write_bed(tmp_path, "chr1\t0\t8\tbadseq\n")
    fa = tmp_path / "g.fa"
    fa.write_text(">chr1\nACGTJCGT\n")
    with pytest.raises(InputError, match=r"g.fa: record 'badseq': invalid DNA letter 'J'"):
        read_bed_regions(bed, fa)


def _deny_writes(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    real_access = os.access

    def access(path: os.PathLike[str] | str, mode: int) -> bool:
        if mode & os.W_OK and Path(path).resolve() == folder.resolve():
            return False
        return real_access(path, mode)

    monkeypatch.setattr(genome_mod.os, "access", access)


def test_unwritable_index_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    fa = folder / "g.fa"
    fa.write_text(">chr1\nACGTACGT\n")
    bed = write_bed(tmp_path, "chr1\t0\t5\n")
    _deny_writes(monkeypatch, folder)
    with pytest.raises(InputError) as info:
        read_bed_regions(bed, fa)
    assert str(info.value) == (
        f"{fa}: cannot write index {fa}.fai; run `samtools faidx` or copy the genome to a "
        "writable folder"
    )
    assert not (folder / "g.fa.fai").exists()


def test_unwritable_folder_with_an_index_is_fine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    fa = folder / "g.fa"
    fa.write_text(">chr1\nACGTACGT\n")
    (folder / "g.fa.fai").write_text("chr1\t8\t6\t8\t9\n")
    bed = write_bed(tmp_path, "chr1\t2\t6\n")
    _deny_writes(monkeypatch, folder)
    assert read_bed_regions(bed, fa)[0].seq == "GTAC"


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root ignores chmod")
def test_really_read_only_folder(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    fa = folder / "g.fa"
    fa.write_text(">chr1\nACGTACGT\n")
    bed = write_bed(tmp_path, "chr1\t0\t5\n")
    folder.chmod(0o555)
    try:
        with pytest.raises(InputError, match=r"cannot write index .*g.fa.fai"):
            read_bed_regions(bed, fa)
    finally:
        folder.chmod(0o755)
