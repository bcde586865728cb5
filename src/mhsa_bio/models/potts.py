"""A Potts model (plmDCA / CCMpred): fields and free pairwise couplings, fit by pseudo-likelihood."""

from __future__ import annotations

import torch
from torch import nn


class Potts(nn.Module):
    """Fields h_i(a) and couplings W_ij(a, b) stored as one (L·A, L·A) lookup table.

    The table is not symmetrised during the fit (the asymmetric pseudo-likelihood of
    Ekeberg et al. 2014); its (i, i) blocks are held at zero by masking their gradient, so a
    residue never predicts itself. The read-out averages W_ij and W_jiᵀ.

    Parameters
    ----------
    length : L
    n_states : A
    fields : (L, A) initial fields, or None for zeros
    ignore_gap : the last state (the gap) takes no part in the couplings: its rows and columns
        of the table are held at zero like the (i, i) blocks (the fit then leaves gap targets
        out, see ``mhsa_bio.contacts.optimise``)
    """

    def __init__(
        self, length: int, n_states: int, *, fields: torch.Tensor | None = None, ignore_gap: bool = False
    ) -> None:
        super().__init__()
        self.length, self.n_states = length, n_states
        self.ignore_gap = ignore_gap
        size = length * n_states
        self.weight = nn.Parameter(torch.zeros(size, size))
        self.fields = nn.Parameter(fields.clone() if fields is not None else torch.zeros(length, n_states))
        block = torch.arange(size) // n_states
        mask = (block[:, None] != block[None, :]).float() * coupled_states(n_states, ignore_gap).repeat(
            length, length
        )
        self.register_buffer("mask", mask, persistent=False)
        self.weight.register_hook(lambda grad: grad * self.mask)

    def table(self) -> torch.Tensor:
        """The couplings (L·A, L·A): row j·A + b, column i·A + a = W_ij(a, b)."""
        return self.weight

    def table_and_penalty(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``table()`` and ½ Σ W² over it, each pair (i, j) being stored twice."""
        return self.weight, 0.5 * self.weight.square().sum()


def coupled_states(n_states: int, ignore_gap: bool) -> torch.Tensor:
    """(A, A) ones: which state pairs (b, a) a coupling block may hold; the last state's (the
    gap's) row and column are zero when ``ignore_gap``."""
    mask = torch.ones(n_states, n_states)
    if ignore_gap:
        mask[-1, :] = 0.0
        mask[:, -1] = 0.0
    return mask


def default_pair_l2(length: int) -> float:
    """CCMpred's coupling penalty, 0.2·(L − 1), on the summed (not averaged) weighted NLL."""
    return 0.2 * (length - 1)


def zero_sum_pairs(
    table: torch.Tensor, fields: torch.Tensor, *, length: int, n_states: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """A Potts model's symmetrised couplings in the zero-sum gauge, and the fields that go with them.

    W is first symmetrised, W_ij(a, b) ← ½(W_ij(a, b) + W_ji(b, a)), then each block is centred
    over a and over b. Of what is taken out, only the row means Σ_j mean_b W_ij(a, b) depend on
    residue i's own state; they are added to h_i(a), so every conditional p(x_i | x_rest) of the
    symmetrised model is unchanged (the other terms are constant in x_i).

    Parameters
    ----------
    table : (L·A, L·A), row j·A + b, column i·A + a = W_ij(a, b), zero (i, i) blocks
    fields : (L, A)

    Returns
    -------
    pairs : (L(L − 1)/2, A·A), the blocks W_ij(a, b) of the pairs i < j in row-major order
    fields : (L, A)
    """
    w4 = table.view(length, n_states, length, n_states).permute(2, 3, 0, 1)  # [i, a, j, b] = W_ij(a, b)
    w4 = 0.5 * (w4 + w4.permute(2, 3, 0, 1))
    row = w4.mean(3, keepdim=True)
    centred = w4 - row - w4.mean(1, keepdim=True) + w4.mean((1, 3), keepdim=True)
    first, second = torch.triu_indices(length, length, 1, device=table.device)
    pairs = centred.permute(0, 2, 1, 3)[first, second].reshape(first.numel(), n_states * n_states)
    return pairs, fields + row.squeeze(3).sum(2)
