"""Scoring sequences of any length with a trained model, in memory-bounded batches."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from mhsa_bio.io.fasta import Record

if TYPE_CHECKING:
    import torch

    from mhsa_bio.models.promoter import Scorer


def member_width(net: Scorer) -> int:
    """The width of a loaded scorer's position-specific k-mer block (``train
    --kmer-positional``); 0 when it has none or no k-mer member."""
    from mhsa_bio.models.promoter import WithKmer

    return net.kmer.width if isinstance(net, WithKmer) else 0


def predict_proba(
    model: Scorer,
    records: Sequence[Record],
    *,
    device: torch.device,
    batch_size: int = 128,
    amp: bool = True,
) -> np.ndarray:
    """Class probabilities (N, C), in input order."""
    from mhsa_bio.inference import batched_forward, sequence_batches

    out = np.zeros((len(records), model.config.n_classes), dtype=np.float64)
    batches = sequence_batches([r.seq for r in records], batch_size=batch_size)
    for batch in batched_forward(model, batches, device=device, amp=amp):
        out[batch.rows] = batch.scores
    return out


def prediction_table(
    model_path: Path,
    fasta: Path,
    *,
    device: torch.device,
    batch_size: int = 128,
    amp: bool = True,
    threshold: float | None = None,
) -> list[str]:
    """The lines of ``predict``'s TSV: a ``#`` line (version, checkpoint and its sha256, the call
    rule), the header, then ``id length P(class)... call`` per sequence in input order.

    The call of a two-class model is positive at P >= ``threshold``, else at the checkpoint's
    stored decision threshold (0.5 when none is stored); other models call the most probable class.
    """
    from mhsa_bio import __version__
    from mhsa_bio.checkpoint import decision_threshold, load_predictor, sha256
    from mhsa_bio.errors import InputError
    from mhsa_bio.io.fasta import read_fasta

    net, ckpt = load_predictor(model_path, device=device)
    classes = ckpt["classes"]
    cut = decision_threshold(ckpt)
    if threshold is not None:
        if cut is None:
            raise InputError(
                f"{model_path}: --threshold needs a two-class model; this one has "
                f"{len(classes)} classes (the call is the most probable one)"
            )
        cut, source = threshold, "--threshold"
    else:
        source = (
            "stored in the checkpoint"
            if "decision_threshold" in ckpt
            else "none stored in the checkpoint: 0.5"
        )
    records = read_fasta(fasta, min_length=net.config.stem_kernel)
    width = member_width(net)
    other = sum(len(r.seq) != width for r in records) if width else 0
    if other:
        logging.getLogger(__name__).warning(
            "%s: %d of %d sequences are not %d bp long, the windows the k-mer member's "
            "position-specific block was fitted on; it reads each from its 5' end",
            fasta,
            other,
            len(records),
            width,
        )
    probs = predict_proba(net, records, device=device, batch_size=batch_size, amp=amp)
    calls = probs.argmax(1) if cut is None else (probs[:, 1] >= cut).astype(int)
    rule = (
        "call: most probable class"
        if cut is None
        else f"call: {classes[1]} if P({classes[1]}) >= {cut:.6g} ({source})"
    )
    if "kmer_member" in ckpt:
        share = float(ckpt["kmer_member"]["average_weight"])
        rule = f"P: the Transformer's and its k-mer member's averaged {1 - share:g}:{share:g}; {rule}"
    lines = [
        f"# mhsa-bio {__version__} predict --model {Path(model_path).resolve()} "
        f"(sha256 {sha256(model_path)[:16]}); {rule}\n",
        "\t".join(["id", "length", *classes, "call"]) + "\n",
    ]
    lines += [
        "\t".join([r.id, str(len(r.seq)), *(f"{p:.6f}" for p in row), classes[c]]) + "\n"
        for r, row, c in zip(records, probs, calls)
    ]
    return lines
