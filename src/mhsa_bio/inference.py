"""Running a promoter model over many sequences in batches: ``batched_forward``.

Every loop that runs a model forward without training goes through ``batched_forward``:
prediction, attention collection, the co-attention of motif sites, the genome scan and the
validation of each training epoch (through ``predict.predict_proba``). The caller chooses the
batches: ``sequence_batches`` sorts sequences of any lengths into length-sorted batches bounded
in attention cells; ``window_batches`` takes equal-length windows in their order. Each batch is
run in eval mode without gradients, under mixed precision on CUDA when asked, and yielded in
the order of the batches, with its rows' positions in the caller's input.

Only one batch's outputs are alive at a time when the caller drops each before asking for the
next (the attention of a batch, (B, layers, H, T, T), is the largest object); the caller opens
``runtime.memory.cpu_heap`` around the loop where those blocks should come from the heap.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

import numpy as np

if TYPE_CHECKING:
    import torch


class Batch(NamedTuple):
    """Encoded sequences for one forward pass.

    rows : (B,) positions of these sequences in the caller's input
    tokens : (B, L) integer tokens, ``PAD`` beyond each sequence's length
    lengths : (B,) int64
    """

    rows: np.ndarray
    tokens: np.ndarray
    lengths: np.ndarray


class Forward(NamedTuple):
    """What the model gave for one batch.

    rows : (B,) positions in the caller's input, as in the ``Batch``
    lengths : (B,) int64 on the CPU (numpy)
    device_lengths : (B,) int64 on the model's device
    scores : (B, C) float32 on the CPU (numpy): class probabilities (softmax of the float32
        logits) or the logits, as asked; None when not asked
    attention : (B, layers, H, T, T) on the model's device, in the dtype the model computed
        (T = L + 1, CLS first; padded rows and columns 0); None when not asked
    """

    rows: np.ndarray
    lengths: np.ndarray
    device_lengths: torch.Tensor
    scores: np.ndarray | None
    attention: torch.Tensor | None


def length_batches(
    lengths: Sequence[int], *, batch_size: int, max_cells: int = 2**24
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


def sequence_batches(seqs: Sequence[str], *, batch_size: int, max_cells: int = 2**24) -> Iterator[Batch]:
    """DNA strings of any lengths, encoded in the batches of ``length_batches``."""
    from mhsa_bio.alphabet import encode_batch

    for rows in length_batches([len(s) for s in seqs], batch_size=batch_size, max_cells=max_cells):
        tokens, lengths = encode_batch([seqs[i] for i in rows])
        yield Batch(rows, tokens, lengths)


def window_batches(tokens: np.ndarray, *, batch_size: int) -> Iterator[Batch]:
    """Equal-length windows (K, W) of tokens, ``batch_size`` consecutive rows at a time."""
    width = tokens.shape[1]
    for i in range(0, tokens.shape[0], batch_size):
        part = tokens[i : i + batch_size]
        yield Batch(np.arange(i, i + part.shape[0]), part, np.full(part.shape[0], width, dtype=np.int64))


def batched_forward(
    model: Any,
    batches: Iterable[Batch],
    *,
    device: torch.device | str,
    amp: bool = False,
    scores: Literal["probs", "logits"] | None = "probs",
    attention: bool = False,
) -> Iterator[Forward]:
    """Run ``model`` over ``batches`` in eval mode, without gradients, one batch at a time.

    Parameters
    ----------
    model : a ``PromoterTransformer`` (anything called as ``model(tokens, lengths)`` returning
        ``.logits`` (B, C), and ``.attention`` with ``return_attention=True``; it must be on
        ``device``)
    batches : the encoded batches, e.g. ``sequence_batches`` or ``window_batches``
    device : where the model runs
    amp : mixed precision on CUDA (``runtime.device.autocast``); no effect elsewhere
    scores : ``probs``, ``logits`` or None (not computed)
    attention : also return the attention maps (the model's weights-returning path)

    Yields
    ------
    Forward
        One per batch, in the order of ``batches``.
    """
    import torch

    device = torch.device(device)
    model.eval()
    for batch in batches:
        yield _forward(model, batch, device=device, amp=amp, scores=scores, attention=attention)


def _forward(
    model: Any,
    batch: Batch,
    *,
    device: torch.device,
    amp: bool,
    scores: Literal["probs", "logits"] | None,
    attention: bool,
) -> Forward:
    import torch

    from mhsa_bio.runtime.device import autocast

    tokens = torch.from_numpy(np.ascontiguousarray(batch.tokens)).to(device, non_blocking=True).long()
    lengths = torch.from_numpy(batch.lengths).to(device)
    values = None
    with torch.no_grad():
        with autocast(device, enabled=amp):
            out = model(tokens, lengths, return_attention=True) if attention else model(tokens, lengths)
        if scores == "probs":
            values = torch.softmax(out.logits.float(), dim=-1).cpu().numpy()
        elif scores == "logits":
            values = out.logits.float().cpu().numpy()
    return Forward(batch.rows, batch.lengths, lengths, values, out.attention if attention else None)
