"""Factored attention (Bhattacharya et al. 2020): per-position queries and keys, per-head values."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch


def _build_module():  # torch is imported only when a model is made
    import torch
    from torch import nn

    class FactoredAttention(nn.Module):
        """One layer of factored attention over an MSA's columns.

        W_ij(a, b) = Σ_h attn_h(i, j) V_h(a, b), with attn_h = softmax_j(q_h,i · k_h,j / √d) (the
        diagonal masked) made symmetric, ½(attn + attnᵀ), and V_h symmetric, so W_ij(a, b) =
        W_ji(b, a) holds without symmetrising the (L·A)² matrix in the autograd graph.

        Parameters
        ----------
        length : L
        n_states : A
        heads : H
        head_dim : d, the size of queries and keys
        fields : (L, A) initial fields (log frequencies), or None for zeros
        generator : for the random queries and keys
        """

        def __init__(
            self,
            length: int,
            n_states: int,
            *,
            heads: int,
            head_dim: int,
            fields: torch.Tensor | None = None,
            generator: torch.Generator | None = None,
        ) -> None:
            super().__init__()
            self.length, self.n_states, self.heads, self.head_dim = length, n_states, heads, head_dim
            std = 1.0 / math.sqrt(head_dim)
            self.query = nn.Parameter(torch.randn(heads, length, head_dim, generator=generator) * std)
            self.key = nn.Parameter(torch.randn(heads, length, head_dim, generator=generator) * std)
            self.value = nn.Parameter(torch.zeros(heads, n_states, n_states))
            self.fields = nn.Parameter(
                fields.clone() if fields is not None else torch.zeros(length, n_states)
            )
            self.register_buffer("diag", torch.eye(length, dtype=torch.bool), persistent=False)

        def attention(self) -> torch.Tensor:
            """Symmetrised attention maps, shape (H, L, L), rows of the unsymmetrised map sum to 1."""
            s = self.query @ self.key.transpose(1, 2) / math.sqrt(self.head_dim)  # (H, L, L)
            a = s.masked_fill(self.diag, float("-inf")).softmax(-1)
            return 0.5 * (a + a.transpose(1, 2))

        def sym_value(self) -> torch.Tensor:
            """Symmetric value matrices, shape (H, A, A)."""
            return 0.5 * (self.value + self.value.transpose(1, 2))

        def table(self) -> torch.Tensor:
            """The couplings as a lookup table (L·A, L·A): row j·A + b, column i·A + a = W_ij(a, b)."""
            length, states = self.length, self.n_states
            attn = self.attention()
            value = self.sym_value()
            w = attn.permute(2, 1, 0).reshape(length * length, self.heads) @ value.reshape(
                self.heads, states * states
            )  # (L_j·L_i, A_b·A_a) since V is symmetric
            return (
                w.view(length, length, states, states)
                .permute(0, 2, 1, 3)
                .reshape(length * states, length * states)
            )

        def penalty(self, table: torch.Tensor | None = None) -> torch.Tensor:
            """½ Σ W² over the coupling table, as for a Potts model, without reading the table.

            Σ_ijab (Σ_h A_h(i,j) V_h(a,b))² = Σ_hg ⟨A_h, A_g⟩⟨V_h, V_g⟩: two H × H Gram
            matrices instead of a pass (and its gradient) over the (L·A)² table. Penalising W
            itself rather than the values keeps the two models' regularisation comparable.
            ``table`` is accepted for the common interface and not used.
            """
            attn = self.attention().reshape(self.heads, -1)
            value = self.sym_value().reshape(self.heads, -1)
            return 0.5 * ((attn @ attn.T) * (value @ value.T)).sum()

    return FactoredAttention


def factored_attention(
    length: int,
    n_states: int,
    *,
    heads: int,
    head_dim: int,
    fields: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
):
    """Make a ``FactoredAttention`` module (see its docstring for the parameters)."""
    return _build_module()(
        length, n_states, heads=heads, head_dim=head_dim, fields=fields, generator=generator
    )


def default_heads(length: int, neff: float) -> int:
    """Heads by default: 64, or 32 for long queries (L > 300) or very few sequences (Neff < 50).

    A step costs H·L²·A² to build W, so long queries get fewer heads on a CPU. On 1atzA
    (L = 75, Neff = 1149) 64 heads reached a lower loss than 32 in the same number of steps.
    """
    return 32 if length > 300 or neff < 50 else 64
