"""Building an MSA for one sequence by an iterative jackhmmer search (pyhmmer) of a FASTA database."""

from __future__ import annotations

import logging
import os

from mhsa_bio.errors import InputError
from mhsa_bio.io.msa import MSA
from mhsa_bio.io.outputs import atomic_open

log = logging.getLogger(__name__)


def _query_row(hmm_line: str, target_line: str, hmm_from: int, length: int) -> str:
    """Project one domain alignment onto the query's L columns (inserts dropped)."""
    row = ["-"] * length
    k = hmm_from - 1
    for m, t in zip(hmm_line, target_line, strict=True):
        if m == ".":  # a residue of the target inserted between match states
            continue
        if 0 <= k < length:
            row[k] = t.upper() if t.isalpha() else "-"
        k += 1
    return "".join(row)


def build_msa(
    query_id: str,
    sequence: str,
    database: str | os.PathLike[str],
    *,
    iterations: int = 3,
    evalue: float = 1e-3,
    max_sequences: int = 10000,
    cpus: int = 0,
) -> MSA:
    """Search ``database`` with jackhmmer and align the included domains onto the query.

    The query is row 0; every included domain adds one row in query coordinates (match states
    of the profile are the query's residues; inserts are dropped, deletions are gaps). Rows are
    ordered by E-value and capped at ``max_sequences``.

    Parameters
    ----------
    query_id, sequence : the query (L,)
    database : a protein FASTA file
    iterations : jackhmmer iterations (HMMER's ``-N``)
    evalue : inclusion E-value (``--incE`` and ``--incdomE``)
    max_sequences : the most rows kept besides the query
    cpus : threads for pyhmmer (0 = all)

    Raises
    ------
    InputError
        When the database cannot be read as protein FASTA.
    """
    import pyhmmer

    # declared as the base class: pyhmmer types jackhmmer for DigitalSequence[Alphabet] only
    alphabet: pyhmmer.easel.Alphabet = pyhmmer.easel.Alphabet.amino()
    query = pyhmmer.easel.TextSequence(name=query_id.encode(), sequence=sequence).digitize(alphabet)
    try:
        with pyhmmer.easel.SequenceFile(
            os.fspath(database), digital=True, alphabet=alphabet, format="fasta"
        ) as handle:
            targets = handle.read_block()
    except (ValueError, OSError, EOFError) as exc:
        raise InputError(f"{database}: cannot read as protein FASTA ({exc})") from None
    if len(targets) == 0:
        raise InputError(f"{database}: no sequences")
    result = next(
        iter(
            pyhmmer.hmmer.jackhmmer(
                query,
                targets,
                max_iterations=iterations,
                checkpoints=False,
                cpus=cpus,
                incE=evalue,
                incdomE=evalue,
            )
        )
    )
    length = len(sequence)
    if result.hmm.M != length:
        log.warning("jackhmmer profile has %d match states for a query of %d residues", result.hmm.M, length)
    rows: list[tuple[float, str, str]] = []
    for hit in result.hits:
        if not hit.included:
            continue
        name = hit.name.decode() if isinstance(hit.name, bytes) else str(hit.name)
        for dom in hit.domains.included:
            ali = dom.alignment
            row = _query_row(ali.hmm_sequence, ali.target_sequence, ali.hmm_from, length)
            ident = f"{name}/{ali.target_from}-{ali.target_to}"
            rows.append((dom.i_evalue, ident, row))
    rows.sort(key=lambda r: r[0])
    rows = rows[:max_sequences]
    log.info(
        "jackhmmer: %d included domains after %d iterations (converged: %s)",
        len(rows),
        result.iteration,
        result.converged,
    )
    ids = [query_id] + [r[1] for r in rows]
    seqs = [sequence.upper()] + [r[2] for r in rows]
    return MSA(ids=ids, seqs=seqs, query_index=0, path=str(database), format="jackhmmer")


def write_a3m(path: str | os.PathLike[str], msa: MSA) -> None:
    """Write an MSA as a3m (here plain aligned FASTA: all rows have the query's columns)."""
    with atomic_open(path) as handle:
        for ident, seq in zip(msa.ids, msa.seqs, strict=True):
            handle.write(f">{ident}\n{seq}\n")
