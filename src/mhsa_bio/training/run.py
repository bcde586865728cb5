"""A training run on disk: inputs → split → trainer → checkpoint, log, metrics, plot; resume."""

from __future__ import annotations

import csv
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mhsa_bio import __version__
from mhsa_bio.errors import InputError
from mhsa_bio.io.fasta import Record, read_fasta
from mhsa_bio.io.outputs import atomic_open, write_json, write_run_json

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainInputs:
    """Where the sequences come from; exactly one of ``fasta`` or ``bed`` + ``genome``."""

    fasta: Path | None = None
    bed: Path | None = None
    genome: Path | None = None
    negatives: Path | None = None
    labels: Path | None = None


def _abs(path: Path | None) -> str | None:
    if path is None:
        return None
    return "-" if str(path) == "-" else str(Path(path).resolve())


def read_inputs(
    inputs: TrainInputs, *, min_length: int
) -> tuple[list[Record], list[Record] | None, np.ndarray | None, list[str] | None]:
    """Read and validate every input; returns positives, negatives, labels, classes."""
    if inputs.fasta is not None and inputs.bed is not None:
        raise InputError("give either a FASTA file or --bed with --genome, not both")
    if inputs.bed is not None:
        if inputs.genome is None:
            raise InputError(f"{inputs.bed}: --bed needs --genome GENOME.fa")
        from mhsa_bio.io.genome import read_bed_regions

        positives = read_bed_regions(inputs.bed, inputs.genome, min_length=min_length)
        source: object = inputs.bed
    elif inputs.fasta is not None:
        positives = read_fasta(inputs.fasta, min_length=min_length)
        source = inputs.fasta
    else:
        raise InputError("no input: give PROMOTERS.fa or --bed with --genome")
    negatives = None
    if inputs.negatives is not None:
        negatives = read_fasta(inputs.negatives, min_length=min_length)
        dup = {r.id for r in positives} & {r.id for r in negatives}
        if dup:
            raise InputError(f"{inputs.negatives}: record '{sorted(dup)[0]}': id also used in {source}")
    labels = classes = None
    if inputs.labels is not None:
        if negatives is not None:
            raise InputError(
                f"{inputs.labels}: --labels and --negatives cannot be combined; "
                "label the background sequences as a class instead"
            )
        from mhsa_bio.io.labels import read_labels

        labels, classes = read_labels(inputs.labels, positives)
    return positives, negatives, labels, classes


def provenance(
    inputs: TrainInputs, *, background: str, split_sizes: dict[str, Any], config: dict[str, Any]
) -> dict[str, Any]:
    """Input paths with sha256, background, split sizes and training settings."""
    from mhsa_bio.checkpoint import sha256

    files = {}
    for name in ("fasta", "bed", "genome", "negatives", "labels"):
        path = getattr(inputs, name)
        if path is not None:
            files[name] = {"path": _abs(path), "sha256": sha256(path) if name != "genome" else ""}
    return {
        "inputs": files,
        "background": background,
        "split": split_sizes,
        "train_config": config,
        "package_version": __version__,
    }


def _option(name: str) -> str:
    """The ``train`` option that sets a config field (``shuffles_per_positive`` → ``--shuffles``)."""
    return {"shuffles_per_positive": "--shuffles"}.get(name, "--" + name.replace("_", "-"))


def check_resumable(
    saved: dict[str, Any], prov: dict[str, Any], model_config: dict[str, Any], *, path: Path
) -> None:
    """Refuse to continue a run with other inputs, model size or training settings.

    The message names every option whose value differs from the interrupted run's.
    """
    saved_prov = saved.get("provenance", {})
    if saved_prov.get("inputs") != prov["inputs"]:
        changed = sorted(
            k
            for k in set(saved_prov.get("inputs", {})) | set(prov["inputs"])
            if saved_prov.get("inputs", {}).get(k) != prov["inputs"].get(k)
        )
        raise InputError(
            f"{path}: the run to resume read other input files ({', '.join(changed)} "
            "differ); give the same inputs, or start over with --force"
        )
    from mhsa_bio.models.promoter import LEGACY_CONFIG, PromoterConfig
    from mhsa_bio.training.trainer import LEGACY_TRAIN_CONFIG, TrainConfig

    # a setting the interrupted run's version did not have yet: its default then
    defaults = {
        **PromoterConfig().to_dict(),
        **TrainConfig().to_dict(),
        **LEGACY_CONFIG,
        **LEGACY_TRAIN_CONFIG,
    }
    differ = []
    for old, new in (
        (saved.get("config", {}), model_config),
        (saved_prov.get("train_config", {}), prov["train_config"]),
    ):
        for key in sorted(set(old) | set(new)):
            if key == "threshold":  # chosen or stored after training; training does not read it
                continue
            before = old.get(key, defaults.get(key))
            if before != new.get(key):
                differ.append(f"{_option(key)} {before} -> {new.get(key)}")
    if differ:
        raise InputError(
            f"{path}: the run to resume used other settings ({'; '.join(differ)}); "
            "give the same ones, or start over with --force"
        )


def write_train_log(path: Path, history: list[dict[str, Any]]) -> None:
    """``train_log.tsv``: one row per epoch."""
    with atomic_open(path) as handle:
        if not history:
            return
        writer = csv.DictWriter(handle, fieldnames=list(history[0]), delimiter="\t", lineterminator="\n")
        writer.writeheader()
        for row in history:
            writer.writerow({k: f"{v:.6g}" if isinstance(v, float) else v for k, v in row.items()})


def split_sizes(split: Any, train_config: Any) -> dict[str, Any]:
    """The split as the provenance records it: classes, counts, validation ids, fraction, seed."""
    return {
        "classes": split.train.classes,
        "train": np.bincount(split.train.labels, minlength=len(split.train.classes)).tolist(),
        "validation": np.bincount(split.val.labels, minlength=len(split.val.classes)).tolist(),
        "validation_ids": [r.id for r in split.val.records],
        "val_fraction": train_config.val_fraction,
        "seed": train_config.seed,
        "val_group_kmer": train_config.val_group_kmer,
        "linked_records": split.linked,
    }


def run_training(
    inputs: TrainInputs,
    out: Path,
    *,
    model_config: Any,
    train_config: Any,
    device: Any,
    resume: bool = False,
    params: dict[str, Any] | None = None,
    on_epoch: Callable[..., None] | None = None,
    on_step: Callable[[int, int, float], None] | None = None,
    dist: Any = None,
    data: tuple[Any, ...] | None = None,
) -> dict[str, Any]:
    """Train and write ``model.pt``, ``last.pt``, ``train_log.tsv``, ``metrics.json``,
    ``learning_curve.png`` and ``run.json`` into ``out``. Returns the metrics dict.

    Under torchrun pass the ``DistContext`` as ``dist``: every rank trains, only rank 0 writes
    (and calls ``on_epoch``); the other ranks return the same metrics and write nothing.
    ``data`` is what ``read_inputs`` returned, when the caller has already read the inputs.
    """
    from dataclasses import replace

    from mhsa_bio.checkpoint import make_checkpoint, read_checkpoint, save_checkpoint
    from mhsa_bio.plots import learning_curve
    from mhsa_bio.runtime.distributed import SINGLE
    from mhsa_bio.training.epochs import epochs_rule, resolve_epochs
    from mhsa_bio.training.split import check_lengths, make_split
    from mhsa_bio.training.trainer import Trainer

    if data is None:
        data = read_inputs(inputs, min_length=model_config.stem_kernel)
    positives, negatives, labels, classes = data
    longest = max(len(r.seq) for r in positives + (negatives or []))
    if model_config.max_len <= 0:
        model_config = replace(model_config, max_len=longest)
    if train_config.ensemble > 1:
        from mhsa_bio.training.ensemble import train_ensemble

        return train_ensemble(
            inputs,
            out,
            model_config=model_config,
            train_config=train_config,
            device=device,
            resume=resume,
            params=params,
            on_epoch=on_epoch,
            on_step=on_step,
            dist=dist,
            data=data,
        )
    split = make_split(positives, negatives=negatives, config=train_config, labels=labels, classes=classes)
    model_config = replace(model_config, n_classes=len(split.train.classes))
    rule = epochs_rule(split, train_config)
    train_config = resolve_epochs(split, train_config)
    check_lengths(split.val.records, min_length=model_config.stem_kernel, path="validation set")
    sizes = split_sizes(split, train_config)
    prov = provenance(inputs, background=split.background, split_sizes=sizes, config=train_config.to_dict())
    dist = dist or SINGLE
    last = out / "last.pt"
    trainer = Trainer(
        split,
        model_config=model_config,
        config=train_config,
        device=device,
        dist=dist,
        pretrain=not (resume and last.exists()),
    )
    if resume and last.exists():
        saved = read_checkpoint(last)
        check_resumable(saved, prov, model_config.to_dict(), path=last)
        trainer.resume_from(saved)
        log.info("resuming after epoch %d", trainer.state.epoch)

    kmer: dict[str, Any] = {}  # the k-mer member's checkpoint entry, once fitted

    def checkpoint(metrics: dict[str, Any], state_model: bool) -> dict[str, Any]:
        extra = trainer.resume_dict() if state_model else dict(kmer)
        if not state_model and "decision_threshold" in metrics:
            extra["decision_threshold"] = metrics["decision_threshold"]
        return make_checkpoint(
            trainer.model,
            model_type="promoter",
            config=model_config.to_dict(),
            alphabet="ACGTN",
            classes=split.train.classes,
            provenance=prov,
            metrics=metrics,
            extra=extra,
        )

    def epoch_done(row: Any, state: Any) -> None:
        if not dist.is_main:
            return
        save_checkpoint(checkpoint(state.best_metrics, True), last)
        write_train_log(out / "train_log.tsv", state.history)
        if on_epoch is not None:
            on_epoch(row, state)

    state = trainer.run(on_epoch=epoch_done, on_step=on_step if dist.is_main else None)
    metrics = {
        "split": "validation",
        "best_epoch": state.best_epoch,
        "epochs_run": state.epoch,
        "max_epochs": train_config.epochs,
        "min_epochs": train_config.min_epochs,
        "epochs_rule": rule,
        "n_validation": len(split.val.records),
        "n_train": int(sum(sizes["train"])),
        "linked_records": split.linked,
        **state.best_metrics,
        **({"stem_pretrain": state.stem_pretrain} if state.stem_pretrain else {}),
    }
    from mhsa_bio.runtime.distributed import broadcast

    # rank 0 chooses the threshold; every rank returns the same metrics. The k-mer member
    # averages with the same validation probabilities, so they are predicted once.
    probs = trainer.val_probs() if dist.is_main and train_config.kmer_member else None
    metrics.update(broadcast(trainer.decision(probs) if dist.is_main else None, dist))
    if not dist.is_main:
        return metrics
    if probs is not None:  # rank 0 with a k-mer member
        kmer["kmer_member"], metrics = with_kmer_member(split, probs, metrics, train_config)
    save_checkpoint(checkpoint(metrics, False), out / "model.pt")
    write_train_log(out / "train_log.tsv", state.history)
    write_json(out / "metrics.json", metrics)
    learning_curve(state.history, out / "learning_curve.png", best_epoch=state.best_epoch)
    write_run_json(
        out,
        "train",
        params or {},
        model_config=model_config.to_dict(),
        train_config=train_config.to_dict(),
        device=str(device),
        decision_threshold=metrics.get("decision_threshold"),
        max_epochs=train_config.epochs,
        epochs_rule=rule,
        **(
            {
                "distributed": {
                    "world_size": dist.world_size,
                    "backend": "nccl" if str(device).startswith("cuda") else "gloo",
                }
            }
            if dist.active
            else {}
        ),
    )
    return metrics


def with_kmer_member(
    split: Any, probs: np.ndarray, metrics: dict[str, Any], train_config: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Fit the k-mer member on ``split`` (``training.kmer.attach``) beside a model whose
    validation probabilities are ``probs``. Returns its checkpoint entry and ``metrics`` with
    the averaged model's validation metrics and decision threshold in place of the model's,
    which move under ``transformer``."""
    from mhsa_bio.training.kmer import attach

    entry, mixed = attach(split, probs, config=train_config)
    own = {k: v for k, v in metrics.items() if k in mixed}
    return entry, {**metrics, **mixed, "transformer": own}


def recorded_input(ckpt: dict[str, Any], name: str) -> str | None:
    """The training input ``name`` (fasta, negatives, bed) recorded in a checkpoint, if it is
    still at its recorded path; ``None`` when it is gone.

    Raises ``InputError`` when the file there is not the one the model was trained on (its
    sha256 differs from the recorded one).
    """
    entry = ckpt.get("provenance", {}).get("inputs", {}).get(name)
    if not entry or entry.get("path") in (None, "-") or not os.path.isfile(entry["path"]):
        return None
    path = str(entry["path"])
    if entry.get("sha256"):
        from mhsa_bio.checkpoint import sha256

        if sha256(path) != entry["sha256"]:
            raise InputError(
                f"{path}: changed since the model was trained on it (its sha256 "
                "differs from the checkpoint's); name the file to use explicitly"
            )
    return path


def default_sequences(ckpt: dict[str, Any]) -> str | None:
    """The training FASTA recorded in a checkpoint, if it still exists unchanged."""
    return recorded_input(ckpt, "fasta")
