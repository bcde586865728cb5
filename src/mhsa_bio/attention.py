"""Collecting attention maps batch by batch and reducing them to per-base scores and head stats.

Attention leaves the model only through ``forward(..., return_attention=True)``; each batch's
(B, layers, H, T, T) maps are reduced at once to per-base scores (B, layers, H, L) and per-head
statistics, so memory is O(batch × H × L²) whatever the number of sequences. Padded rows and
columns are never read.

Per-base scores (all scaled by the number of tokens T = L + 1, so a uniform row scores 1):

``cls``
    the CLS token's attention to each base, per layer and head (DNABERT-viz).
``received``
    the attention each base receives, averaged over the real query bases, per layer and head.
``rollout``
    attention rollout (Abnar & Zuidema 2020): the CLS row of Π_l (½ mean_h A_l + ½ I).

Gradient-weighted attention (Chefer et al. 2021) is not offered: the attention tensor the model
returns is a detached copy of the weights it used (no gradient flows to it), and the house rule
forbids reaching into the layers for the ones that are in the graph.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, NamedTuple, cast

import numpy as np

from mhsa_bio.io.fasta import Record

if TYPE_CHECKING:
    import torch

    from mhsa_bio.models.promoter import PromoterTransformer

log = logging.getLogger(__name__)

SCORE_KINDS = ("cls", "received", "rollout")
#: Share of positions whose attention mass defines a head's "focus".
FOCUS_TOP = 0.05


class AttentionScores(NamedTuple):
    """Per-base scores and per-head statistics of a set of sequences, in input order.

    cls, received : list of (layers, H, L_i) float32 arrays, or ``None`` when not collected
    rollout : list of (L_i,) float32 arrays, or ``None``
    entropy : (N, layers, H) mean entropy (bits) of the real attention rows of each sequence
    cls_entropy : (N, layers, H) entropy (bits) of the CLS row
    focus : (N, layers, H) share of CLS-row mass on the top 5% of bases
    cls_max : (N, layers, H) the largest scaled CLS score of each sequence
    """

    cls: list[np.ndarray] | None
    received: list[np.ndarray] | None
    rollout: list[np.ndarray] | None
    entropy: np.ndarray
    cls_entropy: np.ndarray
    focus: np.ndarray
    cls_max: np.ndarray


def physical_memory() -> int:
    """Bytes of RAM on this machine (0 when the system does not say)."""
    import os

    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):
        return 0


def check_attention_size(
    model: PromoterTransformer,
    records: Sequence[Record],
    *,
    source: object,
    batch_size: int = 1,
    limit: int | None = None,
) -> None:
    """Refuse sequences whose attention maps alone would not fit in memory.

    One sequence of L bases has layers × H × (L + 1)² float32 weights, and a batch holds
    ``batch_size`` of them at the longest length; above half the RAM (or ``limit`` bytes) this is
    an ``InputError`` naming the record and the bytes needed (and a batch size that fits).
    """
    from mhsa_bio.errors import InputError

    if not records:
        return
    longest = max(records, key=lambda r: len(r.seq))
    config = model.config
    one = 4 * config.layers * config.heads * (len(longest.seq) + 1) ** 2
    batch = min(batch_size, len(records))
    limit = limit if limit is not None else physical_memory() // 2
    if not limit or one * batch <= limit:
        return
    where = (
        f"{source}: record '{longest.id}' of {len(longest.seq):,} bp: its attention maps "
        f"need {one / 2**30:,.1f} GiB (layers x heads x L²)"
    )
    allowed = f"the {limit / 2**30:,.1f} GiB allowed (half this machine's memory)"
    if one > limit:
        raise InputError(
            f"{where}, more than {allowed}; cut it into windows of about the "
            f"training length ({config.max_len} bp)"
        )
    raise InputError(
        f"{where}, {one * batch / 2**30:,.1f} GiB in a batch of {batch}: more than "
        f"{allowed}; use --batch-size {limit // one} or less"
    )


def _entropy_bits(p: torch.Tensor) -> torch.Tensor:
    """Entropy (bits) over the last axis; zeros (padding) contribute nothing."""
    import torch

    return -torch.special.xlogy(p, p).sum(-1) / float(np.log(2.0))


def rollout_cls(attention: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Attention rollout, CLS row.

    Parameters
    ----------
    attention : (B, layers, H, T, T), padding rows and columns 0
    lengths : (B,)

    Returns
    -------
    (B, T - 1) rollout of the CLS token onto each base, scaled by T_i (padding 0)
    """
    import torch

    b, n_layers, _, t, _ = attention.shape
    eye = torch.eye(t, dtype=attention.dtype, device=attention.device)
    row = torch.zeros(b, 1, t, dtype=attention.dtype, device=attention.device)
    row[:, 0, 0] = 1.0
    for layer in range(n_layers - 1, -1, -1):  # e0ᵀ A_L ... A_1
        a = 0.5 * attention[:, layer].mean(1) + 0.5 * eye  # (B, T, T)
        row = row @ a
    out = row[:, 0, 1:]
    return out * (lengths[:, None] + 1).to(out.dtype)


def _reduce_batch(attn: torch.Tensor, lengths: torch.Tensor, kinds: Sequence[str]) -> dict[str, torch.Tensor]:
    """Reduce one batch of maps (B, layers, H, T, T) to per-base scores and head stats."""
    import torch

    b, n_layers, h, t, _ = attn.shape
    real = torch.arange(t, device=attn.device)[None, :] <= lengths[:, None]  # (B, T) incl. CLS
    scale = (lengths + 1).to(attn.dtype)[:, None, None, None]  # (B, 1, 1, 1)
    out: dict[str, torch.Tensor] = {}
    cls = attn[:, :, :, 0, 1:] * scale  # (B, layers, H, L)
    out["cls"] = cls
    if "received" in kinds:
        bases = real.clone()
        bases[:, 0] = False  # queries: real bases only
        got = (attn * bases[:, None, None, :, None]).sum(3)[..., 1:]  # (B, layers, H, L)
        out["received"] = got / lengths.clamp_min(1).to(attn.dtype)[:, None, None, None] * scale
    if "rollout" in kinds:
        out["rollout"] = rollout_cls(attn, lengths)
    ent = _entropy_bits(attn)  # (B, layers, H, T); padded rows give 0
    out["entropy"] = ent.sum(-1) / (lengths + 1).to(attn.dtype)[:, None, None]
    out["cls_entropy"] = ent[..., 0]
    # focus: mass of the top ceil(5% of L) bases of the CLS row
    masked = attn[:, :, :, 0, 1:].masked_fill(~real[:, None, None, 1:], -1.0)
    k_max = max(1, int(np.ceil(FOCUS_TOP * (t - 1))))
    top = masked.topk(k_max, dim=-1).values.clamp_min(0)  # (B, layers, H, k_max)
    k_each = torch.ceil(FOCUS_TOP * lengths.to(attn.dtype)).clamp_min(1).long()
    keep = torch.arange(k_max, device=attn.device)[None, :] < k_each[:, None]  # (B, k_max)
    total = attn[:, :, :, 0, 1:].sum(-1).clamp_min(1e-12)
    out["focus"] = (top * keep[:, None, None, :]).sum(-1) / total
    out["cls_max"] = cls.masked_fill(~real[:, None, None, 1:], float("-inf")).amax(-1)
    return out


def collect_attention(
    model: PromoterTransformer,
    records: Sequence[Record],
    *,
    device: torch.device | str = "cpu",
    batch_size: int = 64,
    kinds: Sequence[str] = ("cls",),
    on_batch: Callable[[int], None] | None = None,
    amp: bool = False,
) -> AttentionScores:
    """Run the model over ``records`` and reduce its attention as it goes.

    Parameters
    ----------
    model : a ``PromoterTransformer`` (anything whose forward takes ``return_attention=True``)
    records : N sequences of any lengths
    device : where the model runs
    batch_size : sequences per batch (length-sorted batches, also capped by B × L² cells)
    kinds : which per-base scores to keep (any of ``SCORE_KINDS``); head statistics always
    on_batch : called with the number of sequences done after each batch
    amp : mixed precision on CUDA (the weights are reduced in float32); no effect elsewhere

    Returns
    -------
    AttentionScores
    """
    import torch

    from mhsa_bio.inference import batched_forward, sequence_batches
    from mhsa_bio.runtime.memory import cpu_heap

    unknown = set(kinds) - set(SCORE_KINDS)
    if unknown:
        raise ValueError(f"unknown attention score kinds {sorted(unknown)}")
    n = len(records)
    store: dict[str, list[np.ndarray | None]] = {k: [None] * n for k in kinds}
    stats = {k: None for k in ("entropy", "cls_entropy", "focus", "cls_max")}
    stat_arrays: dict[str, np.ndarray] = {}
    done = 0
    # each batch's (B, layers, H, T, T) weights reuse the memory the last one freed
    with cpu_heap(device):
        batches = sequence_batches([r.seq for r in records], batch_size=batch_size)
        for out in batched_forward(model, batches, device=device, amp=amp, scores=None, attention=True):
            assert out.attention is not None  # attention=True
            with torch.no_grad():
                red = _reduce_batch(out.attention.float(), out.device_lengths, kinds)
            for key in stats:
                arr = red[key].cpu().numpy().astype(np.float32)
                if key not in stat_arrays:
                    stat_arrays[key] = np.zeros((n,) + arr.shape[1:], dtype=np.float32)
                stat_arrays[key][out.rows] = arr
            for kind in kinds:
                arr = red[kind].cpu().numpy().astype(np.float32)
                for j, i in enumerate(out.rows):
                    store[kind][i] = np.ascontiguousarray(arr[j, ..., : out.lengths[j]])
            done += len(out.rows)
            del out, red
            if on_batch is not None:
                on_batch(done)
    if not stat_arrays:  # no records
        n_layers, heads = model.config.layers, model.config.heads
        stat_arrays = {k: np.zeros((0, n_layers, heads), np.float32) for k in stats}
    # every record's row of each kind has been filled
    filled = cast("dict[str, list[np.ndarray]]", store)
    return AttentionScores(
        cls=filled.get("cls"),
        received=filled.get("received"),
        rollout=filled.get("rollout"),
        entropy=stat_arrays["entropy"],
        cls_entropy=stat_arrays["cls_entropy"],
        focus=stat_arrays["focus"],
        cls_max=stat_arrays["cls_max"],
    )


def combine_heads(scores: Sequence[np.ndarray], heads: Sequence[tuple[int, int]]) -> list[np.ndarray]:
    """Mean over chosen (layer, head) pairs of per-head per-base scores.

    Parameters
    ----------
    scores : N arrays (layers, H, L_i)
    heads : 0-based (layer, head) pairs

    Returns
    -------
    N arrays (L_i,)
    """
    layers = np.array([lh[0] for lh in heads])
    hs = np.array([lh[1] for lh in heads])
    return [s[layers, hs].mean(0) for s in scores]
