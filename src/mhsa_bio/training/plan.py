"""A ``mhsa-bio train`` job: the options checked and the inputs read into a plan before anything is
written, then the plan run as one split (under torchrun too) or as K folds."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from typing import Any, NamedTuple

from mhsa_bio.errors import InputError
from mhsa_bio.training.run import TrainInputs, read_inputs, run_training

log = logging.getLogger(__name__)

#: ``--stem-guide`` by default for long sequences (:func:`auto_stem_guide`).
AUTO_GUIDE = 1.0
#: Positives of at least this median length (bp) get the stem guide by default.
GUIDE_LENGTH = 300


def auto_stem_guide(records: list[Any]) -> float:
    """``--stem-guide`` by default: ``AUTO_GUIDE`` (with stem pretraining) when the records'
    median length is ``GUIDE_LENGTH`` bp or more, else 0 (off).

    Chosen on the motif panel's tuning half, whose two sets of 300 bp or more both gain. Three
    motifs (CEBPB, MEF2C, TEAD1), each in half of 1,000 positives of 500 bp, against shuffles:
    without the guide the model sat at chance until epoch 43 and learned CEBPB alone (validation
    AUROC 0.78); with it the model was at 0.83 after the first epoch, 0.896 at its best, and
    `motifs` reported all three from the CLS attention, in a fifth of the training time. FOXA2
    and GATA1 in 40 % of 2,000 positives of 300 bp each: 0.825 against 0.63, and both motifs
    against none. Shorter sets (promoters, the pair panel's windows, the other panel sets)
    train without the guide.
    """
    import numpy as np

    if not records:
        return 0.0
    median = float(np.median([len(r.seq) for r in records]))
    if median < GUIDE_LENGTH:
        return 0.0
    log.info(
        "positives' median length %.0f bp >= %d: stem guide %g with stem pretraining "
        "(--stem-guide 0 turns it off)",
        median,
        GUIDE_LENGTH,
        AUTO_GUIDE,
    )
    return AUTO_GUIDE


class TrainPlan(NamedTuple):
    """A validated ``mhsa-bio train`` run: inputs read, configs built, this process's place in a
    torchrun job and its device."""

    inputs: TrainInputs
    data: tuple[Any, ...]
    model_config: Any
    train_config: Any
    folds: int
    dist: Any
    device: Any
    dealt: Any = None  # the folds (crossval.Folds) when ``folds``


def plan_training(
    inputs: TrainInputs,
    *,
    preset: str,
    dim: int | None,
    heads: int | None,
    layers: int | None,
    stem_kernel: int,
    max_len: int,
    dropout: float,
    stem_activation: str = "none",
    stem_guide: float | None = 0.0,
    stem_pretrain: int | None = None,
    train_config: Any,
    folds: int,
    resume: bool,
    device: Any,
    group_kmer: int = 0,
) -> TrainPlan:
    """Check the options, read and validate every input, before anything is written.

    The model size is the ``preset``'s (small, base, large) with ``dim``, ``heads`` and
    ``layers`` overriding it. ``stem_guide`` ``None``: by the positives' median length
    (:func:`auto_stem_guide`); ``stem_pretrain`` ``None``: ``PRETRAIN_EPOCHS`` when the stem guide
    is on, else off. Under torchrun (``WORLD_SIZE`` > 1) each rank takes the GPU of its
    local rank, and the ranks other than 0 log errors only. With ``folds`` the folds are cut
    here (records sharing a ``group_kmer``-mer held out together; 0: one by one) and the plan
    carries them.
    """
    from mhsa_bio.models.promoter import PRESETS, PromoterConfig
    from mhsa_bio.runtime.distributed import context_from_env, rank_device

    if not 0 < train_config.lr < float("inf"):  # also NaN
        raise InputError(f"--lr {train_config.lr}: must be a positive number")
    if train_config.jitter and train_config.shift_augment:
        raise InputError("--jitter and --shift-augment: give one (--shift-augment rotates by any offset)")
    if train_config.kmer_positional and not train_config.kmer_member:
        raise InputError("--kmer-positional adds to the k-mer member: give --kmer-member too")
    if train_config.kmer_frames and not train_config.kmer_member:
        raise InputError("--kmer-frames adds to the k-mer member: give --kmer-member too")
    if train_config.kmer_bins:
        from mhsa_bio.models.kmer import MAX_POSITIONAL_BIN

        if not 0 < train_config.kmer_bins <= MAX_POSITIONAL_BIN:
            raise InputError(
                f"--kmer-bins {train_config.kmer_bins}: must be 0 (off) … {MAX_POSITIONAL_BIN} positions"
            )
        if not train_config.kmer_positional:
            raise InputError("--kmer-bins adds to the position-specific block: give --kmer-positional too")
    if stem_guide is not None and not 0 <= stem_guide < float("inf"):  # also NaN
        raise InputError(f"--stem-guide {stem_guide}: must be a non-negative number")
    if stem_pretrain is not None and stem_pretrain < 0:
        raise InputError(f"--stem-pretrain {stem_pretrain}: must be 0 or more epochs")
    if stem_kernel % 2 == 0 or stem_kernel < 1:
        raise InputError(f"--stem-kernel {stem_kernel}: must be a positive odd number")
    size = dict(PRESETS[preset])
    for key, value in (("dim", dim), ("heads", heads), ("layers", layers)):
        if value is not None:
            size[key] = value
    if size["dim"] % size["heads"]:
        raise InputError(f"--dim {size['dim']} is not divisible by --heads {size['heads']}")
    ctx = context_from_env()
    if not ctx.is_main:  # the other ranks of a torchrun job stay silent
        logging.getLogger("mhsa_bio").setLevel(logging.ERROR)
    dev = rank_device(ctx, device)
    data = read_inputs(inputs, min_length=stem_kernel)
    if stem_guide is None:
        stem_guide = auto_stem_guide(data[0])
    if stem_pretrain is None:
        from mhsa_bio.training.stem import PRETRAIN_EPOCHS

        stem_pretrain = PRETRAIN_EPOCHS if stem_guide > 0 else 0
    if stem_pretrain and not stem_guide:
        raise InputError(
            "--stem-pretrain trains the stem guide's scorer: give --stem-guide > 0 too (it is on by "
            "default only for positives of 300 bp or more, median)"
        )
    train_config = replace(train_config, stem_pretrain=stem_pretrain)
    model_config = PromoterConfig(
        stem_kernel=stem_kernel,
        max_len=max_len,
        dropout=dropout,
        stem_activation=stem_activation,
        stem_guide=stem_guide,
        guide_signed=stem_guide > 0,
        **size,
    )
    if train_config.kmer_member and data[3] is not None and len(data[3]) != 2:
        raise InputError(
            f"{inputs.labels}: --kmer-member needs a two-class model; the labels name {len(data[3])} classes"
        )
    if train_config.kmer_positional:
        from mhsa_bio.models.kmer import MAX_POSITIONAL_WIDTH

        for records, path in ((data[0], inputs.fasta or inputs.bed), (data[1] or [], inputs.negatives)):
            longest = max(records, key=lambda r: len(r.seq), default=None)
            if longest is not None and len(longest.seq) > MAX_POSITIONAL_WIDTH:
                raise InputError(
                    f"{path}: record '{longest.id}' is {len(longest.seq)} bp; --kmer-positional "
                    f"reads aligned windows of at most {MAX_POSITIONAL_WIDTH} bp"
                )
    dealt = None
    if folds:
        from mhsa_bio.training.crossval import check_folds

        dealt = check_folds(
            folds, data, resume=resume, distributed=ctx.active, seed=train_config.seed, group_kmer=group_kmer
        )
    return TrainPlan(inputs, data, model_config, train_config, folds, ctx, dev, dealt)


class Trained(NamedTuple):
    """What ``train`` returns: the held-out metrics of one split, or one row per fold (rank 0
    only; both ``None`` on the other ranks of a torchrun job)."""

    metrics: dict[str, Any] | None = None
    folds: list[dict[str, Any]] | None = None


def train(
    plan: TrainPlan,
    output: Any,
    *,
    resume: bool,
    params: dict[str, Any],
    on_epoch: Callable[..., None] | None = None,
    on_step: Callable[[int, int, float], None] | None = None,
    on_fold: Callable[[int, dict[str, Any]], None] | None = None,
) -> Trained:
    """Run a plan into ``output`` (an ``io.outputs.Output`` transaction): K-fold
    cross-validation (``run_crossval``) or one split (``run_training``).

    Under torchrun every rank trains; rank 0 writes into the transaction's folder, the other
    ranks only read it (``--resume``).
    """
    from mhsa_bio.runtime.distributed import barrier, process_group

    if plan.folds:
        from mhsa_bio.training.crossval import run_crossval

        rows = run_crossval(
            plan.inputs,
            output.start(),
            data=plan.data,
            folds=plan.folds,
            dealt=plan.dealt,
            model_config=plan.model_config,
            train_config=plan.train_config,
            device=plan.device,
            params=params,
            on_fold=on_fold,
        )
        return Trained(folds=rows)
    ctx = plan.dist
    if ctx.active:
        params["world_size"] = ctx.world_size
    out_dir = output.start() if ctx.is_main else output.tmp
    with process_group(ctx, plan.device):
        barrier(ctx)  # rank 0 has prepared OUT before anyone reads it (--resume)
        metrics = run_training(
            plan.inputs,
            out_dir,
            model_config=plan.model_config,
            train_config=plan.train_config,
            device=plan.device,
            resume=resume,
            params=params,
            on_epoch=on_epoch,
            on_step=on_step,
            dist=ctx,
            data=plan.data,
        )
    return Trained(metrics=metrics if ctx.is_main else None)
