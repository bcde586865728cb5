"""The promoter benchmark's peers: a CNNProm-like CNN and a k-mer logistic regression (torch).

Both take the same training part as the default model, hold out the same inner validation split
(``mhsa_bio.training.split.stratified_split`` with the same fraction, seed and overlap groups,
positives first) for early stopping or for choosing their L2 strength, and return held-out
probabilities of the positive class.

- CNNProm-like (Umarov & Solovyev 2017, the E. coli architecture): one-hot → one convolution of
  200 filters, width 21, ReLU → max-pool 2 → dense 128, ReLU → dropout 0.5 → 2 classes; Adam
  (lr 1e-3, batches of 64 as ours), balanced class weights, early stopping on inner-validation AUPRC as ours.
- k-mer logistic regression: counts of every k-mer for k = 3 … 6 (5,440 features) per base,
  standardised on the training part; L2-penalised logistic regression fitted by L-BFGS with
  balanced class weights; the penalty chosen from a grid on the inner validation split, then refit
  on the whole training part. The fit is the package's own (``mhsa_bio.training.kmer``: what
  ``train --kmer-member`` stores beside the Transformer); ``positional`` adds the one-hot 1- to
  3-mers at each position of the longest training sequence (``--kmer-positional``),
  ``bin_width`` the 3- and 4-mers in each bin of that many positions (``--kmer-bins``), and
  ``frames`` the reading-frame block (``--kmer-frames``).
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np


def inner_sets(pos: list[Any], neg: list[Any] | None, *, val_fraction: float, seed: int,
               shuffle_seed: int, group_kmer: int) -> tuple[list[Any], np.ndarray, list[Any], np.ndarray]:
    """(train records, labels, validation records, labels) as ``make_split`` cuts them (records
    sharing a ``group_kmer``-mer on one side; 0: one by one); with no negatives the background is
    one fixed dinucleotide shuffle per positive on each side."""
    from mhsa_bio.shuffle import shuffle_records
    from mhsa_bio.training.groups import linked_groups
    from mhsa_bio.training.split import stratified_split

    if neg is not None:
        records = pos + neg
        y = np.r_[np.ones(len(pos)), np.zeros(len(neg))].astype(np.int64)
        groups = linked_groups([r.seq for r in records], group_kmer)
        tr, va = stratified_split(y, fraction=val_fraction, seed=seed, groups=groups)
        return [records[i] for i in tr], y[tr], [records[i] for i in va], y[va]
    groups = linked_groups([r.seq for r in pos], group_kmer)
    tr, va = stratified_split(np.ones(len(pos), dtype=np.int64), fraction=val_fraction, seed=seed,
                              groups=groups)
    out = []
    for idx, salt in ((tr, 0), (va, 1)):
        p = [pos[i] for i in idx]
        n = shuffle_records(p, n_per=1, seed=shuffle_seed + salt)
        out += [p + n, np.r_[np.ones(len(p)), np.zeros(len(n))].astype(np.int64)]
    return out[0], out[1], out[2], out[3]


def one_hot(records: list[Any], width: int) -> Any:
    """(N, 4, width) float one-hot; N bases 0.25, padding 0."""
    import torch

    from mhsa_bio.alphabet import encode_batch

    tokens, _ = encode_batch([r.seq for r in records], length=width)
    table = torch.zeros(6, 4)
    table[:4] = torch.eye(4)
    table[4] = 0.25
    return table[torch.from_numpy(tokens).clamp(max=5)].transpose(1, 2).contiguous()


def cnnprom(train: tuple[list[Any], np.ndarray], val: tuple[list[Any], np.ndarray],
            test: list[Any], *, seed: int, device: Any, epochs: int = 30, patience: int = 8,
            batch_size: int = 64, lr: float = 1e-3) -> tuple[np.ndarray, dict[str, Any]]:
    """Fit the CNNProm-like CNN; returns held-out P(positive) (M,) and {best_epoch, epochs_run}."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    from mhsa_bio.metrics import auprc
    from mhsa_bio.training.kmer import class_weight

    width = max(len(r.seq) for r in train[0] + val[0] + test)
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Conv1d(4, 200, 21), nn.ReLU(), nn.MaxPool1d(2), nn.Flatten(),
                        nn.Linear(200 * ((width - 20) // 2), 128), nn.ReLU(), nn.Dropout(0.5),
                        nn.Linear(128, 2)).to(device)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    x, y = one_hot(train[0], width).to(device), torch.from_numpy(train[1]).to(device)
    weight = class_weight(train[1]).float().to(device)
    xv, xt = one_hot(val[0], width).to(device), one_hot(test, width).to(device)

    def scores(xs: Any) -> np.ndarray:
        net.eval()
        with torch.no_grad():
            return torch.cat([torch.softmax(net(xs[i:i + 512]), -1)[:, 1]
                              for i in range(0, len(xs), 512)]).cpu().numpy()

    gen = torch.Generator().manual_seed(seed)
    best, best_epoch, state, bad, epoch = -1.0, 0, None, 0, 0
    while epoch < epochs and bad < patience:
        epoch += 1
        net.train()
        order = torch.randperm(len(y), generator=gen).to(device)
        for i in range(0, len(y), batch_size):
            rows = order[i:i + batch_size]
            loss = F.cross_entropy(net(x[rows]), y[rows], weight=weight)
            opt.zero_grad()
            loss.backward()
            opt.step()
        score = auprc(val[1] == 1, scores(xv))
        if score > best:
            best, best_epoch, bad = score, epoch, 0
            state = copy.deepcopy(net.state_dict())
        else:
            bad += 1
    net.load_state_dict(state)
    return scores(xt), {"best_epoch": best_epoch, "epochs_run": epoch,
                        "inner_scores": scores(xv).tolist()}


def kmer_logistic(train: tuple[list[Any], np.ndarray], val: tuple[list[Any], np.ndarray],
                  test: list[Any], *, positional: bool = False,
                  bin_width: int = 0, frames: bool = False) -> tuple[np.ndarray, dict[str, Any]]:
    """Fit the k-mer logistic regression (``mhsa_bio.training.kmer.fit_kmer_member``, the
    member ``train --kmer-member [--kmer-positional]`` stores); returns held-out P(positive)
    (M,) and {l2, inner_scores: the validation scores of the fit with the chosen penalty on the
    rest}."""
    from mhsa_bio.training.kmer import fit_kmer_member, positional_width, proba

    width = positional_width(train[0] + val[0]) if positional else 0
    fit = fit_kmer_member([r.seq for r in train[0]], train[1], [r.seq for r in val[0]], val[1],
                          width=width, bin_width=bin_width, frames=frames)
    return proba(fit.model, [r.seq for r in test]), {"l2": fit.l2,
                                                      "inner_scores": fit.val_scores.tolist()}
