"""The maximum epochs of a fit by data size (``TrainConfig.epochs=0``): the rule and its words."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from mhsa_bio.training.split import SHUFFLE, Split

if TYPE_CHECKING:
    from mhsa_bio.training.trainer import TrainConfig

#: ``epochs=0``: sets of at least this many training sequences (background included) get
#: ``BASE_EPOCHS``; smaller sets as many epochs as give the same number of optimiser steps.
SMALL_SET = 2000
BASE_EPOCHS = 30
MAX_EPOCHS = 150
#: ``epochs=0``: training sequences longer than this (median) get proportionally more epochs.
LONG = 300


def auto_epochs(n_train: int, length: int = 0) -> int:
    """Maximum epochs for ``n_train`` training sequences (positives plus background) of median
    length ``length``.

    30 for 2,000 or more; below that, ⌈30 × 2,000 / n_train⌉, so a small set gets about as many
    optimiser steps as 30 epochs of a 2,000-sequence set instead of stopping at the cap while
    still improving (a ChIP-seq set of ~400 peaks, 317 training positives, was still improving at
    epoch 29 of 30). Sequences longer than ``LONG`` bp multiply that by length / ``LONG``
    (rounded up): attention spread over more bases leaves the chance plateau later (1,000
    positives of 500 bp against shuffles left it at epoch 43 of 64, and stayed on it through 38
    epochs). At most 150. Early stopping (``patience``) ends it sooner when it stalls.
    """
    epochs = BASE_EPOCHS if n_train >= SMALL_SET else math.ceil(BASE_EPOCHS * SMALL_SET / max(n_train, 1))
    if length > LONG:
        epochs = math.ceil(epochs * length / LONG)
    return min(MAX_EPOCHS, epochs)


def training_size(split: Split, config: TrainConfig) -> int:
    """Training sequences per epoch: the training records plus their fresh shuffles."""
    return len(split.train.records) * (
        1 + (config.shuffles_per_positive if split.background == SHUFFLE else 0)
    )


def training_length(split: Split) -> int:
    """The median length of the training records."""
    return int(np.median([len(r.seq) for r in split.train.records])) if split.train.records else 0


def epochs_rule(split: Split, config: TrainConfig) -> str:
    """How ``config.epochs`` (before :func:`resolve_epochs`) sets the maximum epochs, in words:
    recorded in ``metrics.json`` and ``run.json``."""
    if config.epochs > 0:
        return "--epochs"
    rule = f"by data size: {training_size(split, config)} training sequences (background included)"
    length = training_length(split)
    return rule + (f", median length {length} bp" if length > LONG else "")


def resolve_epochs(split: Split, config: TrainConfig) -> TrainConfig:
    """``config`` with ``epochs=0`` replaced by :func:`auto_epochs` of the split's size and
    length, and ``min_epochs=None`` by :func:`auto_min_epochs` of the maximum."""
    if config.epochs <= 0:
        config = replace(config, epochs=auto_epochs(training_size(split, config), training_length(split)))
    if config.min_epochs is None:
        config = replace(config, min_epochs=auto_min_epochs(config.epochs))
    return config


def auto_min_epochs(epochs: int) -> int:
    """The epoch before which early stopping does not end a fit (``min_epochs=None``): a third
    of the maximum ``epochs``, rounded up. The learning rate decays over the maximum, so a fit
    stopped in its first third has had little of it; on E. coli σ70 promoters against shuffles
    (cap 56) one fit of 15 stopped at epoch 12 with its best epoch the 4th, still calling every
    sequence a promoter (benchmarks/promoters.py)."""
    return math.ceil(epochs / 3)
