"""Factored attention (Bhattacharya et al. 2020): per-position queries and keys, per-head values."""

from __future__ import annotations

import math

import torch
from torch import nn

from mhsa_bio.models.potts import coupled_states

#: How an attention map is normalised (``FactoredAttention(softmax=)``, ``FitConfig.softmax``).
SOFTMAX_MODES = ("row", "map")


class FactoredAttention(nn.Module):
    """One layer of factored attention over an MSA's columns.

    With attn_h = softmax_j(q_h,i · k_h,j / √d) (the diagonal masked; rows sum to 1) and
    per-head value matrices V_h (A × A, not constrained), the couplings are
    W_ij(a, b) = ½ Σ_h [attn_h(i, j) V_h(a, b) + attn_h(j, i) V_h(b, a)], the symmetrised
    W of Bhattacharya et al. (``symmetrize_potts`` in mogwai), so W_ij(a, b) = W_ji(b, a)
    while each block W_ij stays free to be asymmetric in (a, b). Only the pairs i < j are
    computed, as one (P, 2H) @ (2H, A²) product (P = L(L − 1)/2). The (L·A, L·A) lookup
    table is assembled from them in whole blocks: the pairs' blocks and their transposes
    are gathered into an (L, L, A, A) tensor by a row index of L² entries, then its middle
    axes are swapped, a copy in runs of A contiguous values: at L = 145, forward and backward
    1.7× faster on the CPU than gathering every entry by an (L·A)² index (with
    ``heap_allocations``), and without that index's 8·(L·A)² bytes.

    Parameters
    ----------
    length : L
    n_states : A
    heads : H
    head_dim : d, the size of queries and keys
    fields : (L, A) initial fields (log frequencies), or None for zeros
    generator : for the random queries, keys and values
    init_std : standard deviation of the initial query and key entries
    value_std : standard deviation of the initial value entries (0: zeros)
    softmax : ``row`` — each attention row is a softmax over j ≠ i (rows sum to 1, as in
        Bhattacharya et al.) — or ``map`` — one softmax per head over every pair i ≠ j of its
        map, times L, so a head's weights sum to L over the map as L rows of 1 do, but a row
        holds as much of it as its logits win: a position with no partner need not spread a
        row's weight over the others
    ignore_gap : the last state (the gap) takes no part in the couplings: the values' gap row
        and column are held at zero, so a gap neither adds to another residue's logits nor gets
        a coupling of its own (the fit then leaves gap targets out, see
        ``mhsa_bio.contacts.optimise``)

    Attributes
    ----------
    topk : when 0 < topk < L − 1, each attention row is a softmax over its ``topk`` largest
        logits only (the others get weight 0, and no gradient); 0: dense attention. Set by the
        fit after its warm-up steps.
    """

    diag: torch.Tensor  # buffers (registered in __init__)
    value_mask: torch.Tensor
    upper: torch.Tensor
    lower: torch.Tensor
    rows: torch.Tensor

    def __init__(
        self,
        length: int,
        n_states: int,
        *,
        heads: int,
        head_dim: int,
        fields: torch.Tensor | None = None,
        generator: torch.Generator | None = None,
        init_std: float = 0.01,
        value_std: float = 0.0,
        ignore_gap: bool = False,
        softmax: str = "row",
    ) -> None:
        super().__init__()
        if softmax not in SOFTMAX_MODES:
            raise ValueError(f"softmax {softmax!r}: expected {' or '.join(SOFTMAX_MODES)}")
        self.softmax = softmax
        self.length, self.n_states, self.heads, self.head_dim = length, n_states, heads, head_dim
        self.query = nn.Parameter(torch.randn(heads, length, head_dim, generator=generator) * init_std)
        self.key = nn.Parameter(torch.randn(heads, length, head_dim, generator=generator) * init_std)
        value = torch.zeros(heads, n_states, n_states)
        if value_std:
            value.normal_(0.0, value_std, generator=generator)
        self.value = nn.Parameter(value)
        self.ignore_gap = ignore_gap
        self.register_buffer("value_mask", coupled_states(n_states, ignore_gap), persistent=False)
        self.fields = nn.Parameter(fields.clone() if fields is not None else torch.zeros(length, n_states))
        self.register_buffer("diag", torch.eye(length, dtype=torch.bool), persistent=False)
        first, second = torch.triu_indices(length, length, 1)  # the pairs i < j
        self.register_buffer("upper", first * length + second, persistent=False)
        self.register_buffer("lower", second * length + first, persistent=False)
        self.register_buffer("rows", _block_rows(length, first, second), persistent=False)
        self.topk = 0

    def attention(self) -> torch.Tensor:
        """Attention maps, shape (H, L, L); each row sums to 1 over j ≠ i (over its ``topk``
        largest logits when ``topk`` is set), or with ``softmax="map"`` each map sums to L."""
        s = self.query @ self.key.transpose(1, 2) / math.sqrt(self.head_dim)  # (H, L, L)
        s = s.masked_fill(self.diag, float("-inf"))
        if self.softmax == "map":
            return s.flatten(1).softmax(-1).view_as(s) * self.length
        if 0 < self.topk < self.length - 1:
            kth = s.topk(self.topk, dim=-1).values[..., -1:]  # (H, L, 1)
            s = s.masked_fill(s < kth, float("-inf"))
        return s.softmax(-1)

    def pair_couplings(self) -> torch.Tensor:
        """W_ij(a, b) for the pairs i < j (row-major order), shape (L(L−1)/2, A·A)."""
        attn = self.attention().reshape(self.heads, -1)
        forward = attn.index_select(1, self.upper)  # (H, P): attn_h(i, j)
        backward = attn.index_select(1, self.lower)  # attn_h(j, i)
        v = self.value * self.value_mask
        value = 0.5 * torch.cat([v.reshape(self.heads, -1), v.transpose(1, 2).reshape(self.heads, -1)])
        return torch.cat([forward, backward]).T @ value

    def table(self, pairs: torch.Tensor | None = None) -> torch.Tensor:
        """The couplings as a lookup table (L·A, L·A): row j·A + b, column i·A + a = W_ij(a, b)."""
        pairs = self.pair_couplings() if pairs is None else pairs
        length, states = self.length, self.n_states
        swapped = pairs.view(-1, states, states).transpose(1, 2).reshape(pairs.shape)
        blocks = torch.cat([pairs, swapped, pairs.new_zeros(1, states * states)])
        full = blocks.index_select(0, self.rows).view(length, length, states, states)  # [j, i, b, a]
        return full.transpose(1, 2).reshape(length * states, length * states)

    def table_and_penalty(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``table()`` and ½ Σ W² over it, as for a Potts model, from one evaluation of the
        pair couplings: ½ Σ W² = Σ over pairs i < j of ‖W_ij‖², since each pair's block
        appears twice in the table, (i, j) and (j, i) transposed."""
        pairs = self.pair_couplings()
        return self.table(pairs), pairs.square().sum()


def _block_rows(length: int, first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
    """For every ordered pair (j, i), the row of [pairs; pairs with each block transposed; zeros]
    that holds block [j, i] of the table as (b, a): W_ij(a, b) is pair (j, i)'s entry (b, a) when
    j < i and pair (i, j)'s entry (a, b), so its transpose's (b, a), when j > i; the zero row when
    i = j. ``first``, ``second``: the pairs i < j in row-major order (``triu_indices``). An int64
    tensor of L² entries, row-major over (j, i)."""
    pairs = first.numel()
    rows = torch.full((length, length), 2 * pairs, dtype=torch.int64)
    rows[first, second] = torch.arange(pairs)
    rows[second, first] = torch.arange(pairs) + pairs
    return rows.reshape(-1)


def _mid_length(length: int) -> bool:
    """200 < L ≤ 300: the lengths whose defaults (heads, precision, penalty) were measured at
    L 256."""
    return 200 < length <= 300


#: An alignment is rich when Neff ≥ RICH_NEFF_PER_SITE · L (and L ≤ 300): see :func:`rich_alignment`.
RICH_NEFF_PER_SITE = 20.0


def rich_alignment(length: int, neff: float) -> bool:
    """Whether an MSA has many effective sequences for its length: Neff ≥ 20·L at L ≤ 300. Such a
    family gets 256 heads (:func:`default_heads`) and 800 steps
    (:func:`mhsa_bio.contacts.optimise.default_steps`) by default.

    With 400 steps of 512 rows a fit passes over 10,000–15,000 distinct rows only 13–20 times and
    ends far from the data. Chosen on the tuning families with many sequences, before any
    validation family was run with it: T1034 (L 156, Neff 7,107, Neff / L 45) long-range P@L /
    P@L/5 with 128 heads and 400 steps 0.53 / 0.87 (seed 0), 0.55 / 0.87 (seed 1); 256 heads
    0.54 / 0.94, 0.56 / 0.87; 800 steps 0.57 / 0.84 (seed 0); 256 heads and 800 steps 0.58 / 0.90
    in both seeds (the Potts model 0.63 / 0.87), in 195–246 s on 2 cores. T1047s1 (L 232, Neff
    8,804, Neff / L 38; 256 heads already) 400 against 800 steps 0.27 / 0.48 against 0.28 / 0.52
    (seed 0), 0.25 / 0.46 against 0.30 / 0.43 (seed 1). Mean over both families and seeds: P@L
    0.40 → 0.435, P@L/5 0.67 → 0.69, at twice the time. The threshold lies between the other
    tuning families' Neff / L (0.85–7) and these (38–45).
    """
    return length <= 300 and neff >= RICH_NEFF_PER_SITE * length


def default_heads(length: int, neff: float) -> int:
    """Heads by default: 128; 256 for 200 < L ≤ 300 or a rich alignment (:func:`rich_alignment`);
    32 for long queries (L > 300) or very few sequences (Neff < 50).

    A step costs H·L²·A² to build W, so long queries get fewer heads on a CPU. With the
    initialisation of ``FitConfig`` (400 steps), 128 heads against 64: 1atzA (L = 75) long-range
    P@L 0.382 against 0.367 (mean of seeds 0–5), data NLL 88–90 against 98–101, 1.45× the CPU
    time; 1a3aA (L = 145) 0.531 / 0.51 against 0.49 / 0.46 (seeds 0 / 1), NLL 197 against 219,
    1.3× the CPU time; 256 heads lost there (0.517, seed 0), so L ≤ 200 keeps 128.

    At L 256 with few sequences (PSICOV 1a0tP, Neff 282) and the penalty of L ≤ 200 (0.4(L − 1))
    32, 64, 128 and 256 heads give data NLL 372, 336, 296, 265 and long-range P@L 0.06, 0.09,
    0.12, 0.14 (seed 0; seed 1: 256 heads 0.14 against 0.13, P@L/5 0.41 against 0.29); with the
    default penalty there (``default_l2``) the 256 heads reach the Potts model's NLL. 256 heads there
    cost 1.55× the time of 128 in float32 (443 s against 286 s, one thread) and 1.07× in bfloat16
    (287 s against 268 s; same NLL 265 and P@L 0.14), which ``default_bfloat16`` turns on for
    these lengths. On the validation family 16pkA (L 256, at 0.4(L − 1)) 256 heads gave
    long-range P@L 0.27, P@L/5 0.59 against 0.24 / 0.57 for 128 heads in float32, in 303 s
    against 287 s.
    """
    if length > 300 or neff < 50:
        return 32
    return 256 if _mid_length(length) or rich_alignment(length, neff) else 128


def default_l2(length: int) -> float:
    """The coupling penalty of factored attention by default (``FitConfig.l2``): 0.4·(L − 1),
    twice the Potts model's, and 0.1·(L − 1) for 200 < L ≤ 300.

    At L ≤ 200 W = Σ_h attn_h V_h fits noise faster than free couplings (400 steps, seeds 0 / 1,
    long-range P@L: 1atzA 0.40 / 0.37 at 0.4(L − 1) against 0.37 / 0.35 at 0.2(L − 1); 1a3aA
    0.48 / 0.46 against 0.50 / 0.47). At L 256 with 256 heads that penalty holds the fit far
    from the data: on the PSICOV family 1a0tP (Neff 282) 0.4, 0.2, 0.1 and 0.05 times (L − 1)
    give data NLL per effective sequence 265, 190, 130 and 92 (the Potts model 134) and a mean
    long-range P@L/5 over seeds 0 and 1 of 0.38, 0.36, 0.42 and 0.39 (P@L 0.14, 0.16, 0.16,
    0.17). Held out, on 16pkA (L 256) 0.1(L − 1) gives P@L/5 0.71 / 0.73 (seeds 0 / 1) against
    0.59 / 0.61 at 0.4(L − 1) (the Potts model 0.71). On 1a3aA (L 145) 0.1(L − 1) ties
    0.4(L − 1) (P@L 0.52 / 0.52 against 0.53 / 0.51), so shorter families keep 0.4(L − 1); longer
    ones (32 heads) are not measured.
    """
    from mhsa_bio.models.potts import default_pair_l2

    return (0.5 if _mid_length(length) else 2.0) * default_pair_l2(length)


def default_bfloat16(length: int, device: str = "cpu") -> bool:
    """bfloat16 couplings by default (``FitConfig.bfloat16``): for 200 < L ≤ 300 on a CPU that
    computes bfloat16 natively (AVX512-BF16), where they pay for ``default_heads``' 256 heads.

    On 1a0tP (L 256, 256 heads, seed 0, one thread on an AVX512-BF16 CPU) bfloat16 against
    float32: data NLL 265.4 against 265.1, long-range P@L 0.14 and 0.14, P@L/5 0.35 against
    0.37 (one pair of 51), 287 s against 443 s. Elsewhere float32: a CPU without native bfloat16
    emulates it, and on a GPU it is not measured at these lengths.
    """
    import torch

    if not _mid_length(length) or torch.device(device).type != "cpu":
        return False
    native = getattr(torch.cpu, "_is_avx512_bf16_supported", None)
    return bool(native is not None and native())
