"""Per-base attributions of the promoter model: integrated gradients × input (the motif fallback).

For a sequence x (one-hot rows, L × 4), a baseline x̄ (0.25 for every base: no sequence
information) and the model's score s(x) = logit(last class) − mean of the other classes'
logits, the attribution of base i is

    Σ_b (x − x̄)_ib · mean_k ∂s/∂x_ib at x̄ + α_k (x − x̄),   α_k = (k + ½) / steps

(integrated gradients, Sundararajan et al. 2017, midpoint rule), taken with respect to the
one-hot input the model reads (``forward(..., inputs=...)``). The gradient is mean-centred over
the four bases (the component along (1,1,1,1) is off the simplex of one-hot rows; Majdandzic et
al. 2023); since the rows of x − x̄ sum to 0 this changes nothing for ``steps`` ≥ 1, and it
matters for the plain gradient × input (``steps=0``). Plain gradients saturate: on a model that
is sure of its positives they are smaller there than on background sequences (measured on the
test model: 10-bp window maxima 1.2 in positives vs 1.1 in background at the median, 6.6 vs 11
at the 90th percentile), so a threshold calibrated on background passes nothing; integrated
gradients sum to s(x) − s(x̄) and put the positives' mass on their sites (8 steps: 8.1 vs 0.46
at the median, 9.6 vs 2.7 at the 90th percentile).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from mhsa_bio.io.fasta import Record

if TYPE_CHECKING:
    import torch

    from mhsa_bio.models.promoter import PromoterTransformer


def gradient_x_input(
    model: PromoterTransformer,
    records: Sequence[Record],
    *,
    device: torch.device | str = "cpu",
    batch_size: int = 64,
    on_batch: Callable[[int], None] | None = None,
    steps: int = 8,
    hypothetical: bool = False,
) -> list[np.ndarray]:
    """Integrated gradients × (input − baseline) of every base (see the module docstring).

    Parameters
    ----------
    model : a ``PromoterTransformer`` (its forward takes ``inputs=``); put in eval mode
    records : N sequences of any lengths
    device : where the model runs
    batch_size : sequences per batch (length-sorted)
    on_batch : called with the number of sequences done after each batch
    steps : integration steps; 0 gives the plain (corrected) gradient × input
    hypothetical : return the mean-centred (path-averaged) gradient itself, (L_i, 4): the
        contribution each base would make at each position (TF-MoDISco's "hypothetical
        contributions"); its entry at the sequence's own base is the attribution (a row of 0
        at N)

    Returns
    -------
    N float32 arrays (L_i,), or (L_i, 4) with ``hypothetical``, in input order; positive where
    the base raises the last class
    """
    import torch

    from mhsa_bio.alphabet import N_TOKEN, PAD
    from mhsa_bio.inference import sequence_batches

    device = torch.device(device)
    model.eval()
    out: list[np.ndarray | None] = [None] * len(records)
    done = 0
    for rows, tokens_np, lengths_np in sequence_batches([r.seq for r in records], batch_size=batch_size):
        tokens = torch.from_numpy(tokens_np).to(device)
        lengths = torch.from_numpy(lengths_np).to(device)
        x0 = model.onehot[tokens.clamp(max=PAD)]  # (B, L, 4): the rows the model reads
        base = torch.where(tokens[..., None] < PAD, torch.full_like(x0, 0.25), x0)
        alphas = [1.0] if steps <= 0 else [(k + 0.5) / steps for k in range(steps)]
        grad = torch.zeros_like(x0)
        for alpha in alphas:
            x = (base + alpha * (x0 - base)).requires_grad_(True)
            with torch.enable_grad():
                logits = model(tokens, lengths, inputs=x).logits  # (B, C)
                score = logits[:, -1] - logits[:, :-1].mean(1) if logits.shape[1] > 1 else logits[:, 0]
                (g,) = torch.autograd.grad(score.sum(), x)
            grad += g / len(alphas)
        grad = grad - grad.mean(-1, keepdim=True)
        if hypothetical:
            attr = torch.where(tokens[..., None] < N_TOKEN, grad, 0.0).float().cpu().numpy()
        else:
            attr = (grad * (x0 - base if steps > 0 else x0)).sum(-1).float().cpu().numpy()
        for j, i in enumerate(rows):
            out[i] = np.ascontiguousarray(attr[j, : lengths_np[j]], dtype=np.float32)
        done += len(rows)
        if on_batch is not None:
            on_batch(done)
    return out  # type: ignore[return-value]
