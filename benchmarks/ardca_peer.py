"""arDCA as a contact peer: the model fitted by its own Python package, contacts read by its
authors' epistatic score.

The PyPI package ``arDCA`` (0.1.1; Trinquier et al. 2021, Nat Commun 12:5800) trains and samples
the autoregressive model but has no contact read-out. The authors' Julia package (ArDCA.jl,
``epistatic_score``) reads contacts from the model's energies E(x) = −log P(x) around one
sequence x of the alignment: for every pair of sites i, j and residues a, b the epistasis
ΔΔE_ij(a, b) = E(x with a at i and b at j) − E(x with a at i) − E(x with b at j) + E(x), then
each 21 × 21 block in the zero-sum gauge, its Frobenius norm without the gap state, and APC.
``epistatic_scores`` computes the same numbers (the alignment's first row, the query, is x)
without evaluating every double mutant: in the autoregressive model only the coupling J_ji(b, a)
of the later site j with the earlier i and the normalisations log Z_k of the sites k after both
depend on a and b together, and Σ_k log Z_k(a, b) for all pairs is one matrix product per k.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

#: The package's training defaults (``arDCA train``): Adam, learning rate, L2 on the fields and the
#: couplings, convergence threshold on the loss, most epochs; pseudo-count 1 / Neff.
TRAIN = {"lr": 0.005, "reg_h": 1e-6, "reg_J": 1e-4, "epsconv": 1e-2, "max_epochs": 1000}


def fit_ardca(fasta: Path, *, seed: int = 0):
    """Fit arDCA on an aligned FASTA as ``arDCA train`` does with its defaults (sequence weights
    at 80 % identity, entropic order, float32, the CPU). Returns (model, encoded rows (N, L))."""
    import torch
    from adabmDCA.dataset import DatasetDCA
    from adabmDCA.functional import one_hot
    from arDCA.models import arDCA

    with warnings.catch_warnings():  # adabmDCA 1.0 deprecates the call arDCA's own train script makes
        warnings.simplefilter("ignore", DeprecationWarning)
        dataset = DatasetDCA(path_data=str(fasta), alphabet="protein", clustering_th=0.8, message=False)
    length, states = dataset.get_num_residues(), dataset.get_num_states()
    torch.manual_seed(seed)
    model = arDCA(L=length, q=states)
    data = one_hot(dataset.data, num_classes=states).to(torch.float32)
    model.fit(
        X=data,
        weights=dataset.weights,
        optimizer=torch.optim.Adam(model.parameters(), lr=TRAIN["lr"]),
        max_epochs=TRAIN["max_epochs"],
        epsconv=TRAIN["epsconv"],
        pseudo_count=1.0 / dataset.get_effective_size(),
        reg_h=TRAIN["reg_h"],
        reg_J=TRAIN["reg_J"],
    )
    return model, dataset.data.cpu().numpy()


def epistasis(h: np.ndarray, couplings: np.ndarray, x: np.ndarray) -> np.ndarray:
    """ΔΔE around the sequence ``x`` up to terms in one site's state alone, (L, q, L, q)
    [i, a, j, b], in the model's site order; the blocks i = j are meaningless.

    ΔΔE_ij(a, b) = E(a at i, b at j) − E(a at i) − E(b at j) + E(x), E = −log P. Its part in a
    and b together is − J_ji(b, a) for j after i (site j's own term) plus Σ_k log Z_k over the
    sites k after both, whose logits the two mutations shift by J_ki(·, a) − J_ki(·, x_i) and
    J_kj(·, b) − J_kj(·, x_j): for each k one (kq × q) @ (q × kq) product gives Z_k for every pair.

    Parameters
    ----------
    h : (L, q) fields
    couplings : (L, q, L, q) J[k, c, l, d], used for l < k
    x : (L,) the sequence's states, all in the model's site order
    """
    h = np.asarray(h, dtype=np.float64)
    j4 = np.asarray(couplings, dtype=np.float64)
    length, q = h.shape
    sites = np.arange(length)
    total = np.zeros((length * q, length * q))
    for k in range(2, length):
        jk = j4[k, :, :k, :]  # (c, l, d)
        at_x = jk[:, sites[:k], x[:k]]  # (c, l): J_kl(c, x_l)
        base = h[k] + at_x.sum(1)  # logits of site k for x
        shift = jk - at_x[:, :, None]  # change of those logits, d at site l
        top = base.max()
        weights = np.exp(base - top)
        e = np.exp(shift).reshape(q, k * q)
        total[: k * q, : k * q] += np.log(e.T @ (weights[:, None] * e)) + top
    later = sites[:, None] > sites[None, :]  # [j, i]: j after i
    pair = np.where(later[:, None, :, None], j4, 0.0)  # J[j, b, i, a] for j > i
    return total.reshape(length, q, length, q) - pair - pair.transpose(2, 3, 0, 1)


def epistatic_scores(
    h: np.ndarray, couplings: np.ndarray, order: np.ndarray, reference: np.ndarray, *, gap: int = 0
) -> np.ndarray:
    """ArDCA.jl's contact scores around ``reference``, (L, L) in the alignment's column order:
    the ``epistasis`` blocks in the zero-sum gauge, their Frobenius norms without the gap state,
    APC as its ``correct_APC``.

    Parameters
    ----------
    h : (L, q) fields, in the model's (entropic) site order
    couplings : (L, q, L, q) J[k, c, l, d], used for l < k (the model's order)
    order : (L,) the alignment column at each of the model's sites (``argsort(model.sorting)``)
    reference : (L,) the reference sequence's states in the alignment's column order
    gap : the gap state, left out of the norms
    """
    eps = epistasis(h, couplings, np.asarray(reference)[order])
    eps = eps - eps.mean(1, keepdims=True) - eps.mean(3, keepdims=True) + eps.mean((1, 3), keepdims=True)
    keep = np.delete(np.arange(eps.shape[1]), gap)
    norms = np.sqrt(np.square(eps[:, keep][:, :, :, keep]).sum((1, 3)))
    np.fill_diagonal(norms, 0.0)
    norms = norms - np.outer(norms.sum(1), norms.sum(0)) / (norms.sum() * (1 - 1 / len(norms)))
    out = np.empty_like(norms)
    out[np.ix_(order, order)] = norms
    return out


#: Residues outside arDCA's protein alphabet, as mhsa-bio reads them: U as C, O as K, the rest a gap.
_ALPHABET = "-ACDEFGHIKLMNPQRSTVWY"
_TABLE = str.maketrans({"U": "C", "O": "K"})


def ardca_contacts(rows: list[str], folder: Path, *, seed: int = 0) -> np.ndarray:
    """(L, L) arDCA contact scores for aligned rows (upper case, the query first); the FASTA it
    trains on is written into ``folder``."""
    fasta = folder / "ardca.fasta"
    clean = ["".join(c if c in _ALPHABET else "-" for c in r.translate(_TABLE)) for r in rows]
    fasta.write_text("".join(f">s{k}\n{r}\n" for k, r in enumerate(clean)))
    model, encoded = fit_ardca(fasta, seed=seed)
    order = np.argsort(model.sorting.detach().cpu().numpy())
    return epistatic_scores(model.h.detach().cpu().numpy(), model.J.detach().cpu().numpy(), order, encoded[0])
