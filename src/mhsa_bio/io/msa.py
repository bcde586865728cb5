"""Multiple sequence alignments: aligned FASTA, a3m, a2m, Stockholm, Clustal and PSICOV ``.aln``."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import NamedTuple

import numpy as np

from mhsa_bio.errors import InputError
from mhsa_bio.io.fasta import open_text

log = logging.getLogger(__name__)

#: MSA states: the 20 amino acids, then the gap (index 20). A = 21.
MSA_ALPHABET = "ACDEFGHIKLMNPQRSTVWY-"
GAP = 20
N_STATES = 21
FORMATS = ("auto", "fasta", "a3m", "a2m", "stockholm", "clustal", "aln")

# Letter -> state. U (selenocysteine) reads as C and O (pyrrolysine) as K, their closest standard
# residues; the ambiguity codes B, Z, J and X carry no single residue and read as the gap state,
# as in CCMpred and plmDCA.
_LUT = np.full(256, 255, dtype=np.uint8)
for _i, _c in enumerate(MSA_ALPHABET):
    _LUT[ord(_c)] = _i
for _c, _to in (("U", "C"), ("O", "K"), ("B", "-"), ("Z", "-"), ("J", "-"), ("X", "-"), (".", "-")):
    _LUT[ord(_c)] = _LUT[ord(_to)]
_EXT = {
    ".a3m": "a3m",
    ".a2m": "a2m",
    ".sto": "stockholm",
    ".stk": "stockholm",
    ".stockholm": "stockholm",
    ".aln": "aln",
    ".clustal": "clustal",
    ".clw": "clustal",
    ".psicov": "aln",
}


class MSA(NamedTuple):
    """An alignment restricted to the query's residues.

    Attributes
    ----------
    ids : the N row ids (rows without an id are named ``row<k>``, 1-based)
    seqs : the N aligned rows, upper-case, length L, ``-`` for gaps
    query_index : row of the query
    path : the file it came from
    format : the format it was read as
    """

    ids: list[str]
    seqs: list[str]
    query_index: int
    path: str
    format: str

    @property
    def query(self) -> str:
        """The query's sequence (L,), gap-free."""
        return self.seqs[self.query_index]

    @property
    def length(self) -> int:
        return len(self.seqs[0])

    def encode(self) -> np.ndarray:
        """The alignment as states 0..20 (see ``MSA_ALPHABET``), shape (N, L), uint8."""
        return encode_rows(self.seqs)


def encode_rows(seqs: list[str]) -> np.ndarray:
    """Encode equal-length upper-case rows as states, shape (N, L) uint8."""
    joined = "".join(seqs).encode("ascii", errors="replace")
    out = _LUT[np.frombuffer(joined, dtype=np.uint8)]
    return out.reshape(len(seqs), -1 if seqs else 0)


def detect_format(path: str | os.PathLike[str], text: str) -> str:
    """Guess the format from the content (first non-blank line), then the extension."""
    first = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    ext = _EXT.get(Path(str(path).removesuffix(".gz")).suffix.lower())
    if first.startswith("# STOCKHOLM"):
        return "stockholm"
    if first.upper().startswith(("CLUSTAL", "MUSCLE", "PROBCONS")):
        return "clustal"
    if first.startswith(">"):
        return ext if ext in ("a3m", "a2m") else "fasta"
    if first and all(c.isalpha() or c in "-." for c in first):
        return "aln"
    raise InputError(
        f"{path}: not a multiple sequence alignment (first line is not FASTA, "
        "a3m, Stockholm, Clustal or PSICOV)"
    )


def _parse_fasta(text: str, path: object) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    header: str | None = None
    chunks: list[str] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or (line.startswith("#") and header is None):
            continue
        if line.startswith(">"):
            if header is not None:
                rows.append((header, "".join(chunks)))
            header, chunks = line[1:].strip(), []
        elif header is None:
            raise InputError(f"{path}: line {lineno}: sequence before the first '>' header")
        else:
            chunks.append(line.replace(" ", ""))
    if header is not None:
        rows.append((header, "".join(chunks)))
    return [((h.split(maxsplit=1)[0] if h else f"row{k + 1}"), s) for k, (h, s) in enumerate(rows)]


def _parse_blocks(text: str, path: object, *, stockholm: bool) -> list[tuple[str, str]]:
    order: list[str] = []
    seqs: dict[str, list[str]] = {}
    lines = text.splitlines()
    for lineno, raw in enumerate(lines[1:], start=2):
        if not raw.strip() or raw.startswith("#") or raw.strip() == "//":
            continue
        if not stockholm and raw[0].isspace():  # Clustal conservation line
            continue
        parts = raw.split()
        if len(parts) < 2:
            raise InputError(f"{path}: line {lineno}: expected 'id sequence'")
        ident, seq = parts[0], parts[1]
        if ident not in seqs:
            order.append(ident)
            seqs[ident] = []
        seqs[ident].append(seq)
    return [(ident, "".join(seqs[ident])) for ident in order]


def _parse_aln(text: str) -> list[tuple[str, str]]:
    rows = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return [(f"row{k + 1}", s) for k, s in enumerate(rows)]


def _strip_inserts(seq: str) -> str:
    return "".join(c for c in seq if not (c.islower() or c == "."))


def read_msa(
    path: str | os.PathLike[str],
    *,
    fmt: str = "auto",
    query: str | None = None,
    max_gap_fraction: float = 1.0,
) -> MSA:
    """Read an alignment, pick the query row and keep only the query's columns.

    Parameters
    ----------
    path : the alignment file (plain or gzipped)
    fmt : one of ``FORMATS``; ``auto`` detects it from the content, then the extension
    query : id of the query row; the first row when None
    max_gap_fraction : rows with a larger fraction of gaps over the query's columns are dropped
        (the query is always kept)

    Returns
    -------
    MSA with N rows of the query's length L; residue k of the query is column k.

    Raises
    ------
    InputError
        For a file that is not an alignment, rows of unequal length, letters that are not amino
        acids, an unknown query id, a gap-only query, or fewer than two sequences.
    """
    if fmt not in FORMATS:
        raise InputError(f"--format {fmt}: expected one of {', '.join(FORMATS)}")
    with open_text(path) as handle:
        text = handle.read()
    if not text.strip():
        raise InputError(f"{path}: empty file, no alignment")
    if fmt == "auto":
        fmt = detect_format(path, text)
    if fmt == "stockholm" and not any(line.strip() == "//" for line in text.splitlines()[-50:]):
        raise InputError(f"{path}: Stockholm file without its closing '//' line (cut short?)")
    if fmt in ("fasta", "a3m", "a2m"):
        rows = _parse_fasta(text, path)
    elif fmt in ("stockholm", "clustal"):
        rows = _parse_blocks(text, path, stockholm=fmt == "stockholm")
    else:
        rows = _parse_aln(text)
    if not rows:
        raise InputError(f"{path}: no sequences found (format {fmt})")
    # Inserts: a3m/a2m mark them in lowercase (and '.'); an aligned FASTA whose raw rows differ in
    # length is read the same way.
    raw_equal = len({len(s) for _, s in rows}) == 1
    if fmt in ("a3m", "a2m") or (fmt == "fasta" and not raw_equal):
        rows = [(i, _strip_inserts(s)) for i, s in rows]
    rows = [(i, s.upper().replace(".", "-")) for i, s in rows]
    ids = [i for i, _ in rows]
    width = len(rows[0][1])
    for ident, seq in rows:
        if len(seq) != width:
            raise InputError(
                f"{path}: record '{ident}': aligned length {len(seq)} differs from "
                f"the first row's {width}; not an alignment"
            )
        bad = set(seq) - set(MSA_ALPHABET) - set("UOBZJX")
        if bad:
            pos = min(seq.index(c) for c in bad)
            raise InputError(f"{path}: record '{ident}': invalid letter '{seq[pos]}' at column {pos + 1}")
    if all(set(seq) <= set("ACGTUN-") for _, seq in rows):
        raise InputError(
            f"{path}: only the letters A, C, G, T/U and N: a DNA or RNA alignment; "
            "contacts needs a protein alignment"
        )
    if len(rows) < 2:
        raise InputError(
            f"{path}: only one sequence; an alignment needs at least two (give one "
            "sequence with --database or --model instead)"
        )
    if query is None:
        qi = 0
    else:
        if query not in ids:
            hint = (
                f"rows of a PSICOV .aln have no ids and are named row1 to row{len(ids)}"
                if fmt == "aln"
                else f"ids: {', '.join(ids[:3])}{', ...' if len(ids) > 3 else ''}"
            )
            raise InputError(f"{path}: --query '{query}': no row with this id ({hint})")
        qi = ids.index(query)
    qseq = rows[qi][1]
    keep = [k for k, c in enumerate(qseq) if c != "-"]
    if not keep:
        raise InputError(f"{path}: record '{ids[qi]}': the query row is all gaps")
    seqs = ["".join(s[k] for k in keep) for _, s in rows] if len(keep) < width else [s for _, s in rows]
    if max_gap_fraction < 1.0:
        kept = [k for k, s in enumerate(seqs) if k == qi or s.count("-") / len(s) <= max_gap_fraction]
        ids, seqs = [ids[k] for k in kept], [seqs[k] for k in kept]
        qi = kept.index(qi)
    log.info(
        "%s: %d sequences, query '%s' of length %d (format %s)", path, len(seqs), ids[qi], len(keep), fmt
    )
    return MSA(ids=ids, seqs=seqs, query_index=qi, path=str(path), format=fmt)


def msa_from_sequences(
    ids: list[str], seqs: list[str], *, query_index: int = 0, path: str = "<memory>", fmt: str = "a3m"
) -> MSA:
    """Build an ``MSA`` from a3m-style rows (inserts in lowercase) already in memory."""
    rows = [_strip_inserts(s).upper().replace(".", "-") for s in seqs]
    q = rows[query_index]
    keep = [k for k, c in enumerate(q) if c != "-"]
    rows = ["".join(s[k] for k in keep) for s in rows]
    return MSA(ids=list(ids), seqs=rows, query_index=query_index, path=path, format=fmt)
