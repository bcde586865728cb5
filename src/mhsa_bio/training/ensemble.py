"""``train --ensemble K``: K runs on one validation split, saved and scored as one model."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mhsa_bio.io.outputs import write_json, write_run_json

if TYPE_CHECKING:
    from mhsa_bio.training.run import TrainInputs

log = logging.getLogger(__name__)


def train_ensemble(
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
    data: tuple[Any, ...],
) -> dict[str, Any]:
    """``train_config.ensemble`` models, one per ``out/member{k}/`` (each a whole
    :func:`mhsa_bio.training.run.run_training` run with ``member`` k − 1: the same validation
    split, its own random start, batch order and fresh shuffles), then ``out/model.pt`` holding
    them all, scored on the validation split by the mean of their probabilities
    (``metrics.json``, the decision threshold, ``run.json``). With ``resume``, members whose
    ``model.pt`` exists are kept and the interrupted one resumes from its ``last.pt``. Returns
    the ensemble's metrics dict."""
    from dataclasses import replace

    from mhsa_bio.checkpoint import load_model, make_checkpoint, read_checkpoint, save_checkpoint
    from mhsa_bio.metrics import multiclass_metrics
    from mhsa_bio.models.promoter import PromoterEnsemble
    from mhsa_bio.predict import predict_proba
    from mhsa_bio.runtime.distributed import SINGLE
    from mhsa_bio.training.run import provenance, run_training, split_sizes
    from mhsa_bio.training.split import make_split
    from mhsa_bio.training.trainer import decision_metrics

    dist = dist or SINGLE
    k_total = train_config.ensemble
    fits = []
    for k in range(k_total):
        folder = out / f"member{k + 1}"
        folder.mkdir(parents=True, exist_ok=True)
        if resume and (folder / "model.pt").exists():
            fits.append(read_checkpoint(folder / "model.pt")["metrics"])
            log.info("member %d of %d: kept from %s", k + 1, k_total, folder / "model.pt")
            continue
        log.info("member %d of %d", k + 1, k_total)
        fits.append(
            run_training(
                inputs,
                folder,
                model_config=model_config,
                train_config=replace(train_config, ensemble=1, member=k, kmer_member=False),
                device=device,
                resume=resume,
                params=params,
                on_epoch=on_epoch,
                on_step=on_step,
                dist=dist,
                data=data,
            )
        )
    if not dist.is_main:  # rank 0 scores the ensemble and writes it
        return {**fits[-1], "ensemble": k_total}
    positives, negatives, labels, classes = data
    split = make_split(positives, negatives=negatives, config=train_config, labels=labels, classes=classes)
    members = [load_model(out / f"member{k + 1}" / "model.pt", device=device)[0] for k in range(k_total)]
    probs = predict_proba(
        PromoterEnsemble(members),
        split.val.records,
        device=device,
        batch_size=max(train_config.batch_size, 128),
        amp=train_config.amp,
    )
    metrics: dict[str, Any] = {
        "split": "validation",
        "ensemble": k_total,
        "members": [
            {k: fit.get(k) for k in ("best_epoch", "epochs_run", "auroc", "auprc", "mcc")}
            | ({"stem_pretrain": fit["stem_pretrain"]} if "stem_pretrain" in fit else {})
            for fit in fits
        ],
        "max_epochs": fits[0].get("max_epochs"),
        "min_epochs": fits[0].get("min_epochs"),
        "epochs_rule": fits[0].get("epochs_rule"),
        "n_validation": len(split.val.records),
        "n_train": fits[0].get("n_train"),
        "linked_records": split.linked,
        **multiclass_metrics(split.val.labels, probs),
    }
    if probs.shape[1] == 2:
        metrics.update(decision_metrics(split.val.labels, probs[:, 1], threshold=train_config.threshold))
    kmer: dict[str, Any] = {}
    if train_config.kmer_member:
        from mhsa_bio.training.run import with_kmer_member

        kmer["kmer_member"], metrics = with_kmer_member(split, probs, metrics, train_config)
    model_config = members[0].config  # as the members were built: max_len and classes resolved
    ckpt = make_checkpoint(
        members[0],
        model_type="promoter",
        config=model_config.to_dict(),
        alphabet="ACGTN",
        classes=split.val.classes,
        provenance=provenance(
            inputs,
            background=split.background,
            split_sizes=split_sizes(split, train_config),
            config=train_config.to_dict(),
        ),
        metrics=metrics,
        extra={
            "members": [{n: v.detach().cpu() for n, v in m.state_dict().items()} for m in members[1:]],
            **kmer,
            **(
                {"decision_threshold": metrics["decision_threshold"]}
                if "decision_threshold" in metrics
                else {}
            ),
        },
    )
    save_checkpoint(ckpt, out / "model.pt")
    write_json(out / "metrics.json", metrics)
    write_run_json(
        out,
        "train",
        params or {},
        model_config=model_config.to_dict(),
        train_config=train_config.to_dict(),
        device=str(device),
        decision_threshold=metrics.get("decision_threshold"),
        ensemble=k_total,
    )
    return metrics
