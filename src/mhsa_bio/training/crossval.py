"""Stratified K-fold cross-validation of the promoter model: folds, one run per fold, a CV table.

Each fold trains a normal run (``run_training``) on the other K − 1 folds, where the usual seeded
inner validation split picks the best epoch and stops early; the held-out fold is scored once, by
that best-epoch model, and never seen before. With the shuffled background the folds are drawn
over the positives and the held-out fold's background is a fixed dinucleotide shuffle of its own
positives, so no shuffle of a held-out promoter is ever trained on.
"""

from __future__ import annotations

import csv
import logging
import math
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from mhsa_bio.errors import InputError
from mhsa_bio.io.fasta import Record
from mhsa_bio.io.outputs import atomic_open, write_run_json

log = logging.getLogger(__name__)

#: Columns of ``cv_metrics.tsv`` after ``fold``; binary-only ones are NA for more classes.
CV_COLUMNS = (
    "n",
    "n_positive",
    "threshold",
    "sensitivity",
    "specificity",
    "mcc",
    "auroc",
    "auprc",
    "accuracy",
    "best_epoch",
    "epochs_run",
    "seconds",
)


def check_folds(
    folds: int, data: tuple[Any, ...], *, resume: bool, distributed: bool, seed: int = 0, group_kmer: int = 0
) -> Folds:
    """Refuse what cross-validation cannot do, before anything is written; the folds."""
    if resume:
        raise InputError(
            "--folds cannot be combined with --resume: rerun the cross-validation (with --force)"
        )
    if distributed:
        raise InputError("--folds runs in one process: start it without torchrun")
    return assign_folds(data, folds=folds, seed=seed, group_kmer=group_kmer)


class Folds(NamedTuple):
    """The folds of a cross-validation.

    of : (N,) the fold of every record, in the order of ``fold_labels``
    groups : how many groups of overlapping records were dealt (N when records are dealt one by one)
    group_kmer : the k-mer length that linked them (0: not grouped)
    """

    of: np.ndarray
    groups: int
    group_kmer: int


def assign_folds(data: tuple[Any, ...], *, folds: int, seed: int, group_kmer: int) -> Folds:
    """The folds of the inputs (as ``read_inputs`` returns them): stratified by ``fold_labels``,
    records sharing a ``group_kmer``-mer on either strand kept in one fold
    (``mhsa_bio.training.groups.overlap_groups``); ``group_kmer`` 0 deals records one by one."""
    labels = fold_labels(*data[:3])
    if not group_kmer:
        return Folds(stratified_folds(labels, folds=folds, seed=seed), int(labels.size), 0)
    from mhsa_bio.training.groups import MAX_GROUP_KMER, overlap_groups

    if not 1 <= group_kmer <= MAX_GROUP_KMER:
        raise InputError(f"--group-kmer {group_kmer}: expected 0 (off) or 1 to {MAX_GROUP_KMER}")
    groups = overlap_groups([r.seq for r in data[0] + (data[1] or [])], group_kmer)
    fold = stratified_folds(labels, folds=folds, seed=seed, groups=groups)
    return Folds(fold, int(groups.max()) + 1 if groups.size else 0, group_kmer)


def stratified_folds(
    labels: np.ndarray, *, folds: int, seed: int, groups: np.ndarray | None = None
) -> np.ndarray:
    """The fold (0 … K − 1) of every record.

    Without ``groups`` each class is shuffled (seeded) and dealt round-robin, so every fold holds
    ⌊n_c / K⌋ or ⌈n_c / K⌉ records of class c. With ``groups`` (N,) every group goes whole to
    one fold: the groups, shuffled (seeded), largest first, each to the fold that holds the
    smallest share of its classes so far (``mhsa_bio.training.groups.deal_groups``); folds are
    then as even as the groups allow.

    Parameters
    ----------
    labels : (N,) class index of each record
    folds : K ≥ 2, at most the size of the smallest class
    seed : fixes the folds
    groups : (N,) group index of each record (``overlap_groups``), or None
    """
    labels = np.asarray(labels)
    if folds < 2:
        raise InputError(f"--folds {folds}: cross-validation needs at least 2 folds")
    counts = np.bincount(labels)
    smallest = int(counts[counts > 0].min()) if labels.size else 0
    if folds > smallest:
        raise InputError(
            f"--folds {folds}: the smallest class has only {smallest} records; "
            "every fold needs at least one of each class"
        )
    rng = np.random.default_rng([seed, 29])
    if groups is not None:
        from mhsa_bio.training.groups import deal_groups, part_without_class

        fold = deal_groups(labels, np.asarray(groups), shares=np.full(folds, 1.0 / folds), rng=rng)
        k = part_without_class(fold, labels, folds)
        if k is not None:
            raise InputError(
                f"--folds {folds}: fold {k} gets no record of one class once overlapping records are kept "
                "together (--group-kmer); use fewer folds, or --group-kmer 0 to deal records one by one"
            )
        return fold
    fold = np.empty(labels.size, dtype=np.int64)
    offset = 0
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        rng.shuffle(idx)
        # continue the deal where the last class ended, so fold sizes differ by at most one
        fold[idx] = (offset + np.arange(idx.size)) % folds
        offset = (offset + idx.size) % folds
    return fold


class FoldData(NamedTuple):
    """One fold: what ``run_training`` reads, and the held-out records with their labels."""

    train: tuple[list[Record], list[Record] | None, np.ndarray | None, list[str] | None]
    heldout: list[Record]
    heldout_labels: np.ndarray  # (M,) class index, same classes as training
    classes: list[str]


def fold_labels(
    positives: list[Record], negatives: list[Record] | None, labels: np.ndarray | None
) -> np.ndarray:
    """What the folds are stratified on: the class labels, or positive/negative, or (shuffled
    background) nothing but the positives."""
    if labels is not None:
        return np.asarray(labels)
    if negatives is not None:
        return np.r_[np.ones(len(positives)), np.zeros(len(negatives))].astype(np.int64)
    return np.ones(len(positives), dtype=np.int64)


def heldout_background(positives: list[Record], *, n_per: int, seed: int) -> list[Record]:
    """The fixed dinucleotide shuffles that stand for the background of a held-out fold."""
    from mhsa_bio.shuffle import shuffle_records

    return shuffle_records(positives, n_per=n_per, seed=seed + 2_000_003)


def _take(records: list[Record], mask: np.ndarray) -> list[Record]:
    return [r for r, t in zip(records, mask) if t]


def split_fold(
    data: tuple[Any, ...], fold: np.ndarray, k: int, *, shuffles_per_positive: int = 1, seed: int = 0
) -> FoldData:
    """Cut the inputs (as ``read_inputs`` returns them) into fold ``k`` held out and the rest."""
    positives, negatives, labels, classes = data
    test = fold == k
    train: tuple[list[Record], list[Record] | None, np.ndarray | None, list[str] | None]
    if labels is not None:
        records = positives
        train = (_take(records, ~test), None, labels[~test], classes)
        return FoldData(train, _take(records, test), labels[test], classes)
    two = ["background", "positive"]
    if negatives is not None:
        n_pos = len(positives)
        pos_test, neg_test = test[:n_pos], test[n_pos:]
        train = (_take(positives, ~pos_test), _take(negatives, ~neg_test), None, None)
        held_pos = _take(positives, pos_test)
        held_neg = _take(negatives, neg_test)
    else:
        train = (_take(positives, ~test), None, None, None)
        held_pos = _take(positives, test)
        held_neg = heldout_background(held_pos, n_per=shuffles_per_positive, seed=seed + 7 * k)
    held_labels = np.r_[np.ones(len(held_pos)), np.zeros(len(held_neg))].astype(np.int64)
    return FoldData(train, held_pos + held_neg, held_labels, two)


def heldout_metrics(
    labels: np.ndarray, probs: np.ndarray, *, threshold: float | None = 0.5
) -> dict[str, Any]:
    """Metrics of one held-out fold: binary (Sn, Sp, MCC at ``threshold``, AUROC, AUPRC) or
    multi-class."""
    from mhsa_bio.metrics import binary_metrics, multiclass_metrics

    if probs.shape[1] == 2:
        m = dict(binary_metrics(labels == 1, probs[:, 1], threshold=0.5 if threshold is None else threshold))
    else:
        m = dict(multiclass_metrics(labels, probs))
    m["n"] = int(labels.size)
    if probs.shape[1] == 2:
        m["n_positive"] = int(np.sum(labels == 1))
    return m


def summary_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``mean`` and ``sd`` (sample, n − 1) rows over the folds for every numeric column."""
    mean: dict[str, Any] = {"fold": "mean"}
    sd: dict[str, Any] = {"fold": "sd"}
    for col in CV_COLUMNS:
        values = [r.get(col) for r in rows]
        nums = np.array(
            [
                v
                for v in values
                if isinstance(v, (int, float)) and not (isinstance(v, float) and math.isnan(v))
            ],
            dtype=float,
        )
        if nums.size != len(rows) or nums.size == 0:
            mean[col] = sd[col] = None
            continue
        mean[col] = float(nums.mean())
        sd[col] = float(nums.std(ddof=1)) if nums.size > 1 else float("nan")
    return [mean, sd]


def write_cv_table(path: Path, rows: list[dict[str, Any]], summary: list[dict[str, Any]]) -> None:
    """``cv_metrics.tsv``: one row per fold, then the ``mean`` and ``sd`` rows of ``summary_rows``;
    NA where not defined."""

    def fmt(v: Any) -> str:
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return "NA"
        return f"{v:.6g}" if isinstance(v, float) else str(v)

    with atomic_open(path) as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(("fold", *CV_COLUMNS))
        for row in rows + summary:
            writer.writerow([fmt(row.get("fold"))] + [fmt(row.get(c)) for c in CV_COLUMNS])


def write_predictions(
    path: Path, records: list[Record], labels: np.ndarray, probs: np.ndarray, classes: list[str]
) -> None:
    """``heldout_predictions.tsv``: id, true class, then the probability of each class."""
    with atomic_open(path) as handle:
        handle.write("\t".join(["id", "class", *classes]) + "\n")
        for rec, y, p in zip(records, labels, probs):
            handle.write("\t".join([rec.id, classes[int(y)], *(f"{v:.6g}" for v in p)]) + "\n")


def _epochs(fit: dict[str, Any], key: str) -> float | int | None:
    """A run's ``best_epoch`` or ``epochs_run``; for an ensemble, the mean over its members."""
    if fit.get(key) is not None:
        return fit[key]
    values = [m[key] for m in fit.get("members", []) if m.get(key) is not None]
    return float(np.mean(values)) if values else None


def fit_fold(
    inputs: Any,
    out: Path,
    part: FoldData,
    *,
    model_config: Any,
    train_config: Any,
    device: Any,
    params: dict[str, Any] | None = None,
    on_epoch: Callable[..., None] | None = None,
    on_step: Callable[[int, int, float], None] | None = None,
) -> tuple[dict[str, Any], np.ndarray]:
    """Train one fold's run into ``out`` on ``part.train`` and score its held-out records with
    the best-epoch model. Returns the held-out metrics (Sn, Sp, MCC at the model's stored decision
    threshold; with best epoch, epochs run, seconds and ``inner``, the inner validation metrics
    that chose the epoch and the threshold) and the (M, C) probabilities.
    """
    import torch

    from mhsa_bio.checkpoint import decision_threshold, load_predictor
    from mhsa_bio.predict import predict_proba
    from mhsa_bio.training.run import run_training
    from mhsa_bio.training.split import check_lengths

    check_lengths(part.heldout, min_length=model_config.stem_kernel, path="held-out fold")
    start = time.perf_counter()
    torch.manual_seed(train_config.seed)
    fit = run_training(
        inputs,
        out,
        model_config=model_config,
        train_config=train_config,
        device=device,
        data=part.train,
        on_epoch=on_epoch,
        on_step=on_step,
        params=params,
    )
    seconds = time.perf_counter() - start
    model, ckpt = load_predictor(out / "model.pt", device=device)
    probs = predict_proba(
        model, part.heldout, device=device, batch_size=max(train_config.batch_size, 128), amp=train_config.amp
    )
    row = {
        **heldout_metrics(part.heldout_labels, probs, threshold=decision_threshold(ckpt)),
        "best_epoch": _epochs(fit, "best_epoch"),
        "epochs_run": _epochs(fit, "epochs_run"),
        "seconds": seconds,
        "inner": {k: v for k, v in fit.items() if isinstance(v, (int, float))},
    }
    return row, probs


def run_crossval(
    inputs: Any,
    out: Path,
    *,
    data: tuple[Any, ...],
    folds: int,
    model_config: Any,
    train_config: Any,
    device: Any,
    group_kmer: int = 0,
    dealt: Folds | None = None,
    params: dict[str, Any] | None = None,
    on_fold: Callable[[int, dict[str, Any]], None] | None = None,
    on_epoch: Callable[..., None] | None = None,
    on_step: Callable[[int, int, float], None] | None = None,
) -> list[dict[str, Any]]:
    """Train one model per fold into ``out/fold{k}/`` (each a normal run folder, plus
    ``heldout_predictions.tsv`` and ``heldout_metrics.json``), then ``out/cv_metrics.tsv`` and
    ``out/run.json``. Returns the per-fold rows of the table.

    ``data`` is what ``read_inputs`` returned. The folds are fixed by ``train_config.seed``,
    records sharing a ``group_kmer``-mer kept in one fold (``assign_folds``; 0: dealt one by
    one; ``dealt``: those folds, already cut by ``check_folds``); within each training part
    ``train_config.val_fraction`` is held out for early stopping.
    """
    from mhsa_bio.io.outputs import write_json

    positives, negatives = data[0], data[1]
    if model_config.max_len <= 0:  # one position table for every fold
        longest = max(len(r.seq) for r in positives + (negatives or []))
        model_config = replace(model_config, max_len=longest)
    if dealt is None:
        dealt = assign_folds(data, folds=folds, seed=train_config.seed, group_kmer=group_kmer)
    fold = dealt.of
    rows: list[dict[str, Any]] = []
    for k in range(folds):
        part = split_fold(
            data, fold, k, shuffles_per_positive=train_config.shuffles_per_positive, seed=train_config.seed
        )
        fold_dir = out / f"fold{k}"
        fold_dir.mkdir(parents=True, exist_ok=True)
        row, probs = fit_fold(
            inputs,
            fold_dir,
            part,
            model_config=model_config,
            train_config=train_config,
            device=device,
            on_epoch=on_epoch,
            on_step=on_step,
            params={**(params or {}), "fold": k, "folds": folds},
        )
        row = {"fold": k, **row}
        write_predictions(
            fold_dir / "heldout_predictions.tsv", part.heldout, part.heldout_labels, probs, part.classes
        )
        write_json(fold_dir / "heldout_metrics.json", {"split": f"held-out fold {k} of {folds}", **row})
        rows.append(row)
        log.info("fold %d: %s", k, ", ".join(f"{c} {row[c]:.3f}" for c in ("auroc", "mcc") if c in row))
        if on_fold is not None:
            on_fold(k, row)
    mean, sd = summary_rows(rows)
    write_cv_table(out / "cv_metrics.tsv", rows, [mean, sd])
    write_run_json(
        out,
        "train",
        params or {},
        folds=folds,
        fold_seed=train_config.seed,
        group_kmer=dealt.group_kmer,
        fold_groups=dealt.groups,
        fold_sizes=[int(np.sum(fold == k)) for k in range(folds)],
        model_config=model_config.to_dict(),
        train_config=train_config.to_dict(),
        device=str(device),
        cv_mean=mean,
        cv_sd=sd,
    )
    return rows
