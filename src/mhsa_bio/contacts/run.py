"""The contacts run: input files (MSA, one sequence + database, or one sequence + model) to scores,
the structure check, and every output with ``run.json``; ``find.contacts_from_msa`` does the fit."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from mhsa_bio.contacts.evaluate import contact_counts, precision_table
from mhsa_bio.contacts.find import ContactsResult, contacts_from_msa
from mhsa_bio.contacts.fit import FitConfig
from mhsa_bio.errors import InputError
from mhsa_bio.io.msa import read_msa

log = logging.getLogger(__name__)


def check_structure(
    pdb: str | os.PathLike[str], query: str, *, chain: str | None = None, cutoff: float = 8.0
):
    """Read ``pdb`` and map its chain onto ``query``; raises ``InputError`` on a mismatch.

    Called before any fit or search, so a wrong file, chain or query fails in seconds.
    """
    from mhsa_bio.io.structure import query_structure

    return query_structure(pdb, query, chain=chain, cutoff=cutoff)


def evaluate(
    result: ContactsResult,
    pdb: str | os.PathLike[str],
    *,
    chain: str | None = None,
    cutoff: float = 8.0,
    structure=None,
) -> ContactsResult:
    """Add the structure and the precision table (``metrics.json``) to a result.

    ``structure`` is a ``QueryStructure`` already mapped onto ``result.query`` (from
    ``check_structure``); without it the file is read here.
    """
    st = structure
    if st is None:
        st = check_structure(pdb, result.query, chain=chain, cutoff=cutoff)
    metrics = {
        "structure": str(pdb),
        "chain": st.chain,
        "cutoff_angstrom": cutoff,
        "atoms": "CB (CA for glycine)",
        "length": len(result.query),
        "mapped_residues": st.n_mapped,
        "identity_to_query": round(st.identity, 4),
        "true_contacts": contact_counts(st.contacts),
        "precision": precision_table(result.scores, st.contacts),
        "method": result.method,
    }
    return result._replace(structure=st, metrics=metrics)


def read_single_sequence(path: str | os.PathLike[str]) -> tuple[str, str] | None:
    """If ``path`` is a FASTA of exactly one ungapped sequence, return (id, sequence), else None."""
    from mhsa_bio.io.fasta import open_text, parse_fasta, validate_protein

    with open_text(path) as handle:
        text = handle.read()
    if not text.lstrip().startswith(">"):
        return None
    import io

    records = list(parse_fasta(io.StringIO(text), path))
    if len(records) != 1 or "-" in records[0].seq or "." in records[0].seq:
        return None
    rec = records[0]
    if not rec.seq:
        raise InputError(f"{path}: record '{rec.id}': empty sequence")
    return rec.id or "query", validate_protein(rec.seq, path, rec.id)


def predict_contacts(
    path: str | os.PathLike[str],
    *,
    fmt: str = "auto",
    query: str | None = None,
    config: FitConfig | None = None,
    identity: float = 0.8,
    database: str | os.PathLike[str] | None = None,
    search_options: dict[str, Any] | None = None,
    model: str | os.PathLike[str] | None = None,
    pdb: str | None = None,
    chain: str | None = None,
    device: str = "cpu",
    seed: int = 0,
    work_dir: str | os.PathLike[str] | None = None,
    progress=None,
) -> ContactsResult:
    """Contacts for an MSA, or for one sequence with ``database`` (jackhmmer) or ``model`` (ESM).

    Parameters
    ----------
    path : an MSA in any supported format, or a FASTA of one sequence
    fmt, query : passed to ``read_msa``
    config : fit configuration (factored attention by default)
    identity : identity threshold of the sequence weights
    database : a protein FASTA to search with jackhmmer when ``path`` holds one sequence
    search_options : ``iterations``, ``evalue``, ``max_sequences`` for jackhmmer
    model : a local ESM-2 checkpoint (``.pt``) to read contacts from its attention
    pdb, chain : a structure to evaluate against
    work_dir : where the jackhmmer MSA is saved (``msa.a3m``), if given

    Raises
    ------
    InputError
        For one sequence with neither ``database`` nor ``model``, and every input problem.
    """
    config = config or FitConfig()
    single = read_single_sequence(path) if fmt in ("auto", "fasta") else None
    if model is not None:
        from mhsa_bio.contacts.esm import contacts_from_esm

        if single is None:
            msa = read_msa(path, fmt=fmt, query=query)
            single = (msa.ids[msa.query_index], msa.query.replace("-", ""))
        qid, seq = single
        structure = check_structure(pdb, seq, chain=chain) if pdb is not None else None
        scores, probs, info = contacts_from_esm(model, seq, device=device)
        result = ContactsResult(seq, qid, scores, probs, "esm", info)
    elif single is not None:
        if database is None:
            raise InputError(
                f"{path}: one sequence ('{single[0]}'), not an alignment: give "
                "--database SEQS.fasta to build an MSA with jackhmmer, or --model "
                "ESM2.pt to use a protein language model"
            )
        from mhsa_bio.contacts.search import build_msa

        structure = check_structure(pdb, single[1], chain=chain) if pdb is not None else None
        msa = build_msa(single[0], single[1], database, **(search_options or {}))
        if work_dir is not None:
            from mhsa_bio.contacts.search import write_a3m

            write_a3m(Path(work_dir) / "msa.a3m", msa)
        if len(msa.seqs) < 2:
            raise InputError(
                f"{database}: jackhmmer found no homologue of '{single[0]}'; "
                "an alignment needs at least two sequences"
            )
        result = contacts_from_msa(
            msa, config=config, identity=identity, device=device, seed=seed, progress=progress
        )
        result.info["msa"] = {"database": str(database), "hits": len(msa.seqs) - 1, **(search_options or {})}
    else:
        if database is not None:
            log.warning("--database is ignored: %s is already an alignment", path)
        msa = read_msa(path, fmt=fmt, query=query)
        structure = check_structure(pdb, msa.query, chain=chain) if pdb is not None else None
        result = contacts_from_msa(
            msa, config=config, identity=identity, device=device, seed=seed, progress=progress
        )
        result.info["msa_format"] = msa.format
    if pdb is not None:
        result = evaluate(result, pdb, chain=chain, structure=structure)
    return result


def check_inputs(
    alignment: Path,
    *,
    pdb: Path | None = None,
    database: Path | None = None,
    model: Path | None = None,
    lr: float | None = None,
    top: int | None = None,
    threshold: float | None = None,
) -> None:
    """The checks ``mhsa-bio contacts`` makes before anything is written (files, --lr, and one
    of --top and --threshold)."""
    for label, path in (("input", alignment), ("--pdb", pdb), ("--database", database), ("--model", model)):
        if path is not None and not Path(path).is_file():
            raise InputError(f"{path}: no such file ({label})")
    if lr is not None and not 0 < lr < float("inf"):  # also NaN
        raise InputError(f"--lr {lr}: must be a positive number")
    if top is not None and threshold is not None:
        raise InputError("--top and --threshold: give one (the top pairs, or a probability cut-off)")


def run_contacts(
    alignment: Path,
    out_dir: Path,
    *,
    config: FitConfig,
    top: int | None,
    threshold: float | None,
    min_separation: int,
    params: dict[str, Any],
    pdb: Path | None = None,
    database: Path | None = None,
    model: Path | None = None,
    **options: Any,
) -> ContactsResult:
    """One ``mhsa-bio contacts`` run: ``predict_contacts`` (``options`` are its keywords), then
    the maps, tables, binary map and ``run.json`` written into ``out_dir``."""
    from mhsa_bio.contacts.writers import write_outputs
    from mhsa_bio.io.outputs import write_run_json

    result = predict_contacts(
        alignment,
        config=config,
        database=database,
        model=model,
        pdb=str(pdb) if pdb else None,
        work_dir=out_dir,
        **options,
    )
    written = write_outputs(out_dir, result, top=top, threshold=threshold, min_separation=min_separation)
    write_run_json(out_dir, "contacts", params, result=result.info, outputs=written)
    return result
