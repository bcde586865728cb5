"""A training batch: the epoch's batch order and a batch's tokens, with the reverse-complement and
circular-shift augmentations (any offset, or a small jitter)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from mhsa_bio.alphabet import encode_batch, reverse_complement_tokens
from mhsa_bio.io.fasta import Record


def batch_order(n: int, batch_size: int, rng: np.random.Generator | None) -> list[np.ndarray]:
    """The indices of ``n`` sequences in batches of ``batch_size``, permuted by ``rng`` (in order
    when ``None``)."""
    order = rng.permutation(n) if rng is not None else np.arange(n)
    return [order[i : i + batch_size] for i in range(0, n, batch_size)]


def augment_draws(
    rng: np.random.Generator, n: int, config: Any
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """A batch's augmentation draws for ``n`` sequences: which rows to reverse-complement
    (``config.rc_augment``: each with probability ½) and each row's circular rotation
    (``config.shift_augment``: any offset; else ``config.jitter``: an offset in [-jitter, jitter]);
    ``None`` for an augmentation that is off."""
    rc = rng.random(n) < 0.5 if config.rc_augment else None
    if config.shift_augment:
        return rc, rng.integers(0, 2**31, n)
    if config.jitter:
        return rc, rng.integers(-config.jitter, config.jitter + 1, n)
    return rc, None


def batch_tensors(
    records: Sequence[Record],
    idx: np.ndarray,
    device: torch.device,
    rc: np.ndarray | None = None,
    shift: np.ndarray | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Tokens (N, L) and lengths (N,) of ``records[idx]`` on ``device``; the rows where ``rc`` is
    true reverse-complemented, then each row rotated by its ``shift`` (:func:`rotate_tokens`)."""
    tokens, lengths = encode_batch([records[i].seq for i in idx])
    if rc is not None and rc.any():
        flipped = reverse_complement_tokens(tokens, lengths)
        tokens = np.where(rc[:, None], flipped, tokens)
    if shift is not None:
        tokens = rotate_tokens(tokens, lengths, shift)
    return (torch.from_numpy(tokens).to(device), torch.from_numpy(lengths).to(device))


def rotate_tokens(tokens: np.ndarray, lengths: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """Each row rotated circularly within its own length: base i moves to (i + shift) mod length;
    the padding stays where it is. ``shift`` is any integer per row (negative: to the left)."""
    width = tokens.shape[1]
    n = np.maximum(lengths, 1)[:, None]
    pos = np.arange(width)[None, :]
    src = np.where(pos < lengths[:, None], (pos - shift[:, None] % n) % n, pos)
    return np.take_along_axis(tokens, src, axis=1)
