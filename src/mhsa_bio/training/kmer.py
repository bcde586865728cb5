"""Fitting the k-mer member of a two-class model (``train --kmer-member``).

The member (:class:`mhsa_bio.models.kmer.KmerLogistic`) is fitted on the run's own split: the
frequencies of every k-mer (k = 3 … 6), with ``--kmer-frames`` the reading-frame block (stop
codons and codon usage in each strand's frames, each base's position asymmetry), and with
``--kmer-positional`` the one-hot 1-, 2- and 3-mers at each position of the longest training
sequence (and with ``--kmer-bins N`` which 3- and 4-mers start in each bin of N positions),
standardised on the training part; an
L2-penalised logistic regression with balanced class weights fitted by L-BFGS for each penalty of
``L2_GRID`` (``POSITIONAL_L2_GRID`` with the positional block), the penalty with the highest
validation AUPRC kept, then refitted on training + validation. Its validation probabilities come
from the fit on the training part alone, so the metrics and decision threshold of the averaged
model are scored on records that fit did not see.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any, NamedTuple

import numpy as np
import torch

from mhsa_bio.models.kmer import KmerLogistic, member_features, n_member_features

log = logging.getLogger(__name__)

#: Penalties tried: ``l2 · Σw²`` (bias excluded) added to the class-weighted mean log-loss.
L2_GRID = (1e-4, 1e-3, 1e-2, 1e-1)
#: Penalties tried with the position-specific block: ``L2_GRID`` and two higher ones, as it
#: has more features (on the E. coli and iPromoter folds 0.1 was chosen in 25 of 30 fits, on
#: the 251 bp mouse TATA folds 10⁻⁴ in 9 of 10).
POSITIONAL_L2_GRID = (1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0)
#: The k-mer member's weight in the average with the Transformer (1 : 1).
KMER_WEIGHT = 0.5


class KmerFit(NamedTuple):
    """A fitted member, the penalty chosen and its validation P(positive) (from the fit on the
    training part alone)."""

    model: KmerLogistic
    l2: float
    val_scores: np.ndarray


def features(
    seqs: list[str], *, width: int = 0, bin_width: int = 0, frames: bool = False, chunk: int = 2048
) -> torch.Tensor:
    """(N, ``n_member_features(width, bin_width, frames)``) float64 member features of DNA
    strings: k-mer frequencies (43.5 kB a sequence), with ``frames`` the reading-frame block
    (1.1 kB) and, for ``width`` > 0, the position-specific block over that many positions
    (0.7 kB a position, and with ``bin_width`` 2.6 kB a bin); ``chunk`` sequences at a time."""
    from mhsa_bio.alphabet import encode_batch

    out = torch.empty(len(seqs), n_member_features(width, bin_width, frames), dtype=torch.float64)
    for start in range(0, len(seqs), chunk):
        tokens, lengths = encode_batch(seqs[start : start + chunk])
        out[start : start + len(tokens)] = member_features(
            torch.from_numpy(tokens),
            torch.from_numpy(lengths),
            width,
            bin_width,
            frames=frames,
            dtype=torch.float64,
        )
    return out


def class_weight(y: np.ndarray) -> torch.Tensor:
    """Balanced class weights n / (2 n_c), float64."""
    counts = np.bincount(y, minlength=2)
    return torch.tensor(counts.sum() / (2 * np.maximum(counts, 1)), dtype=torch.float64)


def _standardise(x: torch.Tensor, *, chunk: int = 2048) -> tuple[torch.Tensor, torch.Tensor]:
    """Column means and standard deviations (+ 1e-6) of ``x``, summed ``chunk`` rows at a time
    (no temporary the size of ``x``)."""
    mean = x.mean(0)
    var = torch.zeros_like(mean)
    for start in range(0, x.shape[0], chunk):
        var += (x[start : start + chunk] - mean).square().sum(0)
    return mean, (var / max(x.shape[0], 1)).sqrt() + 1e-6


def _standardised(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``x`` standardised in place, with the means and scales used."""
    mean, scale = _standardise(x)
    return x.sub_(mean).div_(scale), mean, scale


def _logistic(x: torch.Tensor, y: np.ndarray, l2: float) -> torch.Tensor:
    """Weights (F + 1,), bias last, of the class-weighted L2-penalised logistic regression."""
    w = torch.zeros(x.shape[1] + 1, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([w], lr=1.0, max_iter=200, line_search_fn="strong_wolfe")
    target = torch.from_numpy(y)
    sample_w = class_weight(y)[target]

    def closure() -> torch.Tensor:
        opt.zero_grad()
        logit = x @ w[:-1] + w[-1]
        loss = (
            torch.nn.functional.binary_cross_entropy_with_logits(logit, target.double(), reduction="none")
            * sample_w
        ).sum() / sample_w.sum()
        loss = loss + l2 * (w[:-1] ** 2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return w.detach()


def _member(
    w: torch.Tensor, mean: torch.Tensor, scale: torch.Tensor, width: int, bin_width: int, frames: bool
) -> KmerLogistic:
    # float64 while fitting; the checkpoint keeps float32
    model = KmerLogistic(width, bin_width, frames).double()
    for name, value in (("mean", mean), ("scale", scale), ("weight", w[:-1]), ("bias", w[-1])):
        getattr(model, name).copy_(value)
    return model


def _proba(model: KmerLogistic, x: torch.Tensor) -> np.ndarray:
    """P(positive) of float64 features ``x`` by a member as fitted (float64)."""
    z = (x - model.mean) / model.scale
    return torch.sigmoid(z @ model.weight + model.bias).numpy()


def fit_kmer_member(
    train_seqs: list[str],
    train_labels: np.ndarray,
    val_seqs: list[str],
    val_labels: np.ndarray,
    *,
    width: int = 0,
    bin_width: int = 0,
    frames: bool = False,
) -> KmerFit:
    """Fit on the training part for every penalty, keep the one with the highest validation
    AUPRC, refit on training + validation. Labels are 1 (positive) or 0. ``frames`` adds the
    reading-frame block; ``width`` > 0 the position-specific block over that many positions (and
    searches ``POSITIONAL_L2_GRID``), and ``bin_width`` > 0 its binned part, that many positions
    a bin."""
    from mhsa_bio.metrics import auprc

    grid = POSITIONAL_L2_GRID if width else L2_GRID
    bins = bin_width if width else 0
    # standardised in place, and the training part's features freed before the refit's are
    # built: the peak is about twice the features of training + validation
    blocks = partial(features, width=width, bin_width=bins, frames=frames)
    ztr, mean, scale = _standardised(blocks(train_seqs))
    zva = blocks(val_seqs).sub_(mean).div_(scale)
    inner = {}
    for penalty in grid:
        w = _logistic(ztr, train_labels, penalty)
        inner[penalty] = torch.sigmoid(zva @ w[:-1] + w[-1]).numpy()
    l2 = max(grid, key=lambda v: auprc(val_labels == 1, inner[v]))
    del ztr, zva
    zall, mean, scale = _standardised(blocks(train_seqs + val_seqs))
    model = _member(_logistic(zall, np.r_[train_labels, val_labels], l2), mean, scale, width, bins, frames)
    binned = f", 3- and 4-mers in bins of {bins}" if bins else ""
    reads = ["reading frames"] if frames else []
    reads += [f"position-specific 1- to 3-mers over {width} positions{binned}"] if width else []
    log.info(
        "k-mer member%s: penalty %g chosen on the validation split (AUPRC %.4f)",
        f" with {' and '.join(reads)}" if reads else "",
        l2,
        auprc(val_labels == 1, inner[l2]),
    )
    return KmerFit(model, l2, inner[l2])


def proba(model: KmerLogistic, seqs: list[str]) -> np.ndarray:
    """P(positive) of DNA strings by a member as ``fit_kmer_member`` returned it (float64)."""
    return _proba(model, features(seqs, width=model.width, bin_width=model.bin_width, frames=model.frames))


def positional_width(records: list[Any]) -> int:
    """The width of the position-specific block for these training records: the longest."""
    return max((len(r.seq) for r in records), default=0)


def fit_on_split(split: Any, config: Any) -> KmerFit:
    """``fit_kmer_member`` on a run's split (``training.split.make_split``): its training part as
    an epoch sees it (with a shuffled background, ``epoch_training_set``'s epoch 0) and its
    validation split."""
    from mhsa_bio.training.split import epoch_training_set

    train = epoch_training_set(split, epoch=0, config=config)
    width = positional_width(train.records + split.val.records) if config.kmer_positional else 0
    return fit_kmer_member(
        [r.seq for r in train.records],
        train.labels,
        [r.seq for r in split.val.records],
        split.val.labels,
        width=width,
        bin_width=config.kmer_bins,
        frames=config.kmer_frames,
    )


def attach(split: Any, probs: np.ndarray, *, config: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Fit the member on ``split`` (``fit_on_split``) and average it with the Transformer's
    validation probabilities ``probs`` (N, 2).

    Returns the checkpoint's ``kmer_member`` entry and the metrics of the averaged model on the
    validation split (AUROC, AUPRC, …, the decision threshold ``config.threshold`` or the
    MCC-best one, Sn, Sp, MCC at it), with ``kmer_member``: the penalty, the weight and the
    member's own validation AUROC and AUPRC.
    """
    from mhsa_bio.metrics import auprc, auroc, multiclass_metrics
    from mhsa_bio.training.trainer import decision_metrics

    if probs.shape[1] != 2:
        raise ValueError("a k-mer member needs a two-class model")
    fit = fit_on_split(split, config)
    mixed = (1 - KMER_WEIGHT) * probs[:, 1] + KMER_WEIGHT * fit.val_scores
    both = np.stack([1 - mixed, mixed], axis=1)
    y = split.val.labels
    metrics = {
        **multiclass_metrics(y, both),
        **decision_metrics(y, mixed, threshold=config.threshold),
        "kmer_member": {
            "l2": fit.l2,
            "average_weight": KMER_WEIGHT,
            "positional_width": fit.model.width,
            "positional_bin": fit.model.bin_width,
            "frames": fit.model.frames,
            "val_auroc": auroc(y == 1, fit.val_scores),
            "val_auprc": auprc(y == 1, fit.val_scores),
        },
    }
    return fit.model.to_checkpoint(l2=fit.l2, average_weight=KMER_WEIGHT), metrics
