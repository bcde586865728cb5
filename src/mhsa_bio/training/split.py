"""The data of one training run: the stratified train/validation split, the background class
(given negatives or dinucleotide shuffles, fresh each epoch) and the length check."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from mhsa_bio.errors import InputError
from mhsa_bio.io.fasta import Record

if TYPE_CHECKING:
    from mhsa_bio.training.trainer import TrainConfig

SHUFFLE = "shuffle"


class Dataset(NamedTuple):
    """Labelled sequences. ``labels`` index into ``classes``."""

    records: list[Record]
    labels: np.ndarray  # (N,) int64
    classes: list[str]


class Split(NamedTuple):
    """Training and validation sets; ``background`` says how the background class was made;
    ``linked`` records share a k-mer with another and were kept on one side with it (0: none, or
    the split dealt records one by one)."""

    train: Dataset
    val: Dataset
    background: str
    linked: int = 0


def stratified_split(
    labels: np.ndarray, *, fraction: float, seed: int, groups: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, val): ``fraction`` of each class to validation, seeded, sorted. With
    ``groups`` (N,) every group goes whole to one side (``groups.deal_groups``), so the
    fractions hold as nearly as the groups allow."""
    rng = np.random.default_rng([seed, 17])
    if groups is not None and labels.size:
        from mhsa_bio.training.groups import deal_groups, part_without_class

        part = deal_groups(labels, groups, shares=np.array([1.0 - fraction, fraction]), rng=rng)
        side = part_without_class(part, labels, 2)
        if side is not None:
            raise InputError(
                f"--val-group-kmer: the {('training', 'validation')[side]} side of the split gets no "
                "record of one class once overlapping records are kept together; raise "
                "--val-fraction or give --val-group-kmer 0"
            )
        return np.flatnonzero(part == 0), np.flatnonzero(part == 1)
    val: list[np.ndarray] = []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        rng.shuffle(idx)
        n_val = int(round(fraction * idx.size))
        if fraction > 0 and idx.size >= 2:
            n_val = min(max(n_val, 1), idx.size - 1)
        val.append(idx[:n_val])
    val_idx = np.sort(np.concatenate(val)) if val else np.array([], dtype=np.int64)
    train_idx = np.setdiff1d(np.arange(labels.size), val_idx)
    return train_idx, val_idx


def _cut(
    records: Sequence[Record], labels: np.ndarray, config: TrainConfig
) -> tuple[np.ndarray, np.ndarray, int]:
    """(train, validation) indices of ``records`` and how many of them share their overlap group
    with another (0 when the split deals them one by one): records sharing a
    ``config.val_group_kmer``-mer stay on one side (``groups.linked_groups``)."""
    from mhsa_bio.training.groups import linked_groups

    groups = linked_groups([r.seq for r in records], config.val_group_kmer)
    tr, va = stratified_split(labels, fraction=config.val_fraction, seed=config.seed, groups=groups)
    if groups is None:
        return tr, va, 0
    sizes = np.bincount(groups)
    return tr, va, int((sizes[groups] > 1).sum())


def make_split(
    positives: list[Record],
    *,
    negatives: list[Record] | None,
    config: TrainConfig,
    labels: np.ndarray | None = None,
    classes: list[str] | None = None,
) -> Split:
    """Build the stratified split.

    Three cases: ``labels`` given (multi-class, sequences are all in ``positives``); explicit
    ``negatives`` (class 0 = background, 1 = positives); or neither: class 0 is made of
    dinucleotide shuffles of the positives, regenerated every epoch for training (see
    ``epoch_training_set``) and fixed for validation; validation shuffles come from validation
    positives only, so nothing leaks across the split.
    """
    from mhsa_bio.shuffle import shuffle_records

    if labels is not None or negatives is not None:
        if labels is not None:
            assert classes is not None
            records, lab, background = positives, labels, "labels"
        else:
            assert negatives is not None
            records, classes, background = positives + negatives, ["background", "positive"], "negatives"
            lab = np.r_[np.ones(len(positives)), np.zeros(len(negatives))].astype(np.int64)
        tr, va, linked = _cut(records, lab, config)
        return Split(
            _subset(records, lab, classes, tr), _subset(records, lab, classes, va), background, linked
        )
    classes = ["background", "positive"]
    tr, va, linked = _cut(positives, np.ones(len(positives), dtype=np.int64), config)
    train_pos = [positives[i] for i in tr]
    val_pos = [positives[i] for i in va]
    val_neg = shuffle_records(val_pos, n_per=config.shuffles_per_positive, seed=config.seed + 1_000_003)
    train = Dataset(train_pos, np.ones(len(train_pos), dtype=np.int64), classes)
    val = _labelled(val_pos, val_neg, classes)
    return Split(train, val, SHUFFLE, linked)


def _subset(records: list[Record], labels: np.ndarray, classes: list[str], idx: np.ndarray) -> Dataset:
    return Dataset([records[i] for i in idx], labels[idx], classes)


def _labelled(pos: list[Record], neg: list[Record], classes: list[str]) -> Dataset:
    lab = np.r_[np.ones(len(pos)), np.zeros(len(neg))].astype(np.int64)
    return Dataset(pos + neg, lab, classes)


def epoch_training_set(split: Split, *, epoch: int, config: TrainConfig) -> Dataset:
    """The training set of one epoch: with a shuffled background, fresh shuffles each epoch."""
    if split.background != SHUFFLE:
        return split.train
    from mhsa_bio.shuffle import shuffle_records

    salt = epoch if config.fresh_shuffles else 0
    neg = shuffle_records(
        split.train.records, n_per=config.shuffles_per_positive, seed=config.fit_seed * 7919 + salt
    )
    return _labelled(split.train.records, neg, split.train.classes)


def check_lengths(records: Sequence[Record], *, min_length: int, path: object) -> None:
    """Sequences shorter than the conv stem cannot be scored: name the first one."""
    for rec in records:
        if len(rec.seq) < min_length:
            raise InputError(
                f"{path}: record '{rec.id}': sequence of {len(rec.seq)} bp is shorter "
                f"than the model's {min_length} bp convolution stem"
            )
