"""Protein structures (PDB or mmCIF): a chain's Cβ atoms mapped onto the query, and true contacts."""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path
from typing import NamedTuple

import numpy as np

from mhsa_bio.errors import InputError

log = logging.getLogger(__name__)

#: Three-letter residue names (with common modified residues) to one letter.
THREE_TO_ONE = {
    "ALA": "A",
    "CYS": "C",
    "ASP": "D",
    "GLU": "E",
    "PHE": "F",
    "GLY": "G",
    "HIS": "H",
    "ILE": "I",
    "LYS": "K",
    "LEU": "L",
    "MET": "M",
    "ASN": "N",
    "PRO": "P",
    "GLN": "Q",
    "ARG": "R",
    "SER": "S",
    "THR": "T",
    "VAL": "V",
    "TRP": "W",
    "TYR": "Y",
    "MSE": "M",
    "SEC": "C",
    "PYL": "K",
    "HSD": "H",
    "HSE": "H",
    "HIE": "H",
    "HID": "H",
    "CSO": "C",
    "SEP": "S",
    "TPO": "T",
    "PTR": "Y",
    "MLY": "K",
}


class ChainResidues(NamedTuple):
    """The residues of one chain that have coordinates.

    Attributes
    ----------
    chain : the chain id
    sequence : one letter per residue (R,), ``X`` for unknown residue names
    labels : the R residue labels as written in the file, number plus insertion code (``"52A"``)
    coords : (R, 3) Cβ coordinates (Cα for glycine or when Cβ is missing), float64
    """

    chain: str
    sequence: str
    labels: list[str]
    coords: np.ndarray


class QueryStructure(NamedTuple):
    """A structure mapped onto the query's L residues.

    Attributes
    ----------
    distances : (L, L) Cβ–Cβ distances in Å; NaN where either residue is unmapped
    contacts : (L, L) int8, 1 contact (< cutoff), 0 none, -1 unknown (unmapped residue)
    mapping : (L,) int64, index into the chain's residues, -1 when unmapped
    labels : (L,) the chain's residue label for each query residue, "" when unmapped
    chain : the chain id
    identity : identity of the aligned pairs
    n_mapped : number of query residues with coordinates
    """

    distances: np.ndarray
    contacts: np.ndarray
    mapping: np.ndarray
    labels: list[str]
    chain: str
    identity: float
    n_mapped: int


def read_chain(path: str | os.PathLike[str], chain: str | None = None) -> ChainResidues:
    """Read one chain of the first model of a PDB or mmCIF file.

    Parameters
    ----------
    path : ``.pdb``/``.ent`` or ``.cif``/``.mmcif`` (detected from the content when unclear)
    chain : the chain id; None takes the only chain (an error when there are several). A file
        whose only chain has a blank id accepts any requested id, with a warning.

    Raises
    ------
    InputError
        For a missing or unreadable file, an unknown chain, or a chain without amino acids.
    """
    from Bio.PDB import MMCIFParser, PDBParser
    from Bio.PDB.PDBExceptions import PDBConstructionWarning

    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    head = path.read_bytes()[:4096].decode("utf-8", errors="replace")
    is_cif = path.suffix.lower() in (".cif", ".mmcif") or head.lstrip().startswith("data_")
    parser = MMCIFParser(QUIET=True) if is_cif else PDBParser(QUIET=True)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PDBConstructionWarning)
            structure = parser.get_structure(path.stem, str(path))
    except Exception as exc:  # Biopython raises many types for malformed files
        raise InputError(f"{path}: cannot read the structure ({exc})") from None
    models = list(structure)
    if not models:
        raise InputError(f"{path}: no atoms found; not a PDB or mmCIF file")
    chains = {c.id: c for c in models[0]}
    if not chains:
        raise InputError(f"{path}: no chains found")
    if chain is None:
        if len(chains) > 1:
            raise InputError(
                f"{path}: {len(chains)} chains ({', '.join(sorted(chains))}); choose one with --chain"
            )
        chosen = next(iter(chains.values()))
    elif chain in chains:
        chosen = chains[chain]
    elif list(chains) == [" "]:
        log.warning("%s: the only chain has a blank id; reading it as chain %s", path, chain)
        chosen = chains[" "]
    else:
        raise InputError(
            f"{path}: chain '{chain}' not found (chains: {', '.join(repr(c) for c in sorted(chains))})"
        )
    seq, labels, coords = [], [], []
    for residue in chosen:
        hetflag, number, icode = residue.id
        name = residue.get_resname().strip()
        if hetflag.strip() and name not in THREE_TO_ONE:
            continue  # water, ligands
        if hetflag == "W":
            continue
        atom = (
            residue["CB"] if "CB" in residue and name != "GLY" else residue["CA"] if "CA" in residue else None
        )
        if atom is None:
            continue
        seq.append(THREE_TO_ONE.get(name, "X"))
        labels.append(f"{number}{icode.strip()}")
        coords.append(atom.coord.astype(np.float64))
    if not seq:
        raise InputError(f"{path}: chain '{chosen.id}': no amino-acid residues with Cα atoms")
    return ChainResidues(chosen.id, "".join(seq), labels, np.asarray(coords))


def align_to_query(query: str, chain_seq: str) -> np.ndarray:
    """Map each query residue to a chain residue by global alignment (free end gaps).

    Returns
    -------
    (L,) int64: the chain index aligned to each query residue, -1 when none.
    """
    from Bio import Align
    from Bio.Align import substitution_matrices

    aligner = Align.PairwiseAligner()
    aligner.mode = "global"
    aligner.substitution_matrix = substitution_matrices.load("BLOSUM62")
    aligner.open_gap_score = -10.0
    aligner.extend_gap_score = -0.5
    aligner.end_gap_score = 0.0
    q = query.replace("-", "X")
    alignment = aligner.align(q, chain_seq)[0]
    mapping = np.full(len(query), -1, dtype=np.int64)
    for (qs, qe), (cs, ce) in zip(*alignment.aligned, strict=True):
        mapping[qs:qe] = np.arange(cs, ce)
    return mapping


def query_structure(
    path: str | os.PathLike[str],
    query: str,
    *,
    chain: str | None = None,
    cutoff: float = 8.0,
    min_identity: float = 0.5,
) -> QueryStructure:
    """Cβ distances and contacts of a structure, in the query's numbering.

    Residues are matched by sequence alignment, so residue numbers, insertion codes, missing
    residues and offsets between the file and the query do not matter. Aligned pairs whose
    letters differ still map (a point mutant is the same fold); the whole alignment must reach
    ``min_identity`` over the aligned pairs.

    Parameters
    ----------
    path : PDB or mmCIF file
    query : the query sequence (L,)
    chain : chain id (see ``read_chain``)
    cutoff : contact distance in Å (Cβ–Cβ, Cα for glycine); < cutoff is a contact
    min_identity : below this identity the structure is taken to be of another protein

    Raises
    ------
    InputError
        When the chain does not match the query.
    """
    res = read_chain(path, chain)
    mapping = align_to_query(query, res.sequence)
    mapped = mapping >= 0
    n_mapped = int(mapped.sum())
    same = sum(query[i] == res.sequence[mapping[i]] for i in np.flatnonzero(mapped))
    identity = same / n_mapped if n_mapped else 0.0
    if n_mapped < max(2, 0.2 * len(query)) or identity < min_identity:
        raise InputError(
            f"{path}: chain '{res.chain}': its sequence does not match the query "
            f"({n_mapped} of {len(query)} residues aligned at {identity:.0%} "
            "identity); check --chain and --query"
        )
    xyz = np.full((len(query), 3), np.nan)
    xyz[mapped] = res.coords[mapping[mapped]]
    dist = np.linalg.norm(xyz[:, None, :] - xyz[None, :, :], axis=-1)
    contacts = np.where(np.isnan(dist), -1, dist < cutoff).astype(np.int8)
    labels = [res.labels[m] if m >= 0 else "" for m in mapping]
    log.info(
        "%s: chain '%s': %d of %d query residues mapped, %.1f%% identity",
        path,
        res.chain,
        n_mapped,
        len(query),
        identity * 100,
    )
    return QueryStructure(dist, contacts, mapping, labels, res.chain, float(identity), n_mapped)
