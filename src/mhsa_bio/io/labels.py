"""``--labels`` TSV: sequence id → class name, for more than two classes."""

from __future__ import annotations

import os

import numpy as np

from mhsa_bio.errors import InputError
from mhsa_bio.io.fasta import Record, open_text


def read_labels(path: str | os.PathLike[str], records: list[Record]) -> tuple[np.ndarray, list[str]]:
    """Read ``id<TAB>class`` lines (``#`` comments and an ``id class`` header allowed).

    Returns
    -------
    labels : (N,) int64, the class index of each record, in record order
    classes : sorted class names

    Raises
    ------
    InputError
        Malformed lines, an id given twice, an id not in the FASTA, a record without a label,
        fewer than two classes.
    """
    mapping: dict[str, str] = {}
    with open_text(path) as handle:
        for lineno, line in enumerate(handle, start=1):
            line = line.rstrip("\r\n")
            if not line.strip() or line.startswith("#"):
                continue
            fields = line.split("\t") if "\t" in line else line.split()
            if len(fields) < 2:
                raise InputError(f"{path}: line {lineno}: expected 'id<TAB>class', got {line!r}")
            ident, label = fields[0].strip(), fields[1].strip()
            if lineno == 1 and ident.lower() in {"id", "seq_id", "sequence", "name"}:
                continue
            if ident in mapping:
                raise InputError(f"{path}: line {lineno}: id '{ident}' is labelled twice")
            mapping[ident] = label
    known = {r.id for r in records}
    unknown = [i for i in mapping if i not in known]
    if unknown:
        raise InputError(f"{path}: id '{unknown[0]}' is not in the FASTA ({len(unknown)} unknown id(s))")
    missing = [r.id for r in records if r.id not in mapping]
    if missing:
        raise InputError(
            f"{path}: record '{missing[0]}' of the FASTA has no label ({len(missing)} unlabelled)"
        )
    classes = sorted(set(mapping.values()))
    if len(classes) < 2:
        raise InputError(f"{path}: only one class ({classes[0]!r}); give at least two")
    index = {c: i for i, c in enumerate(classes)}
    return np.array([index[mapping[r.id]] for r in records], dtype=np.int64), classes
