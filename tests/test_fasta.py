import gzip
import io

import pytest

from mhsa_bio.errors import InputError
from mhsa_bio.io.fasta import read_fasta


def write(tmp_path, text, name="x.fa"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_reads_multiline_soft_masked_and_iupac(tmp_path, caplog):
    path = write(tmp_path, ">a desc here\nACgt\nNNac\n>b\nACRY\n")
    records = read_fasta(path)
    assert [(r.id, r.seq) for r in records] == [("a", "ACGTNNAC"), ("b", "ACNN")]
    assert records[0].description == "a desc here"
    assert "2 IUPAC ambiguity codes" in caplog.text


def test_gzip_and_stdin(tmp_path, monkeypatch):
    path = tmp_path / "x.fa.gz"
    path.write_bytes(gzip.compress(b">a\nACGT\n"))
    assert read_fasta(path)[0].seq == "ACGT"

    class FakeStdin:
        buffer = io.BytesIO(b">s\nGGCC\n")

    monkeypatch.setattr("sys.stdin", FakeStdin())
    assert read_fasta("-")[0].seq == "GGCC"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty file"),
        ("\n\n", "empty file"),
        ("ACGT\n>a\nACGT\n", "not a FASTA file"),
        (">a\n>b\nACGT\n", "record 'a': empty sequence"),
        (">a\nACGT\n>a\nACGT\n", "record 'a': duplicate id"),
        (">a\nACGT\n>b\nACGT\n>a x\nACGT\n", "record 'a': duplicate id (records 1 and 3); ids must"),
        (">a\nACGTQ\n", "record 'a': invalid DNA letter 'Q' at position 5"),
        (">p\nMKVLEEF\n", "protein sequence in a DNA file"),
        (">a\nAC GT\n>b\nAC-GT\n", "record 'b': invalid DNA letter '-' at position 3"),
    ],
)
def test_bad_fasta_names_file_record_and_problem(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(InputError) as err:
        read_fasta(path)
    assert str(path) in str(err.value)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_binary_file_is_refused(tmp_path):
    path = tmp_path / "x.bin"
    path.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(InputError, match="binary"):
        read_fasta(path)


def test_missing_file_and_minimum_length(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        read_fasta(tmp_path / "absent.fa")
    path = write(tmp_path, ">short\nACG\n")
    with pytest.raises(InputError, match="record 'short': sequence of 3 bp is shorter"):
        read_fasta(path, min_length=11)


def test_protein_kind(tmp_path):
    path = write(tmp_path, ">p\nmkvlee*\n")
    assert read_fasta(path, kind="protein")[0].seq == "MKVLEE"
    path = write(tmp_path, ">p\nMK1\n", "y.fa")
    with pytest.raises(InputError, match="invalid amino-acid letter '1' at position 3"):
        read_fasta(path, kind="protein")
