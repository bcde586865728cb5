"""FASTA input: plain, gzipped or stdin, validated as DNA (or protein) with errors that name the record."""

from __future__ import annotations

import gzip
import io
import logging
import os
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, NamedTuple

from mhsa_bio.alphabet import IUPAC_AMBIGUOUS, PROTEIN, PROTEIN_ONLY
from mhsa_bio.errors import InputError, require_file

log = logging.getLogger(__name__)

_DNA_OK = set("ACGT")


class Record(NamedTuple):
    """One sequence: its id (first word of the header), the full description, the sequence."""

    id: str
    seq: str
    description: str = ""


def open_text(path: str | os.PathLike[str]) -> IO[str]:
    """Open a plain or gzipped text file, or stdin for ``-``; binary files are refused."""
    if str(path) == "-":
        data = sys.stdin.buffer.read()
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        return io.StringIO(decode_text(data, "-"))
    path = Path(path)
    require_file(path)
    with open(path, "rb") as handle:
        magic = handle.read(2)
    try:
        if magic == b"\x1f\x8b":
            with gzip.open(path, "rb") as handle:
                data = handle.read()
        else:
            data = path.read_bytes()
    except (OSError, EOFError) as exc:
        raise InputError(f"{path}: cannot read ({exc})") from None
    return io.StringIO(decode_text(data, path))


def decode_text(data: bytes, path: object, kind: str = "FASTA") -> str:
    """The one decoding of every text input (FASTA, MSA, labels, BED, MEME): UTF-8 (a leading
    byte-order mark, as Windows editors write, is dropped); a binary
    file, or a byte that is not UTF-8 (named with its line), is an ``InputError``."""
    if b"\x00" in data[:65536]:
        raise InputError(f"{path}: binary file, not {kind}")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError(
            f"{path}: line {line}: byte 0x{data[exc.start]:02x} is not UTF-8 text (save the file as UTF-8)"
        ) from None


def parse_fasta(handle: IO[str], path: object) -> Iterator[Record]:
    """Parse FASTA records from a text handle; structural errors name the file and line."""
    header: str | None = None
    chunks: list[str] = []
    seen_any_line = False
    for lineno, line in enumerate(handle, start=1):
        line = line.rstrip("\r\n")
        if not line.strip():
            continue
        if line.startswith(";") and header is None:
            continue
        if line.startswith(">"):
            if header is not None:
                yield _record(header, chunks)
            header, chunks = line[1:].strip(), []
            seen_any_line = True
        else:
            if header is None:
                raise InputError(
                    f"{path}: line {lineno}: sequence before the first '>' header; not a FASTA file"
                )
            chunks.append(line.strip().replace(" ", ""))
    if header is not None:
        yield _record(header, chunks)
    elif not seen_any_line:
        raise InputError(f"{path}: empty file, no FASTA records")


def _record(header: str, chunks: list[str]) -> Record:
    ident = header.split(maxsplit=1)[0] if header else ""
    return Record(ident, "".join(chunks), header)


def read_fasta(path: str | os.PathLike[str], *, kind: str = "dna", min_length: int = 1) -> list[Record]:
    """Read and validate every record of a FASTA file.

    Parameters
    ----------
    path : a FASTA or gzipped FASTA file, or ``-`` for stdin
    kind : ``"dna"`` (A C G T N; soft-masked lowercase upper-cased; IUPAC codes become N with a
        warning) or ``"protein"`` (the 20 amino acids plus X)
    min_length : records shorter than this are an error (for example the conv stem's width)

    Raises
    ------
    InputError
        For an empty file, no records, an empty record, a record without an id, a duplicate id,
        a letter outside the alphabet (naming the 1-based position), or protein in a DNA file.
    """
    with open_text(path) as handle:
        records = list(parse_fasta(handle, path))
    if not records:
        raise InputError(f"{path}: no FASTA records")
    seen: dict[str, int] = {}
    out: list[Record] = []
    n_ambiguous = 0
    for number, rec in enumerate(records, 1):
        if not rec.id:
            raise InputError(f"{path}: a record has an empty header line")
        if rec.id in seen:
            raise InputError(
                f"{path}: record '{rec.id}': duplicate id (records {seen[rec.id]} and {number}); "
                "ids must be unique: rename the copies, e.g. seqkit rename"
            )
        seen[rec.id] = number
        if not rec.seq:
            raise InputError(f"{path}: record '{rec.id}': empty sequence")
        if kind == "dna":
            seq, ambiguous = validate_dna(rec.seq, path, rec.id)
            n_ambiguous += ambiguous
        elif kind == "protein":
            seq = validate_protein(rec.seq, path, rec.id)
        else:
            raise ValueError(f"unknown sequence kind {kind!r}")
        if len(seq) < min_length:
            raise InputError(
                f"{path}: record '{rec.id}': sequence of {len(seq)} bp is shorter than the "
                f"minimum of {min_length} bp"
            )
        out.append(Record(rec.id, seq, rec.description))
    if n_ambiguous:
        log.warning("%s: %d IUPAC ambiguity codes were read as N", path, n_ambiguous)
    return out


def validate_dna(seq: str, path: object, record: str) -> tuple[str, int]:
    """Upper-case a DNA string and turn IUPAC codes into N.

    Returns the cleaned sequence and the number of ambiguity codes (other than N) replaced.
    """
    upper = seq.upper()
    letters = set(upper)
    if letters <= _DNA_OK:
        return upper, 0
    bad = letters - _DNA_OK - IUPAC_AMBIGUOUS
    if bad:
        pos = min(upper.index(c) for c in bad)
        letter = upper[pos]
        hint = " (protein sequence in a DNA file?)" if letter in PROTEIN_ONLY else ""
        raise InputError(
            f"{path}: record '{record}': invalid DNA letter '{seq[pos]}' at position {pos + 1}{hint}"
        )
    ambiguous = sum(upper.count(c) for c in letters & (IUPAC_AMBIGUOUS - {"N"}))
    for c in letters & IUPAC_AMBIGUOUS - {"N"}:
        upper = upper.replace(c, "N")
    return upper, ambiguous


_PROTEIN_OK = set(PROTEIN) | set("XBZUO")


def validate_protein(seq: str, path: object, record: str) -> str:
    """Upper-case a protein string; letters outside the amino-acid alphabet are an error."""
    upper = seq.upper().rstrip("*")
    bad = set(upper) - _PROTEIN_OK
    if bad:
        pos = min(upper.index(c) for c in bad)
        raise InputError(
            f"{path}: record '{record}': invalid amino-acid letter '{upper[pos]}' at position {pos + 1}"
        )
    return upper


def write_fasta(handle: IO[str], records: Iterable[Record], *, width: int = 80) -> None:
    """Write records as FASTA, ``width`` letters a line (0 for one line)."""
    for rec in records:
        handle.write(f">{rec.description or rec.id}\n")
        seq = rec.seq
        if width <= 0:
            handle.write(seq + "\n")
        else:
            for i in range(0, len(seq), width):
                handle.write(seq[i : i + width] + "\n")
