"""The optimiser passes of the pseudo-likelihood fit: the Adam loop with its default schedule,
full-batch L-BFGS, the warm start from a Potts fit and the refinement of the values."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple, cast

if TYPE_CHECKING:
    import torch

    from mhsa_bio.contacts.fit import FitConfig
    from mhsa_bio.models.factored import FactoredAttention

log = logging.getLogger(__name__)

DEFAULT_LR = 0.05
DEFAULT_BATCH = 512
FULL_BATCH_ROWS = 2 * DEFAULT_BATCH


def default_batch(n_unique: int) -> int:
    """Rows per Adam step by default: every distinct row (full-batch Adam, no sampling noise) when
    the alignment has at most ``FULL_BATCH_ROWS`` (1,024) of them, else ``DEFAULT_BATCH`` (512)
    drawn by weight.

    On the tuning family 1a3aA (1,024 distinct rows, seeds 0–3) the full batch lowers the data
    NLL from 191 to 181 and raises long P@L from 0.517 to 0.528 and P@L/5 from 0.759 to 0.776,
    at 1.2–1.4× the time; families of at most 512 rows were full-batch already. A step's cost
    grows with the rows (B·L²·A of the gather): at L 300 one of 1,024 rows takes 1.08 s against
    0.78 s for 512 (``benchmarks/contacts_scaling.py``; 400 steps 430 s on 2 cores), so larger
    full batches would outgrow the 600 s of a fit there.
    """
    return n_unique if n_unique <= FULL_BATCH_ROWS else DEFAULT_BATCH


def default_steps(length: int, neff: float) -> int:
    """Adam steps by default, the length of the linear learning-rate decay: 400; 800 for a rich
    alignment (Neff ≥ 20·L, :func:`mhsa_bio.models.factored.rich_alignment`).

    With the decay, 400 steps reach on 1a3aA (L = 145) what 600 constant-rate steps did; on
    1atzA (L = 75) they keep the fit within a third of plmDCA's CPU time. A step costs about
    H·L²·A² + B·L²·A, so long families pay per step, not in more steps. On the tuning families
    with few sequences per site (1a3aA, 1a0tP, T1042) 800 steps were level or worse.
    """
    from mhsa_bio.models.factored import rich_alignment

    return 800 if rich_alignment(length, neff) else 400


class Rows(NamedTuple):
    """The distinct MSA rows on the fit's device.

    x : (U, L) int64 states
    idx : (U, L) rows j·A + x_j of the coupling table
    w : (U,) float32 weights
    neff : their sum
    """

    x: torch.Tensor
    idx: torch.Tensor
    w: torch.Tensor
    neff: float


def _objective(model, xb, ib, wb, *, l2: float, l2_fields: float, neff: float, n_states: int):
    """(penalised loss, data NLL), both per effective sequence, of a coupling model on a batch.

    When ``model.ignore_gap`` the gap (the last state) is left out of the pseudo-likelihood:
    residues in a gap are not predicted, and each residue's conditional is a softmax over the
    amino acids only (the model's gap couplings are zero, so gaps add nothing to the logits).
    """
    import torch.nn.functional as F

    table, pen = model.table_and_penalty()
    length = xb.shape[1]
    logits = F.embedding_bag(ib, table, mode="sum").view(-1, length, n_states) + model.fields
    if model.ignore_gap:
        gap = xb == n_states - 1
        nll = F.cross_entropy(
            logits[..., :-1].reshape(-1, n_states - 1), xb.masked_fill(gap, 0).reshape(-1), reduction="none"
        )
        nll = nll.view(-1, length).masked_fill(gap, 0.0).sum(1)
    else:
        nll = F.cross_entropy(logits.reshape(-1, n_states), xb.reshape(-1), reduction="none")
        nll = nll.view(-1, length).sum(1)
    data = (nll * wb).sum()
    reg = l2 * pen + l2_fields * model.fields.square().sum()
    return (data + reg) / neff, data / neff


def _lbfgs(model, loss_and_data, *, max_iter: int, on_eval=None, params=None) -> None:
    """Full-batch L-BFGS (strong Wolfe line search, history 10) on the first value of
    ``loss_and_data()``; ``on_eval(data)`` after each evaluation."""
    import torch

    opt = torch.optim.LBFGS(
        list(model.parameters()) if params is None else params,
        lr=1.0,
        max_iter=max_iter,
        history_size=10,
        tolerance_grad=1e-6,
        tolerance_change=1e-7,
        line_search_fn="strong_wolfe",
    )

    def closure():
        opt.zero_grad()
        loss, data = loss_and_data()
        loss.backward()
        if on_eval is not None:
            on_eval(data)
        return loss

    opt.step(closure)


def fit_lbfgs(
    model,
    rows: Rows,
    *,
    cfg: FitConfig,
    n_states: int,
    max_iter: int,
    progress: Callable[[int, int, float], None] | None = None,
    params=None,
) -> list[float]:
    """Fit ``model`` (or only ``params`` of it) by full-batch L-BFGS for at most ``max_iter``
    iterations; the data NLL per effective sequence of every evaluation
    (``progress(evaluation, max_iter, loss)`` after each)."""
    losses: list[float] = []

    def record(data) -> None:
        losses.append(float(data.detach()))
        if progress is not None:
            progress(len(losses), max_iter, losses[-1])

    _lbfgs(
        model,
        lambda: _objective(
            model,
            rows.x,
            rows.idx,
            rows.w,
            l2=float(cast(float, cfg.l2)),
            l2_fields=cfg.l2_fields,
            neff=rows.neff,
            n_states=n_states,
        ),
        max_iter=max_iter,
        on_eval=record,
        params=params,
    )
    return losses


def refine_values(model: FactoredAttention, rows: Rows, *, cfg: FitConfig, n_states: int) -> None:
    """``cfg.refine`` full-batch L-BFGS iterations on the values and fields, the attention fixed."""
    start = time.perf_counter()
    fixed = [model.query, model.key]
    for p in fixed:
        p.requires_grad_(False)
    try:
        losses = fit_lbfgs(
            model, rows, cfg=cfg, n_states=n_states, max_iter=cfg.refine, params=[model.value, model.fields]
        )
    finally:
        for p in fixed:
            p.requires_grad_(True)
    log.info(
        "refined values: data NLL %.3f -> %.3f in %.1f s", losses[0], losses[-1], time.perf_counter() - start
    )


def fit_adam(
    model,
    rows: Rows,
    *,
    cfg: FitConfig,
    n_states: int,
    generator,
    progress: Callable[[int, int, float], None] | None = None,
) -> list[float]:
    """Fit ``model`` by Adam with a linear learning-rate decay over ``cfg.steps`` steps, on
    batches of ``cfg.batch_size`` rows drawn by weight (all rows when the batch holds them),
    stopping after ``cfg.patience`` steps without progress; the data NLL per effective sequence
    of every step (``progress(step, steps, loss)`` after each)."""
    import torch

    dev = rows.x.device
    n_unique = rows.x.shape[0]
    opt = torch.optim.Adam(model.parameters(), lr=float(cast(float, cfg.lr)))
    total = int(cast(int, cfg.steps))
    decay = torch.optim.lr_scheduler.LambdaLR(opt, lambda k: 1.0 - (1.0 - cfg.lr_final) * k / total)
    batch = int(cfg.batch_size or n_unique)
    prob = rows.w / rows.w.sum()
    losses: list[float] = []
    best, since = math.inf, 0
    smooth = None
    for step in range(int(cast(int, cfg.steps))):
        if cfg.topk > 0 and step == cfg.topk_after:
            model.topk = cfg.topk
            best, since, smooth = math.inf, 0, None  # the loss jumps when attention is cut
            log.info("attention cut to the top %d of each row at step %d", cfg.topk, step + 1)
        if batch < n_unique:  # sample by weight, so each batch is an unbiased estimate
            sel = torch.multinomial(prob.cpu(), batch, replacement=True, generator=generator).to(dev)
            xb, ib = rows.x[sel], rows.idx[sel]
            wb = torch.full((batch,), rows.neff / batch, device=dev)
        else:
            xb, ib, wb = rows.x, rows.idx, rows.w
        opt.zero_grad()
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=bool(cfg.bfloat16)):
            loss, data = _objective(
                model,
                xb,
                ib,
                wb,
                l2=float(cast(float, cfg.l2)),
                l2_fields=cfg.l2_fields,
                neff=rows.neff,
                n_states=n_states,
            )
        loss.backward()
        opt.step()
        decay.step()
        value = float(data.detach())
        losses.append(value)
        smooth = value if smooth is None else 0.95 * smooth + 0.05 * value
        if progress is not None:
            progress(step + 1, int(cast(int, cfg.steps)), value)
        if smooth < best * (1.0 - cfg.tol):
            best, since = smooth, 0
        else:
            since += 1
            if since >= cfg.patience:
                log.info("stopped early at step %d: no progress for %d steps", step + 1, cfg.patience)
                break
    return losses


def warm_start(model: FactoredAttention, rows: Rows, *, cfg: FitConfig, n_states: int, fields0) -> None:
    """Start factored attention from a short full-batch Potts fit (see ``FitConfig.warm_start``).

    The Potts couplings, symmetrised and in the zero-sum gauge (``zero_sum_pairs``, which keeps
    every conditional of the pseudo-likelihood), are the least-squares target of the attention
    model's pair blocks (queries, keys and values by Adam); its fields take the matching fields.
    """
    import torch

    from mhsa_bio.models.potts import Potts, zero_sum_pairs

    start = time.perf_counter()
    length = model.length
    potts = Potts(length, n_states, fields=fields0, ignore_gap=model.ignore_gap).to(rows.x.device)
    fit_lbfgs(potts, rows, cfg=cfg, n_states=n_states, max_iter=int(cfg.warm_start))
    with torch.no_grad():
        target, fields = zero_sum_pairs(
            potts.table().detach(), potts.fields.detach(), length=length, n_states=n_states
        )
        model.fields.copy_(fields)
        del potts
    params = [model.query, model.key, model.value]
    adam = torch.optim.Adam(params, lr=float(cfg.lr or DEFAULT_LR))
    scale = float(target.square().sum()) or 1.0
    err = torch.zeros(())
    for _ in range(int(cfg.warm_match_steps)):
        adam.zero_grad()
        err = (model.pair_couplings() - target).square().sum() / scale
        err.backward()
        adam.step()
    log.info(
        "warm start: Potts %d iterations, match %d steps, relative squared error %.3f, %.1f s",
        cfg.warm_start,
        cfg.warm_match_steps,
        float(err.detach()),
        time.perf_counter() - start,
    )
