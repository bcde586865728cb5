"""The k-mer member of a two-class promoter model (``train --kmer-member``): a logistic regression
on the frequencies of every k-mer, k = 3 … 6, standardised with the training part's mean and
standard deviation. Fitted by :func:`mhsa_bio.training.kmer.fit_kmer_member`; its probability is
averaged with the Transformer's by :class:`mhsa_bio.models.promoter.WithKmer`.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

#: k-mer lengths counted; 4³ + 4⁴ + 4⁵ + 4⁶ = 5,440 features.
KMER_SIZES = (3, 4, 5, 6)
N_FEATURES = sum(4**k for k in KMER_SIZES)


def kmer_frequencies(
    tokens: torch.Tensor, lengths: torch.Tensor, *, dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    """(B, 5,440) counts of every k-mer (k = 3 … 6, each block in lexicographic ACGT order)
    divided by each sequence's length; k-mers holding N or padding are not counted.

    tokens : (B, L) int64 (``alphabet.encode_batch``: A C G T = 0 … 3, N = 4, padding 5)
    lengths : (B,) int64
    """
    b, width = tokens.shape
    blocks = []
    for k in KMER_SIZES:
        n = width - k + 1
        counts = torch.zeros(b, 4**k, dtype=dtype, device=tokens.device)
        if n > 0:
            code = torch.zeros(b, n, dtype=torch.int64, device=tokens.device)
            ok = torch.ones(b, n, dtype=torch.bool, device=tokens.device)
            for j in range(k):
                t = tokens[:, j : j + n]
                code = code * 4 + t.clamp(max=3)
                ok &= t < 4
            counts.scatter_add_(1, code, ok.to(dtype))
        blocks.append(counts)
    return torch.cat(blocks, dim=1) / lengths.clamp(min=1).to(dtype)[:, None]


class KmerLogistic(nn.Module):
    """P(positive) = σ(w · (f − mean) / scale + bias) for the k-mer frequencies f.

    Every parameter is a buffer (fitted once, never trained by gradient): mean, scale and weight
    (5,440,), bias ().
    """

    mean: torch.Tensor
    scale: torch.Tensor
    weight: torch.Tensor
    bias: torch.Tensor

    def __init__(self) -> None:
        super().__init__()
        for name in ("mean", "weight"):
            self.register_buffer(name, torch.zeros(N_FEATURES))
        self.register_buffer("scale", torch.ones(N_FEATURES))
        self.register_buffer("bias", torch.zeros(()))

    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """(B,) P(positive) in the buffers' precision (float32 as loaded), outside any
        mixed-precision region."""
        with torch.autocast(tokens.device.type, enabled=False):
            x = (kmer_frequencies(tokens, lengths, dtype=self.mean.dtype) - self.mean) / self.scale
            return torch.sigmoid(x @ self.weight + self.bias)

    def to_checkpoint(self, **info: Any) -> dict[str, Any]:
        """The checkpoint's ``kmer_member`` entry: the buffers (float32, CPU) and ``info``
        (plain values: ``l2``, the penalty chosen; ``average_weight``, the member's weight in
        the average with the Transformer)."""
        return {
            "sizes": list(KMER_SIZES),
            **{n: getattr(self, n).detach().float().cpu() for n in ("mean", "scale", "weight", "bias")},
            **info,
        }

    @classmethod
    def from_checkpoint(cls, entry: dict[str, Any]) -> KmerLogistic:
        """Rebuild from a ``kmer_member`` entry; ``ValueError`` names what does not fit."""
        if not isinstance(entry, dict):
            raise ValueError("'kmer_member' is not a table")
        if list(entry.get("sizes", ())) != list(KMER_SIZES):
            raise ValueError(f"k-mer sizes {entry.get('sizes')!r}, this version reads {list(KMER_SIZES)}")
        share = entry.get("average_weight")
        if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 <= share <= 1:
            raise ValueError(f"k-mer member's average_weight {share!r} is not a weight in [0, 1]")
        model = cls()
        for name, shape in (
            ("mean", (N_FEATURES,)),
            ("scale", (N_FEATURES,)),
            ("weight", (N_FEATURES,)),
            ("bias", ()),
        ):
            value = entry.get(name)
            if not isinstance(value, torch.Tensor) or tuple(value.shape) != shape:
                raise ValueError(f"k-mer member's '{name}' is not a tensor of shape {shape}")
            if not bool(torch.isfinite(value).all()) or (name == "scale" and bool((value <= 0).any())):
                raise ValueError(f"k-mer member's '{name}' holds values it cannot use")
            getattr(model, name).copy_(value.float())
        return model
