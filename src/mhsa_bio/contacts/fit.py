"""Fitting factored attention or a Potts model to a weighted MSA by pseudo-likelihood."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, NamedTuple, cast

import numpy as np

from mhsa_bio.contacts.optimise import (
    DEFAULT_LR,
    Rows,
    default_batch,
    default_steps,
    fit_adam,
    fit_lbfgs,
    refine_values,
    warm_start,
)
from mhsa_bio.contacts.weights import Weights
from mhsa_bio.errors import InputError
from mhsa_bio.runtime.memory import cpu_heap

if TYPE_CHECKING:
    import torch

    from mhsa_bio.models.factored import FactoredAttention
    from mhsa_bio.models.potts import Potts

log = logging.getLogger(__name__)

MODEL_TYPES = ("factored", "potts")
GAP_MODES = ("ignore", "model")


def default_gaps(model_type: str) -> str:
    """How a fit treats gaps by default (``FitConfig.gaps``): ``ignore`` for factored attention,
    ``model`` for the Potts model (the plmDCA / CCMpred baseline, unchanged).

    Factored attention shares H value matrices among all pairs; with the gap as a 21st state its
    heads also fit the alignment's gap blocks (insertions and deletions that span columns
    together), couplings the read-out then drops. On the tuning families (seeds 0 and 1, the
    other settings default) leaving gaps out gives long-range P@L / P@L/5: T1034 (26 % gaps)
    0.60, 0.61 / 0.90, 0.87 against 0.58, 0.58 / 0.90, 0.90 (Potts 0.63 / 0.87); T1042 (31 %)
    0.09, 0.09 / 0.30, 0.26 against 0.08, 0.09 / 0.23, 0.23 (Potts 0.09 / 0.25); 1a0tP (14 %)
    0.17, 0.17 / 0.37, 0.37 against 0.17, 0.15 / 0.43, 0.41 (Potts 0.15 / 0.35). The benchmark's
    targets (P@L/5 at least Potts' and freecontact's, P@L within 0.02 of Potts') are then met on
    T1042 and 1a0tP, against 1a0tP alone (docs/contacts-benchmark.md, *Gaps*).
    """
    return "ignore" if model_type == "factored" else "model"


@dataclass
class FitConfig:
    """How to fit; None means a default chosen from L and Neff (see ``resolve``).

    Attributes
    ----------
    model_type : ``factored`` (Adam on mini-batches) or ``potts`` (full-batch L-BFGS)
    heads, head_dim : factored attention's H and d
    steps : the most optimiser steps (L-BFGS iterations for potts)
    lr : Adam's peak learning rate (factored); it decays linearly to ``lr_final``·lr at ``steps``
    batch_size : distinct rows per Adam step (factored); the whole MSA for potts. None: all of
        them up to 1,024, else 512 drawn by weight (``optimise.default_batch``)
    l2 : penalty on ½ Σ W² of the coupling table, on the summed weighted NLL (both models).
        None: 0.2·(L − 1) for potts; for factored 0.4·(L − 1), 0.1·(L − 1) for 200 < L ≤ 300
        (``mhsa_bio.models.factored.default_l2``)
    l2_fields : penalty on Σ h²
    patience : steps without a relative loss improvement of ``tol`` before stopping early
    tol : relative improvement of the smoothed loss that counts as progress
    lr_final : the learning rate at the last step, as a fraction of ``lr``
    value_init : standard deviation of the initial value matrices (factored)
    qk_init : standard deviation of the initial query and key entries (factored)
    warm_start : factored only: L-BFGS iterations of a full-batch Potts fit (same penalties) whose
        couplings, in the zero-sum gauge, the attention model is first matched to by least squares
        (``warm_match_steps`` Adam steps on queries, keys and values), its fields taking the Potts
        fields in the same gauge; the pseudo-likelihood fit then starts from there. 0: no warm start
    warm_match_steps : Adam steps of that least-squares match
    bfloat16 : factored only: the couplings and the lookup table in bfloat16 (``torch.autocast``);
        parameters, optimiser state, logits and the loss stay float32. None: on for 200 < L ≤ 300
        on a CPU with native bfloat16, else off (``default_bfloat16``)
    refine : factored only: full-batch L-BFGS iterations on the values and fields after the Adam
        steps, queries and keys (the attention) held fixed. With the attention fixed the weighted
        pseudo-likelihood is convex in the values and fields, so these steps move towards its
        optimum for that attention. 0: none
    topk : factored only: after ``topk_after`` Adam steps, each attention row keeps only its
        ``topk`` largest logits (sparse attention; ``FactoredAttention.topk``), to the end of the
        fit and in the read-out. 0: dense attention throughout
    topk_after : Adam steps of dense attention before ``topk`` takes effect
    softmax : factored only: ``row`` (each attention row a softmax over the other positions) or
        ``map`` (one softmax per head over its whole map, times L; ``FactoredAttention``).
        Not with ``topk``, which cuts rows
    gaps : ``ignore`` — the gap takes no part in the couplings and gapped residues are not
        predicted, the pseudo-likelihood running over the amino acids only (as the published
        factored-attention code, mogwai, treats gaps) — or ``model`` — the gap is a 21st state
        like any other (plmDCA, CCMpred). None: ``ignore`` for factored, ``model`` for potts
        (``default_gaps``)
    """

    model_type: str = "factored"
    heads: int | None = None
    head_dim: int = 32
    steps: int | None = None
    lr: float | None = None
    batch_size: int | None = None
    l2: float | None = None
    l2_fields: float = 0.01
    patience: int = 200
    tol: float = 1e-3
    lr_final: float = 0.0
    # mogwai's scales: near-uniform attention at the start, values large enough that queries and
    # keys have a gradient from the first step. Against queries/keys at 1/√d and values at 0.01
    # (64 heads, 400 steps): data NLL lower for every seed (1a3aA seeds 0-3 by 6, 1atzA 0-5 by 3.5);
    # long-range P@L the same within seed noise (1a3aA mean 0.477 vs 0.476, 1atzA 0.367 vs 0.369).
    value_init: float = 0.13
    qk_init: float = 0.01
    warm_start: int = 0
    warm_match_steps: int = 200
    bfloat16: bool | None = None
    refine: int = 0
    topk: int = 0
    topk_after: int = 100
    gaps: str | None = None
    softmax: str = "row"

    def resolve(self, length: int, neff: float, n_unique: int, device: str = "cpu") -> FitConfig:
        """Fill the defaults for an MSA of length L with ``neff`` effective sequences, fitted on
        ``device``."""
        from mhsa_bio.models.factored import SOFTMAX_MODES, default_bfloat16, default_heads, default_l2
        from mhsa_bio.models.potts import default_pair_l2

        if self.model_type not in MODEL_TYPES:
            raise InputError(f"--model-type {self.model_type}: expected {' or '.join(MODEL_TYPES)}")
        if self.gaps is not None and self.gaps not in GAP_MODES:
            raise InputError(f"--gaps {self.gaps}: expected {' or '.join(GAP_MODES)}")
        if self.softmax not in SOFTMAX_MODES:
            raise InputError(f"softmax {self.softmax}: expected {' or '.join(SOFTMAX_MODES)}")
        if self.softmax == "map" and self.topk:
            raise InputError("topk cuts attention rows: it needs softmax row")
        c = FitConfig(**asdict(self))
        c.gaps = default_gaps(c.model_type) if c.gaps is None else c.gaps
        if c.model_type == "potts":
            c.steps = c.steps or 60
            c.l2 = default_pair_l2(length) if c.l2 is None else c.l2
            c.batch_size = n_unique
            c.bfloat16 = bool(c.bfloat16)
        else:
            c.heads = c.heads or default_heads(length, neff)
            c.bfloat16 = default_bfloat16(length, device) if c.bfloat16 is None else c.bfloat16
            c.steps = c.steps or default_steps(length, neff)
            c.lr = DEFAULT_LR if c.lr is None else c.lr
            c.batch_size = min(n_unique, c.batch_size or default_batch(n_unique))
            c.l2 = default_l2(length) if c.l2 is None else c.l2
        return c


class FitResult(NamedTuple):
    """A fitted model, read out.

    Attributes
    ----------
    couplings : (L, A, L, A) float32, W_ij(a, b) averaged with W_ji(b, a)
    fields : (L, A) float32
    attention : (H, L, L) float32 attention maps symmetrised, ½(attn + attnᵀ) (factored), or None (potts)
    losses : pseudo-negative log-likelihood per effective sequence, one per step
    steps : steps taken
    seconds : wall time of the fit
    config : the resolved configuration
    """

    couplings: np.ndarray
    fields: np.ndarray
    attention: np.ndarray | None
    losses: list[float]
    steps: int
    seconds: float
    config: FitConfig


def _rows(weights: Weights, *, n_states: int, device: torch.device) -> Rows:
    import torch

    length = weights.unique.shape[1]
    x = torch.from_numpy(weights.unique.astype(np.int64)).to(device)
    w = torch.from_numpy(weights.weights.astype(np.float32)).to(device)
    idx = x + n_states * torch.arange(length, device=device)
    return Rows(x, idx, w, float(w.sum()))


def _initial_fields(x, w, n_states: int, pseudocount: float = 0.5):
    """Log of the weighted amino-acid frequencies per column (L, A), with a pseudo-count."""
    import torch

    n, length = x.shape
    counts = torch.zeros(length * n_states, dtype=torch.float32, device=x.device)
    counts.index_add_(
        0, (x + n_states * torch.arange(length, device=x.device)).reshape(-1), w.repeat_interleave(length)
    )
    counts = counts.view(length, n_states) + pseudocount * w.sum() / n_states
    return torch.log(counts / counts.sum(1, keepdim=True))


def _new_model(cfg: FitConfig, length: int, n_states: int, *, fields, generator) -> FactoredAttention | Potts:
    """The model ``cfg`` asks for, on the CPU, its fields set to ``fields``."""
    from mhsa_bio.models.factored import FactoredAttention
    from mhsa_bio.models.potts import Potts

    ignore_gap = cfg.gaps == "ignore"
    if cfg.model_type == "potts":
        return Potts(length, n_states, fields=fields, ignore_gap=ignore_gap)
    return FactoredAttention(
        length,
        n_states,
        heads=int(cfg.heads or 32),
        head_dim=cfg.head_dim,
        fields=fields,
        generator=generator,
        init_std=cfg.qk_init,
        value_std=cfg.value_init,
        ignore_gap=ignore_gap,
        softmax=cfg.softmax,
    )


def _read_out(model: FactoredAttention | Potts) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """(couplings (L, A, L, A) with W_ij(a, b) averaged with W_ji(b, a), fields (L, A), the
    symmetrised attention (H, L, L) of factored attention or None), all float32."""
    import torch

    from mhsa_bio.models.factored import FactoredAttention

    length, n_states = model.length, model.n_states
    with torch.no_grad():
        table = model.table().detach().float().cpu().numpy()
        attention = None
        if isinstance(model, FactoredAttention):
            attn = model.attention()
            attention = (0.5 * (attn + attn.transpose(1, 2))).cpu().numpy()
        fields = model.fields.detach().cpu().numpy()
    w4 = table.reshape(length, n_states, length, n_states).transpose(2, 3, 0, 1)  # [i, a, j, b]
    w4 = 0.5 * (w4 + w4.transpose(2, 3, 0, 1))
    return w4.astype(np.float32), fields.astype(np.float32), attention


def fit_couplings(
    weights: Weights,
    *,
    config: FitConfig,
    n_states: int = 21,
    device: str = "cpu",
    seed: int = 0,
    progress: Callable[[int, int, float], None] | None = None,
) -> FitResult:
    """Fit factored attention or a Potts model by weighted pseudo-likelihood.

    The logits of residue i are h_i + Σ_j W_ij(·, x_j), a gather-and-sum over the observed
    residues (``embedding_bag`` over indices j·A + x_j) instead of a one-hot matrix product.
    Identical sequences take part once, with their summed weight. On the CPU the fit runs inside
    ``mhsa_bio.runtime.memory.heap_allocations``: the coupling table and its gradient (37 MB each at
    L = 145) are reused from the heap instead of mapped afresh each step, whose page faults were
    about a third of a factored-attention step on 1a3aA on 2 cores.

    Parameters
    ----------
    weights : the distinct rows (U, L) and their weights, from ``sequence_weights``
    config : see ``FitConfig``; defaults are resolved from L and Neff
    n_states : A
    device : a torch device name
    seed : seeds initialisation and mini-batch sampling
    progress : called as ``progress(step, total, loss)`` after each step

    Returns
    -------
    FitResult
    """
    import torch

    start = time.perf_counter()
    n_unique, length = weights.unique.shape
    dev = torch.device(device)
    cfg = config.resolve(length, weights.neff, n_unique, dev.type)
    if cfg.model_type == "factored":
        from mhsa_bio.models.factored import rich_alignment

        log.info(
            "factored attention: L %d, Neff %.0f (%.1f per position%s): %d heads, %d of %d rows a step, "
            "at most %d steps",
            length,
            weights.neff,
            weights.neff / max(length, 1),
            "; a rich alignment" if rich_alignment(length, weights.neff) else "",
            cfg.heads,
            cfg.batch_size,
            n_unique,
            cfg.steps,
        )
    gen = torch.Generator().manual_seed(seed)
    rows = _rows(weights, n_states=n_states, device=dev)
    fields0 = _initial_fields(rows.x, rows.w, n_states)
    torch.manual_seed(seed)
    model = _new_model(cfg, length, n_states, fields=fields0, generator=gen).to(dev)
    with cpu_heap(dev):
        if cfg.model_type == "potts":
            losses = fit_lbfgs(
                model, rows, cfg=cfg, n_states=n_states, max_iter=int(cast(int, cfg.steps)), progress=progress
            )
        else:
            if cfg.warm_start > 0:
                warm_start(
                    cast("FactoredAttention", model), rows, cfg=cfg, n_states=n_states, fields0=fields0
                )
            losses = fit_adam(model, rows, cfg=cfg, n_states=n_states, generator=gen, progress=progress)
            if cfg.refine > 0:
                refine_values(cast("FactoredAttention", model), rows, cfg=cfg, n_states=n_states)
        couplings, fields, attention = _read_out(model)
    seconds = time.perf_counter() - start
    log.info(
        "%s fit: %d steps in %.1f s, final loss %.3f",
        cfg.model_type,
        len(losses),
        seconds,
        losses[-1] if losses else float("nan"),
    )
    return FitResult(couplings, fields, attention, losses, len(losses), seconds, cfg)
