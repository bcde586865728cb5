"""One multi-head self-attention module with a fast path and a path that returns the weights."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class MultiHeadSelfAttention(nn.Module):
    """Multi-head self-attention over a padded batch.

    ``need_weights=False`` runs ``scaled_dot_product_attention`` (flash / memory-efficient
    kernels where available); ``need_weights=True`` computes the softmax explicitly and also
    returns the attention weights. Both paths give the same output.

    Parameters
    ----------
    dim : model width D
    heads : number of heads H; ``dim`` must be divisible by it
    dropout : attention dropout (training only; 0 by default)
    """

    def __init__(self, dim: int, heads: int, *, dropout: float = 0.0) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"dim {dim} is not divisible by heads {heads}")
        self.heads = heads
        self.head_dim = dim // heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.dropout = dropout

    def forward(
        self,
        x: torch.Tensor,
        key_padding_mask: torch.Tensor | None = None,
        *,
        need_weights: bool = False,
        first_row_bias: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Attend.

        Parameters
        ----------
        x : (N, T, D)
        key_padding_mask : (N, T) bool, True where the position is padding (never attended to)
        need_weights : also return the weights
        first_row_bias : (N, T) added to every head's attention logits of the first query (the
            CLS token's row), before the softmax

        Returns
        -------
        out : (N, T, D)
        weights : (N, H, T, T) float, rows summing to 1 over real keys; ``None`` on the fast path
        """
        n, t, d = x.shape
        q, k, v = self.qkv(x).view(n, t, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)
        # q, k, v: (N, H, T, Dh)
        mask = None
        if key_padding_mask is not None:
            mask = ~key_padding_mask[:, None, None, :]  # (N, 1, 1, T), True = may attend
        p = self.dropout if self.training else 0.0
        if not need_weights:
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p)
            if first_row_bias is not None:  # the first row again, with its bias (1/T of the cost)
                bias = first_row_bias[:, None, None, :].to(q.dtype)
                if mask is not None:
                    bias = bias.masked_fill(~mask, float("-inf"))
                first = F.scaled_dot_product_attention(q[:, :, :1], k, v, attn_mask=bias, dropout_p=p)
                out = torch.cat([first, out[:, :, 1:]], dim=2)
            weights = None
        else:
            scores = (q @ k.transpose(-2, -1)) / math.sqrt(self.head_dim)  # (N, H, T, T)
            if first_row_bias is not None:
                scores = torch.cat([scores[:, :, :1] + first_row_bias[:, None, None, :], scores[:, :, 1:]], 2)
            if mask is not None:
                scores = scores.masked_fill(~mask, float("-inf"))
            weights = torch.softmax(scores.float(), dim=-1).to(q.dtype)
            attn = F.dropout(weights, p) if p > 0 else weights
            out = attn @ v
        out = out.transpose(1, 2).reshape(n, t, d)
        return self.proj(out), weights
