"""BED regions cut from an indexed genome FASTA, with their genome coordinates kept."""

from __future__ import annotations

import gzip
import logging
import os
import re
import struct
import zlib
from pathlib import Path
from typing import NamedTuple

from mhsa_bio.alphabet import reverse_complement
from mhsa_bio.errors import InputError, require_file
from mhsa_bio.io.fasta import Record, decode_text, validate_dna

log = logging.getLogger(__name__)

__all__ = ["Region", "read_bed", "read_bed_regions", "region_of", "format_region"]


class Region(NamedTuple):
    """One BED interval: 0-based half-open ``[start, end)`` on ``chrom``, ``strand`` ``+``/``-``."""

    chrom: str
    start: int
    end: int
    strand: str
    name: str


_COORD_RE = re.compile(r"^(?P<chrom>\S+):(?P<start>\d+)-(?P<end>\d+)\((?P<strand>[+-])\)$")
_SKIP_PREFIXES = ("track", "browser", "#")


def format_region(chrom: str, start: int, end: int, strand: str) -> str:
    """``chrom:start-end(strand)`` in BED coordinates (0-based start, as ``bedtools getfasta``)."""
    return f"{chrom}:{start}-{end}({strand})"


def region_of(record: Record) -> Region | None:
    """The genome coordinates of a record made by :func:`read_bed_regions`, else ``None``.

    They are read back from the last word of the description, ``chrom:start-end(strand)``, so they
    survive a FASTA round trip.
    """
    words = record.description.split()
    if not words:
        return None
    match = _COORD_RE.match(words[-1])
    if match is None:
        return None
    return Region(match["chrom"], int(match["start"]), int(match["end"]), match["strand"], record.id)


def _read_lines(path: Path) -> list[str]:
    require_file(path)
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise InputError(f"{path}: cannot read gzip data ({exc})") from None
    return decode_text(data, path, "BED").splitlines()


def read_bed(bed_path: str | os.PathLike[str]) -> list[Region]:
    """Parse a BED3 to BED6+ file (plain or gzipped) into regions, in file order.

    Column 4 (name) becomes ``Region.name`` when it is present, not ``.``, and unique in the file;
    otherwise the name is ``chrom:start-end(strand)``. Column 6 is the strand (``+``, ``-``, or
    ``.`` for +). ``track``, ``browser``, ``#`` and blank lines are skipped.

    Raises
    ------
    InputError
        For a line with fewer than 3 columns, non-integer or negative coordinates, start >= end, a
        strand other than + - ., the same region twice, or a file without regions.
    """
    return [region for _, region in _parse_bed(Path(bed_path))]


def _parse_bed(path: Path) -> list[tuple[int, Region]]:
    """The regions of a BED file with their 1-based line numbers."""
    rows: list[tuple[int, str, int, int, str, str]] = []
    for lineno, line in enumerate(_read_lines(path), start=1):
        if not line.strip() or line.lstrip().startswith(_SKIP_PREFIXES):
            continue
        fields = line.rstrip("\r\n").split("\t") if "\t" in line else line.split()
        fields = [f.strip() for f in fields]
        if len(fields) < 3:
            raise InputError(
                f"{path}: line {lineno}: {len(fields)} column(s); BED needs at least chrom, start, "
                "end separated by tabs"
            )
        chrom, start_s, end_s = fields[:3]
        try:
            start, end = int(start_s), int(end_s)
        except ValueError:
            raise InputError(
                f"{path}: line {lineno}: start '{start_s}' and end '{end_s}' must be integers"
            ) from None
        if start < 0:
            raise InputError(f"{path}: line {lineno}: negative start {start}")
        if start >= end:
            raise InputError(f"{path}: line {lineno}: start {start} is not before end {end} (empty region)")
        strand = fields[5] if len(fields) >= 6 else "+"
        if strand == ".":
            strand = "+"
        if strand not in ("+", "-"):
            raise InputError(f"{path}: line {lineno}: strand '{strand}' in column 6 must be +, - or .")
        name = fields[3] if len(fields) >= 4 else ""
        rows.append((lineno, chrom, start, end, strand, name))
    if not rows:
        raise InputError(f"{path}: no regions (an empty BED file?)")

    name_counts: dict[str, int] = {}
    for *_, name in rows:
        name_counts[name] = name_counts.get(name, 0) + 1
    regions: list[tuple[int, Region]] = []
    seen: dict[str, int] = {}
    for lineno, chrom, start, end, strand, name in rows:
        coord = format_region(chrom, start, end, strand)
        usable = name not in ("", ".") and name_counts[name] == 1 and not any(c.isspace() for c in name)
        ident = name if usable else coord
        if ident in seen:
            raise InputError(f"{path}: line {lineno}: region {coord} repeats line {seen[ident]}")
        seen[ident] = lineno
        regions.append((lineno, Region(chrom, start, end, strand, ident)))
    return regions


def check_genome(path: Path) -> bool:
    """Check the genome file before pyfaidx opens it; return whether it is BGZF-compressed."""
    require_file(path, what="genome FASTA file")
    with open(path, "rb") as handle:
        head = handle.read(4096)
    bgzf = False
    if head[:2] == b"\x1f\x8b":
        # BGZF: gzip with the FEXTRA flag and a 'BC' subfield; pyfaidx reads only that kind.
        if not (len(head) >= 14 and head[3] & 4 and head[12:14] == b"BC"):
            raise InputError(
                f"{path}: gzip-compressed genome; pyfaidx needs plain FASTA or bgzip "
                "(`gunzip` it, or recompress it with `bgzip`)"
            )
        bgzf = True
        with gzip.open(path, "rb") as handle:
            head = handle.read(4096)
    if b"\x00" in head:
        raise InputError(f"{path}: binary file, not a genome FASTA")
    if not head.lstrip().startswith(b">"):
        raise InputError(f"{path}: not a FASTA file (the first line does not start with '>')")
    return bgzf


def _index_is_current(genome: Path, index: Path) -> bool:
    return index.exists() and index.stat().st_mtime >= genome.stat().st_mtime


def _fai_matches(genome: Path, index: Path) -> bool:
    """Whether a plain FASTA's ``.fai`` still describes it: the headers sit just before the
    recorded offsets (up to 200 records checked, spread over the file) and the last record ends
    where the file does (a genome replaced by another with an older time stamp keeps a newer,
    wrong index)."""
    try:
        rows = [line.split("\t") for line in index.read_text().splitlines() if line.strip()]
        if not rows:
            return False
        size = genome.stat().st_size
        picks = (
            sorted({round(k * (len(rows) - 1) / 199) for k in range(200)})
            if len(rows) > 200
            else range(len(rows))
        )
        with open(genome, "rb") as handle:
            for k in picks:
                name, offset = rows[k][0].encode(), int(rows[k][2])
                back = min(offset, len(name) + 256)
                handle.seek(offset - back)
                before = handle.read(back)
                cut = before[:-1].rfind(b"\n") + 1  # start of the header line
                if cut == 0 and back < offset:
                    continue  # a header longer than we read: cannot tell, assume fine
                line = before[cut:].rstrip(b"\r\n")
                if not (
                    line == b">" + name
                    or line.startswith(b">" + name)
                    and line[len(name) + 1 : len(name) + 2].isspace()
                ) or not before.endswith(b"\n"):
                    return False
            length, offset, bases, width = map(int, rows[-1][1:5])
            lines, rest = divmod(length, bases) if bases else (0, 0)
            end = offset + lines * width + rest
            if end > size:
                return False
            handle.seek(end)
            return b">" not in handle.read(min(size - end, 1 << 20))
    except (OSError, ValueError, IndexError):
        return False


def open_genome(genome_path: str | os.PathLike[str]):  # -> pyfaidx.Fasta
    """The genome as a ``pyfaidx.Fasta`` (raw strings, case kept), indexing it (``.fai``, and
    ``.gzi`` for BGZF) when the index is missing or older than the genome; every failure is an
    ``InputError`` that names the file."""
    import pyfaidx

    path = Path(genome_path)
    bgzf = check_genome(path)
    indexes = [Path(f"{path}.fai")] + ([Path(f"{path}.gzi")] if bgzf else [])
    stale = [index for index in indexes if not _index_is_current(path, index)]
    if not bgzf and not stale and not _fai_matches(path, indexes[0]):
        if os.access(path.parent if str(path.parent) else ".", os.W_OK):
            log.warning("%s: its index %s does not match it; rebuilding", path, indexes[0])
            indexes[0].unlink()
            stale = indexes[:1]
        else:
            raise InputError(
                f"{path}: its index {indexes[0]} does not match the file; rebuild it with `samtools faidx`"
            )
    writable = os.access(path.parent if str(path.parent) else ".", os.W_OK)
    if stale and not writable and not all(index.exists() for index in indexes):
        raise InputError(
            f"{path}: cannot write index {stale[0]}; run `samtools faidx` or copy the genome to "
            "a writable folder"
        )
    if stale and writable:
        log.info("indexing %s", path)
    try:
        return pyfaidx.Fasta(str(path), as_raw=True, rebuild=writable, sequence_always_upper=False)
    except pyfaidx.FastaIndexingError as exc:
        raise InputError(f"{path}: not a valid genome FASTA ({_one_line(exc)})") from None
    except ValueError as exc:  # duplicate sequence names
        raise InputError(f"{path}: {_one_line(exc)}") from None
    except PermissionError:
        raise InputError(
            f"{path}: cannot write index {indexes[0]}; run `samtools faidx` or copy the genome "
            "to a writable folder"
        ) from None
    except (OSError, EOFError, UnicodeDecodeError, struct.error, zlib.error) as exc:
        raise InputError(
            f"{path}: cannot read the genome (truncated or corrupt? {_one_line(exc) or type(exc).__name__})"
        ) from None


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def read_bed_regions(
    bed_path: str | os.PathLike[str], genome_path: str | os.PathLike[str], *, min_length: int = 1
) -> list[Record]:
    """Cut the regions of a BED file out of a genome FASTA (indexed with pyfaidx).

    Parameters
    ----------
    bed_path : BED3 to BED6+ (plain or gzipped); see :func:`read_bed`
    genome_path : genome FASTA, plain or bgzip-compressed. A missing or stale ``.fai`` index is
        written beside it, so the folder must be writable unless a current index is there.
    min_length : regions shorter than this are an error (for example the conv stem's width)

    Returns
    -------
    list of Record
        One record per region in BED order. ``id`` is the BED name (column 4) when present and
        unique, else ``chrom:start-end(strand)``; ``description`` is
        ``"{id} chrom:start-end(strand)"`` (or just the coordinates when they are the id), with
        BED coordinates (0-based start, end exclusive). Minus-strand regions are
        reverse-complemented. Soft-masked (lowercase) bases are upper-cased and IUPAC codes become
        N, as for FASTA input. Get the coordinates back with :func:`region_of`, which also works
        on records read back from a FASTA written from these.

    Raises
    ------
    InputError
        For any problem listed in :func:`read_bed`; an unknown chromosome; a region past the end
        of its chromosome (naming the chromosome's length); a region shorter than ``min_length``;
        a genome that is not FASTA; a missing index that cannot be written.
    """
    bed = Path(bed_path)
    genome = Path(genome_path)
    regions = _parse_bed(bed)
    fasta = open_genome(genome)
    try:
        lengths = {name: len(fasta[name]) for name in fasta.keys()}
        out: list[Record] = []
        n_ambiguous = 0
        for lineno, region in regions:
            where = f"{bed}: line {lineno}"
            if region.chrom not in lengths:
                known = ", ".join(list(lengths)[:5]) + (", ..." if len(lengths) > 5 else "")
                raise InputError(f"{where}: chromosome '{region.chrom}' is not in {genome} (it has {known})")
            size = lengths[region.chrom]
            coord = format_region(region.chrom, region.start, region.end, region.strand)
            if region.end > size:
                raise InputError(
                    f"{where}: region {coord} is outside chromosome '{region.chrom}' (length {size})"
                )
            if region.end - region.start < min_length:
                raise InputError(
                    f"{where}: region {coord} of {region.end - region.start} bp is shorter than "
                    f"the minimum of {min_length} bp"
                )
            raw = str(fasta[region.chrom][region.start : region.end])
            seq, ambiguous = validate_dna(raw, genome, region.name)
            n_ambiguous += ambiguous
            if region.strand == "-":
                seq = reverse_complement(seq)
            description = coord if region.name == coord else f"{region.name} {coord}"
            out.append(Record(region.name, seq, description))
    finally:
        fasta.close()
    if n_ambiguous:
        log.warning("%s: %d IUPAC ambiguity codes in the regions were read as N", genome, n_ambiguous)
    log.info("read %d regions from %s", len(out), bed)
    return out
