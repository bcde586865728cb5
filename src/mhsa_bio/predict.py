"""Scoring sequences of any length with a trained model, in memory-bounded batches."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from mhsa_bio.io.fasta import Record

if TYPE_CHECKING:
    import torch

    from mhsa_bio.models.promoter import PromoterTransformer


def predict_proba(
    model: PromoterTransformer,
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
