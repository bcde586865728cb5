"""Contact scores from couplings or attention: norms, symmetrisation, APC, probabilities, calls."""

from __future__ import annotations

import math

import numpy as np

#: Logistic calibration of APC-corrected scores, by model (see ``calibrated``):
#: p = σ(slope·z + log_length·ln L + intercept), L clipped to [min_length, max_length].
#: Fitted by ``benchmarks/contacts_calibration.py`` on the tuning families (1a3aA, 1a0tP, T1042,
#: T1034, T1047s1; each model's default fit, seed 0) and checked by it on the validation families
#: (docs/contacts.md, *Probability calibration*).
CALIBRATION = {
    "factored": {
        "slope": 0.899,
        "log_length": -1.922,
        "intercept": 5.924,
        "min_length": 145,
        "max_length": 289,
    },
    "potts": {
        "slope": 0.929,
        "log_length": -1.966,
        "intercept": 6.130,
        "min_length": 145,
        "max_length": 289,
    },
}


def symmetrize(x: np.ndarray) -> np.ndarray:
    """(x + xᵀ) / 2 over the last two axes, shape (..., L, L)."""
    return 0.5 * (x + np.swapaxes(x, -1, -2))


def apc(x: np.ndarray) -> np.ndarray:
    """Average product correction over the last two axes, as in ESM's ``apc``.

    x_ij − (Σ_k x_ik)(Σ_k x_kj) / Σ_kl x_kl, shape (..., L, L). The diagonal takes part in the
    sums as it is given; pass a matrix with a zero diagonal to get the textbook APC.
    """
    row = x.sum(-1, keepdims=True)
    col = x.sum(-2, keepdims=True)
    total = x.sum((-1, -2), keepdims=True)
    return x - row * col / np.where(total == 0, 1.0, total)


def coupling_norms(w: np.ndarray, *, drop_gap: bool = True) -> np.ndarray:
    """Frobenius norm of each coupling block W_ij, shape (L, A, L, A) -> (L, L).

    Each block is centred first (zero-sum gauge: row and column means removed), so a block that
    only shifts a field scores zero; the gap state is left out when ``drop_gap``.
    """
    if drop_gap:
        w = w[:, :-1, :, :-1]
    w = w - w.mean(1, keepdims=True) - w.mean(3, keepdims=True) + w.mean((1, 3), keepdims=True)
    out = np.sqrt(np.square(w).sum((1, 3)))
    np.fill_diagonal(out, 0.0)
    return out


def contact_scores(raw: np.ndarray) -> np.ndarray:
    """Symmetrise, zero the diagonal, then APC: (L, L) raw scores -> (L, L) contact scores."""
    s = symmetrize(np.asarray(raw, dtype=np.float64))
    np.fill_diagonal(s, 0.0)
    s = apc(s)
    np.fill_diagonal(s, 0.0)
    return s


def probability(scores: np.ndarray, *, model: str = "factored", min_separation: int = 6) -> np.ndarray:
    """Map APC scores (L, L) to contact probabilities (Cβ < 8 Å) with a fixed logistic calibration.

    The scores of pairs at separation ≥ ``min_separation`` are turned into z-scores (their mean
    and standard deviation), which makes the map independent of the model's scale (factored
    attention, Potts and ESM scores differ by orders of magnitude); ``calibrated`` maps z and L
    to a probability with ``model``'s constants (``CALIBRATION``; ESM attention maps take
    factored attention's). The calibration is monotone in the score, so the ranking, and every
    precision figure, does not depend on it.
    """
    z = zscores(scores, min_separation=min_separation)
    if z is None:
        return np.full_like(scores, 0.0, dtype=np.float64)
    return symmetrize(calibrated(z, scores.shape[0], model=model))


def calibrated(z: np.ndarray, length: int, *, model: str = "factored") -> np.ndarray:
    """p = σ(slope·z + log_length·ln L + intercept) with ``CALIBRATION[model]``, L clipped to the
    lengths the constants were fitted on.

    The length term is there because the share of pairs at separation ≥ 6 that are in contact
    falls as about 1/L: the same z means a lower probability in a longer protein. Fitted by
    ``benchmarks/contacts_calibration.py``: its rule (lowest mean leave-one-family-out log-loss
    over the tuning families) chose this form over z alone, over forms with log(Neff / L) and
    over one with a term each for short- and medium-range pairs.
    """
    c = CALIBRATION[model]
    ell = math.log(min(max(length, c["min_length"]), c["max_length"]))
    logit = c["slope"] * np.asarray(z, dtype=np.float64) + c["log_length"] * ell + c["intercept"]
    return 0.5 * (1.0 + np.tanh(0.5 * logit))  # σ(logit), without overflow for large |logit|


def zscores(scores: np.ndarray, *, min_separation: int = 6) -> np.ndarray | None:
    """(L, L) scores as z-scores against the mean and standard deviation of the pairs i < j at
    separation ≥ ``min_separation`` (what ``probability`` calibrates); None when those pairs
    have no spread."""
    i, j = np.triu_indices(scores.shape[0], min_separation)
    vals = scores[i, j]
    if vals.size < 2 or vals.std() == 0:
        return None
    return (scores - vals.mean()) / vals.std()


def ranked_pairs(scores: np.ndarray, *, min_separation: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Pairs i < j with j − i ≥ ``min_separation``, best score first (ties: by i, then j).

    Returns
    -------
    i, j : 0-based indices, each (P,)
    """
    i, j = np.triu_indices(scores.shape[0], min_separation)
    order = np.argsort(-scores[i, j], kind="stable")
    return i[order], j[order]


#: Default sequence separation of the binary map: CASP scores contacts at |i − j| ≥ 6.
MIN_SEPARATION = 6


def predicted_pairs(
    scores: np.ndarray,
    probs: np.ndarray,
    *,
    top: int | None = None,
    threshold: float | None = None,
    min_separation: int = MIN_SEPARATION,
) -> tuple[np.ndarray, np.ndarray]:
    """The pairs called contacts: the ``top`` best by score, or those with probability ≥ ``threshold``.

    Parameters
    ----------
    scores, probs : (L, L) contact scores and probabilities; only i < j is read
    top : how many pairs (default L, the usual top-L list); ignored when ``threshold`` is given
    threshold : a probability in (0, 1]; every pair at or above it is a contact
    min_separation : pairs with j − i below this are never called (default 6, as CASP)

    Returns
    -------
    i, j : 0-based indices, each (P,), i < j, best score first (ties: by i, then j)
    """
    length = scores.shape[0]
    i, j = ranked_pairs(scores, min_separation=max(1, min_separation))
    if threshold is not None:
        keep = probs[i, j] >= threshold
        return i[keep], j[keep]
    n = length if top is None else top
    return i[:n], j[:n]


def binary_map(length: int, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """(L, L) uint8 map, 1 at (i, j) and (j, i) for every predicted pair, 0 elsewhere."""
    out = np.zeros((length, length), dtype=np.uint8)
    out[i, j] = 1
    out[j, i] = 1
    return out
