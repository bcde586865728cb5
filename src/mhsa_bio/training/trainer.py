"""One training fit of the promoter Transformer: its settings, the epoch loop under AMP and torchrun,
validation, early stopping and the decision threshold."""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from mhsa_bio.metrics import multiclass_metrics
from mhsa_bio.models.promoter import PromoterConfig
from mhsa_bio.predict import predict_proba
from mhsa_bio.runtime.device import autocast
from mhsa_bio.runtime.distributed import SINGLE, DistContext, all_reduce_sum, broadcast, shard, wrap_model
from mhsa_bio.training.batches import augment_draws, batch_order, batch_tensors
from mhsa_bio.training.epochs import resolve_epochs, training_size
from mhsa_bio.training.groups import DEFAULT_GROUP_KMER
from mhsa_bio.training.optimisation import build_optimisation
from mhsa_bio.training.split import Dataset, Split, epoch_training_set

log = logging.getLogger(__name__)

#: What a run recorded before a training setting existed meant by leaving it out.
LEGACY_TRAIN_CONFIG: dict[str, Any] = {"val_group_kmer": 0, "min_epochs": 0}


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings; every field is recorded in the checkpoint.

    epochs : maximum epochs; 0 = by data size (:func:`mhsa_bio.training.epochs.auto_epochs`), resolved
        before training
    threshold : probability of the positive class at or above which a two-class model calls a
        sequence positive; ``None`` = the threshold with the highest MCC on the validation split
        (:func:`mhsa_bio.metrics.mcc_threshold`), chosen once training ends. 0.5 by default:
        benchmarks/promoters.py --tune keeps it (E. coli, grouped folds, seeds 0-2: cross-fitted
        inner MCC 0.756 at 0.5 against 0.754 at the chosen threshold)
    ensemble : models trained on the same split from different random starts and saved as one
        checkpoint, whose probabilities are averaged (:func:`mhsa_bio.training.ensemble.train_ensemble`)
    member : the ensemble member this fit is (0 for a single model): see :attr:`fit_seed`
    kmer_member : also fit a k-mer logistic regression on the same split and average its
        probability with the model's (:mod:`mhsa_bio.training.kmer`); two-class models only
    kmer_positional : give the k-mer member the one-hot 1- to 3-mers at each position too
        (:func:`mhsa_bio.models.kmer.positional_kmers`), for aligned windows; needs ``kmer_member``
    kmer_bins : with ``kmer_positional``, also which 3- and 4-mers start in each bin of this many
        positions (a word that moves by a base or two still sets the same feature); 0 = off
    kmer_frames : give the k-mer member the reading-frame block too: how much a window reads like
        coding sequence (:func:`mhsa_bio.models.kmer.frame_features`); needs ``kmer_member``
    stem_pretrain : before the Transformer trains, train its convolution stem alone as a max-pool
        CNN for at most this many epochs and set the stem guide's scorer from it
        (:func:`mhsa_bio.training.stem.pretrain_stem`); needs a model with the stem guide; 0 = off
    jitter : each epoch, rotate every training sequence circularly by a random offset in
        [-jitter, jitter] (:func:`mhsa_bio.training.batches.rotate_tokens`); 0 = off. With
        ``shift_augment`` (any offset) it is not used.
    min_epochs : early stopping does not end a fit before this epoch; ``None`` (default) = a
        third of the maximum epochs (:func:`mhsa_bio.training.epochs.auto_min_epochs`), resolved
        with them; 0 = ``patience`` alone. benchmarks/promoters.py --tune chose it (E. coli
        against shuffles, grouped folds, seeds 0-2: cross-fitted inner MCC 0.457 against 0.427
        at 0.5; the same fits as ``patience`` alone on E. coli against its non-promoters)
    val_group_kmer : records sharing a k-mer this long (either strand) stay on one side of the
        train/validation split (:func:`mhsa_bio.training.groups.overlap_groups`); 0 = records
        are split one by one, as they are when no two records share one
    """

    epochs: int = 0
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.05
    warmup_fraction: float = 0.05
    patience: int = 8
    min_epochs: int | None = None
    val_fraction: float = 0.2
    seed: int = 0
    rc_augment: bool = False
    shift_augment: bool = False
    jitter: int = 0
    shuffles_per_positive: int = 1
    fresh_shuffles: bool = True
    class_weights: bool = False
    amp: bool = True
    threshold: float | None = 0.5
    ensemble: int = 1
    member: int = 0
    kmer_member: bool = False
    kmer_positional: bool = False
    kmer_bins: int = 0
    kmer_frames: bool = False
    stem_pretrain: int = 0
    val_group_kmer: int = DEFAULT_GROUP_KMER

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def fit_seed(self) -> int:
        """The seed of the weights' start, the batch order and fresh shuffles: ``seed`` for
        member 0, another one per ensemble member; the validation split follows ``seed`` alone,
        so every member holds out the same records."""
        return self.seed + 1_000_033 * self.member


#: Validation AUROC below which a model is still at chance: early stopping waits (``Trainer.run``).
CHANCE_AUROC = 0.6


@dataclass
class EpochLog:
    """One row of ``train_log.tsv``."""

    epoch: int
    train_loss: float
    val_loss: float
    val_auroc: float
    val_auprc: float
    lr: float
    seconds: float


@dataclass
class TrainState:
    """Everything needed to resume: written after each epoch."""

    epoch: int = 0
    best_epoch: int = 0
    best_auprc: float = -1.0
    best_state: dict[str, torch.Tensor] | None = None
    best_metrics: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    bad_epochs: int = 0
    #: what the stem pretraining did (:func:`mhsa_bio.training.stem.pretrain_stem`); empty when off
    stem_pretrain: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The ``train_state`` entry of ``last.pt``: every field but ``best_state`` (saved
        beside it as ``best_state_dict``), by reference."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "best_state"}

    @classmethod
    def from_dict(cls, saved: dict[str, Any], *, best_state: dict[str, torch.Tensor] | None) -> TrainState:
        """The state ``to_dict`` wrote, with the best weights saved beside it (a field the
        writing version did not have keeps its default)."""
        return cls(
            best_state=best_state,
            **{f.name: saved[f.name] for f in fields(cls) if f.name != "best_state" and f.name in saved},
        )


def decision_metrics(labels: np.ndarray, scores: np.ndarray, *, threshold: float | None) -> dict[str, Any]:
    """A two-class model's decision threshold on its validation split: ``threshold``, or (``None``)
    the one with the highest MCC there; with the Sn, Sp, MCC and accuracy at it."""
    from mhsa_bio.metrics import binary_metrics, mcc_threshold

    chosen = threshold is None
    t = mcc_threshold(labels == 1, scores)[0] if threshold is None else float(threshold)
    m = binary_metrics(labels == 1, scores, threshold=t)
    return {
        "decision_threshold": t,
        "threshold_rule": "max validation MCC" if chosen else "fixed (--threshold)",
        "at_decision_threshold": {k: m[k] for k in ("sensitivity", "specificity", "mcc", "accuracy")},
    }


class Trainer:
    """Owns model, optimiser, schedule and state; ``run`` trains until done or early-stopped.

    With a distributed ``dist`` context (under torchrun) each rank computes its share of every
    batch through DistributedDataParallel; ``model`` stays the bare module (its state dict has
    the usual keys) and only rank 0 evaluates, the others receive its metrics.
    """

    def __init__(
        self,
        split: Split,
        *,
        model_config: PromoterConfig,
        config: TrainConfig,
        device: torch.device,
        dist: DistContext | None = None,
        pretrain: bool = True,
    ) -> None:
        """``pretrain``: run the stem pretraining of ``config.stem_pretrain`` (off when the
        weights are about to be restored from a run to resume)."""
        config = resolve_epochs(split, config)
        self.split = split
        self.config = config
        self.device = device
        self.dist = dist or SINGLE
        self.model, self.optimizer, self.scheduler, self.scaler = build_optimisation(
            model_config, config, n_train=training_size(split, config), device=device
        )
        self.state = TrainState()
        if pretrain and config.stem_pretrain > 0:
            from mhsa_bio.training.stem import pretrain_stem

            # before the DDP wrap, which starts every rank from rank 0's weights
            self.state.stem_pretrain = pretrain_stem(self.model, split, config, device)
        self.net = wrap_model(self.model, self.dist, device)
        self.class_weight = self._class_weights()
        self._class_weight_np = None if self.class_weight is None else self.class_weight.cpu().numpy()

    def _class_weights(self) -> torch.Tensor | None:
        """Balanced weights n / (C · n_c) from the training set's class counts."""
        if not self.config.class_weights:
            return None
        labels = epoch_training_set(self.split, epoch=0, config=self.config).labels
        counts = np.bincount(labels, minlength=len(self.split.train.classes))
        w = counts.sum() / (counts.size * np.maximum(counts, 1))
        return torch.tensor(w, dtype=torch.float32, device=self.device)

    def resume_from(self, saved: dict[str, Any]) -> None:
        """Restore model, optimiser, schedule and history from a ``last.pt`` dict."""
        self.model.load_state_dict(saved["state_dict"])
        self.optimizer.load_state_dict(saved["optimizer"])
        self.scheduler.load_state_dict(saved["scheduler"])
        if saved.get("scaler"):
            self.scaler.load_state_dict(saved["scaler"])
        self.state = TrainState.from_dict(saved["train_state"], best_state=saved["best_state_dict"])

    def resume_dict(self) -> dict[str, Any]:
        """What ``last.pt`` holds besides the checkpoint fields."""
        return {
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict(),
            "best_state_dict": self.state.best_state,
            "train_state": self.state.to_dict(),
        }

    def train_epoch(self, epoch: int, on_step: Callable[[int, int, float], None] | None) -> float:
        data = epoch_training_set(self.split, epoch=epoch, config=self.config)
        rng = np.random.default_rng([self.config.fit_seed, epoch, 1])
        torch.manual_seed(self.config.fit_seed * 1000 + epoch)
        self.model.train()
        total, count = 0.0, 0
        batches = batch_order(len(data.records), self.config.batch_size, rng)
        for step, idx in enumerate(batches):
            rc, shift = augment_draws(rng, idx.size, self.config)
            total += self.train_step(data, idx, rc, shift) * idx.size
            count += idx.size
            if on_step is not None:
                on_step(step + 1, len(batches), total / count)
        return total / max(count, 1)

    def train_step(
        self, data: Dataset, idx: np.ndarray, rc: np.ndarray | None, shift: np.ndarray | None = None
    ) -> float:
        """One optimiser step on the batch ``idx`` of ``data`` (``rc``: rows to reverse-
        complement; ``shift``: each row's circular rotation); returns the batch's mean loss.

        Under torchrun each rank takes its share of the batch (``_share``), and its loss is its
        part of the single-process weighted mean, so that the gradient DDP averages is the
        single-process gradient; the returned loss is summed over the ranks.
        """
        rows, scale = self._share(data.labels[idx]) if self.dist.active else (np.arange(idx.size), None)
        tokens, lengths = batch_tensors(
            data.records,
            idx[rows],
            self.device,
            rc[rows] if rc is not None else None,
            shift[rows] if shift is not None else None,
        )
        labels = torch.from_numpy(data.labels[idx[rows]]).to(self.device)
        with autocast(self.device, enabled=self.config.amp):
            out = self.net(tokens, lengths)
        reduction = "mean" if scale is None else "none"
        main = F.cross_entropy(out.logits.float(), labels, weight=self.class_weight, reduction=reduction)
        total = main
        if out.stem_logits is not None:  # the stem's max-pool readout (training only)
            stem = F.cross_entropy(
                out.stem_logits.float(), labels, weight=self.class_weight, reduction=reduction
            )
            total = main + self.model.config.stem_guide * stem
        if scale is None:
            self._step(total)
            return main.item()
        self._step(total.sum() * scale)
        return float(all_reduce_sum(main.detach().sum() * scale / self.dist.world_size, self.dist).item())

    def _share(self, labels: np.ndarray) -> tuple[np.ndarray, float]:
        """This rank's rows of a global batch with ``labels``, and its loss scale.

        The scale is the world size over the batch's summed class weight (Σ w·l over the rank's
        rows, times it, is its part of the weighted mean, times the world size, since DDP
        averages). A rank with no rows (a last batch smaller than the world) runs one row with
        weight 0 to keep the collectives in step.
        """
        weights = self._class_weight_np[labels] if self._class_weight_np is not None else np.ones(labels.size)
        mine = shard(np.arange(labels.size), self.dist)
        if mine.size == 0:
            return np.arange(1), 0.0
        return mine, self.dist.world_size / float(weights.sum())

    def _step(self, loss: torch.Tensor) -> None:
        """Backward (loss-scaled under float16), clip the gradient norm to 1, step, schedule."""
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.unscale_(self.optimizer)
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.scheduler.step()

    def val_probs(self) -> np.ndarray:
        """The model's class probabilities (N, C) on the validation split."""
        return predict_proba(
            self.model,
            self.split.val.records,
            device=self.device,
            batch_size=max(self.config.batch_size, 128),
            amp=self.config.amp,
        )

    def evaluate(self) -> tuple[float, dict[str, Any]]:
        val = self.split.val
        probs = self.val_probs()
        labels = torch.from_numpy(val.labels)
        loss = float(F.nll_loss(torch.log(torch.from_numpy(probs).clamp_min(1e-12)).float(), labels))
        return loss, multiclass_metrics(val.labels, probs)

    def decision(self, probs: np.ndarray | None = None) -> dict[str, Any]:
        """The decision threshold of a two-class model (``config.threshold``, or the one with the
        highest validation MCC) and the validation Sn, Sp, MCC and accuracy at it; ``{}`` for more
        classes. Scored on the split that chose it, so optimistic when chosen. ``probs``: the
        model's ``val_probs()`` when the caller has them already."""
        if len(self.split.val.classes) != 2:
            return {}
        scores = (self.val_probs() if probs is None else probs)[:, 1]
        return decision_metrics(self.split.val.labels, scores, threshold=self.config.threshold)

    def run(
        self,
        *,
        on_epoch: Callable[[EpochLog, TrainState], None] | None = None,
        on_step: Callable[[int, int, float], None] | None = None,
    ) -> TrainState:
        """Train from ``state.epoch`` to ``config.epochs``, stopping after ``patience`` epochs
        without a better validation AUPRC, counted once some epoch has reached validation AUROC
        ``CHANCE_AUROC`` (a model still at chance trains on), and never before epoch
        ``config.min_epochs``. The best epoch's weights end in ``model``."""
        import time

        s = self.state
        min_epochs = self.config.min_epochs or 0
        while s.epoch < self.config.epochs and (s.bad_epochs < self.config.patience or s.epoch < min_epochs):
            start = time.perf_counter()
            epoch = s.epoch + 1
            train_loss = self.train_epoch(epoch, on_step)
            # rank 0 evaluates; every rank gets its numbers, so all stop at the same epoch
            val_loss, metrics = broadcast(self.evaluate() if self.dist.is_main else None, self.dist)
            row = EpochLog(
                epoch,
                train_loss,
                val_loss,
                metrics["auroc"],
                metrics["auprc"],
                float(self.scheduler.get_last_lr()[0]),
                time.perf_counter() - start,
            )
            s.history.append(asdict(row))
            s.epoch = epoch
            if metrics["auprc"] > s.best_auprc:
                s.best_auprc, s.best_epoch, s.bad_epochs = metrics["auprc"], epoch, 0
                s.best_metrics = {**metrics, "val_loss": val_loss}
                s.best_state = copy.deepcopy(
                    {k: v.detach().cpu() for k, v in self.model.state_dict().items()}
                )
            elif any(h["val_auroc"] >= CHANCE_AUROC for h in s.history):
                s.bad_epochs += 1
            # else: still at chance (no epoch yet at validation AUROC >= CHANCE_AUROC): a model on
            # the plateau of a long set leaves it late, and the noise of its validation AUPRC
            # would otherwise stop it there
            log.debug(
                "epoch %d: train loss %.4f, val loss %.4f, AUROC %.4f, AUPRC %.4f",
                epoch,
                train_loss,
                val_loss,
                metrics["auroc"],
                metrics["auprc"],
            )
            if on_epoch is not None:
                on_epoch(row, s)
        if s.best_state is not None:
            self.model.load_state_dict(s.best_state)
        return s
