"""Co-attention between two motif sites, for every layer and head, reduced batch by batch.

For sites X (positions x) and Y (positions y) and one head with attention weights ``att``
(query row → key column, each row sums to 1):

    X→Y = mean over i in x of  sum over j in y of att[i, j]

i.e. the share of its attention that a base of X pays to the whole of Y, averaged over X's
bases; co-attention(X, Y) = (X→Y + Y→X) / 2, symmetric in the two sites. Bases are token
positions 1..L of the model (0 is CLS and is never used).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from mhsa_bio.pairs.geometry import PairKey
from mhsa_bio.pairs.sites import Hit

if TYPE_CHECKING:
    import torch

    from mhsa_bio.models.promoter import PromoterTransformer

log = logging.getLogger(__name__)

__all__ = ["Instances", "head_labels", "pool_sites", "site_coattention"]


class Instances(NamedTuple):
    """Site pairs with their co-attention.

    seq : (n,) sequence index
    keys : n PairKey
    values : (n, LH) float32 co-attention per layer × head (layer-major)
    """

    seq: np.ndarray
    keys: list[PairKey]
    values: np.ndarray


def head_labels(layers: int, heads: int) -> list[str]:
    """``L1H1, L1H2, …`` (1-based), in the layer-major order of ``Instances.values``."""
    return [f"L{layer + 1}H{head + 1}" for layer in range(layers) for head in range(heads)]


def pool_sites(attention: np.ndarray | torch.Tensor, spans: Sequence[tuple[int, int]]) -> np.ndarray:
    """Site-to-site co-attention of one sequence.

    Parameters
    ----------
    attention : (LH, L, L) base-to-base attention (CLS row and column removed)
    spans : S sites as 0-based ``(start, end)``

    Returns
    -------
    (LH, S, S) array, symmetric in the last two axes: co-attention of site s and site t.
    """
    import torch

    att = torch.as_tensor(attention, dtype=torch.float32)
    length = att.shape[-1]
    rows = torch.zeros(len(spans), length)
    cols = torch.zeros(len(spans), length)
    for s, (start, end) in enumerate(spans):
        rows[s, start:end] = 1.0 / (end - start)
        cols[s, start:end] = 1.0
    directed = torch.einsum("si,hij,tj->hst", rows, att, cols)
    return (0.5 * (directed + directed.transpose(1, 2))).numpy()


def site_coattention(
    model: PromoterTransformer,
    seqs: Sequence[str],
    hits: Sequence[Sequence[Hit]],
    pairs: Sequence[Sequence[tuple[int, int, PairKey]]],
    *,
    device: torch.device,
    batch_size: int = 64,
) -> Instances:
    """Co-attention of every listed site pair, every layer and head.

    Parameters
    ----------
    model : a trained promoter Transformer
    seqs : N sequences
    hits : the sites of each sequence
    pairs : for each sequence, (i, j, key) with ``hits[n][i]`` as A and ``hits[n][j]`` as B
    device : where the model runs
    batch_size : sequences per forward pass; attention (B, layers, H, T, T) of one batch is the
        largest object held, never that of the whole set

    Returns
    -------
    Instances
        In sequence order, then in the order of ``pairs[n]``.
    """
    import torch

    from mhsa_bio.inference import batched_forward, sequence_batches
    from mhsa_bio.runtime.memory import cpu_heap

    config = model.config
    n_heads = config.layers * config.heads
    todo = [k for k in range(len(seqs)) if pairs[k]]
    per_seq: dict[int, np.ndarray] = {}
    with cpu_heap(device):  # each batch reuses the memory the last one freed
        # At most 2**24 attention cells (64 MB in float32) over all layers and heads per batch.
        batches = sequence_batches(
            [seqs[k] for k in todo], batch_size=batch_size, max_cells=max(2**24 // n_heads, 1)
        )
        for out in batched_forward(model, batches, device=device, scores=None, attention=True):
            assert out.attention is not None  # attention=True
            idx = [todo[r] for r in out.rows]
            att = out.attention[:, :, :, 1:, 1:].float()  # (B, layers, H, L, L)
            att = att.reshape(att.shape[0], n_heads, att.shape[-2], att.shape[-1])
            smax = max(len(hits[k]) for k in idx)
            width = att.shape[-1]
            r = torch.zeros(len(idx), smax, width, device=att.device)
            c = torch.zeros(len(idx), smax, width, device=att.device)
            for b, k in enumerate(idx):
                for s, h in enumerate(hits[k]):
                    r[b, s, h.start : h.end] = 1.0 / (h.end - h.start)
                    c[b, s, h.start : h.end] = 1.0
            directed = torch.einsum("bsi,bhij,btj->bhst", r, att, c)
            co = (0.5 * (directed + directed.transpose(2, 3))).cpu().numpy()
            for b, k in enumerate(idx):
                ii = np.array([p[0] for p in pairs[k]])
                jj = np.array([p[1] for p in pairs[k]])
                per_seq[k] = co[b][:, ii, jj].T  # (P, LH)
            del out, att, directed  # before the next batch's forward pass
    seq_idx: list[int] = []
    keys: list[PairKey] = []
    values: list[np.ndarray] = []
    for k in todo:
        seq_idx.extend([k] * len(pairs[k]))
        keys.extend(p[2] for p in pairs[k])
        values.append(per_seq[k])
    if not values:
        return Instances(np.zeros(0, dtype=np.int64), [], np.zeros((0, n_heads), np.float32))
    log.debug("co-attention of %d site pairs in %d sequences", len(keys), len(todo))
    return Instances(np.asarray(seq_idx, dtype=np.int64), keys, np.concatenate(values).astype(np.float32))
