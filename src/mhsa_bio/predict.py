"""Scoring sequences of any length with a trained model, in memory-bounded batches."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import numpy as np

from mhsa_bio.io.fasta import Record

if TYPE_CHECKING:
    import torch

    from mhsa_bio.models.promoter import PromoterTransformer


def length_batches(lengths: Sequence[int], *, batch_size: int, max_cells: int = 2**24
                   ) -> Iterator[np.ndarray]:
    """Indices grouped by similar length; a batch never exceeds ``batch_size`` sequences nor
    ``max_cells`` attention cells per head (B × L²), so one very long sequence runs alone."""
    order = np.argsort(np.asarray(lengths), kind="stable")
    batch: list[int] = []
    for i in order:
        width = lengths[i] + 1
        if batch and (len(batch) >= batch_size or (len(batch) + 1) * width * width > max_cells):
            yield np.array(batch)
            batch = []
        batch.append(int(i))
    if batch:
        yield np.array(batch)


def predict_proba(model: PromoterTransformer, records: Sequence[Record], *,
                  device: torch.device, batch_size: int = 128, amp: bool = True) -> np.ndarray:
    """Class probabilities (N, C), in input order."""
    import torch

    from mhsa_bio.alphabet import encode_batch
    from mhsa_bio.runtime.device import autocast

    model.eval()
    out = np.zeros((len(records), model.config.n_classes), dtype=np.float64)
    with torch.no_grad():
        for rows in length_batches([len(r.seq) for r in records], batch_size=batch_size):
            tokens, lengths = encode_batch([records[i].seq for i in rows])
            t = torch.from_numpy(tokens).to(device)
            n = torch.from_numpy(lengths).to(device)
            with autocast(device, enabled=amp):
                logits = model(t, n).logits
            out[rows] = torch.softmax(logits.float(), dim=-1).cpu().numpy()
    return out
