"""``mhsa-bio train``: train a promoter Transformer and write a versioned checkpoint."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mhsa_bio.cli.common import command_context, console
from mhsa_bio.cli.options import Amp, BatchSize, Device, Force, OutDir, Seed, Threads, Verbose

PRESET_HELP = "Model size: small (2 layers, 4 heads, d 64; CPU minutes), base (4 × 8, d 128), " \
    "large (6 × 8, d 256; for a GPU)."


def train(
    fasta: Annotated[Path | None, typer.Argument(
        help="Promoter (positive) sequences: FASTA or FASTA.gz, '-' for stdin.",
        show_default=False)] = None,
    out: OutDir = Path("runs/train"),
    negatives: Annotated[Path | None, typer.Option(
        "--negatives", help="Background sequences (FASTA). Default: dinucleotide-shuffled copies "
        "of the positives, fresh every epoch.")] = None,
    bed: Annotated[Path | None, typer.Option(
        "--bed", help="Positive regions as BED (strand-aware); needs --genome.")] = None,
    genome: Annotated[Path | None, typer.Option(
        "--genome", help="Genome FASTA for --bed (indexed with pyfaidx).")] = None,
    labels: Annotated[Path | None, typer.Option(
        "--labels", help="TSV of id<TAB>class for more than two classes (no background then).")
    ] = None,
    preset: Annotated[str, typer.Option("--preset", help=PRESET_HELP)] = "small",
    dim: Annotated[int | None, typer.Option("--dim", min=1, help="Model width (overrides "
                                            "preset).")] = None,
    heads: Annotated[int | None, typer.Option("--heads", min=1, help="Attention heads per layer.")
                     ] = None,
    layers: Annotated[int | None, typer.Option("--layers", min=1, help="Encoder layers.")] = None,
    stem_kernel: Annotated[int, typer.Option(
        "--stem-kernel", help="Width of the convolution stem in bp (odd; at least the motif "
        "width works best). Shorter sequences are an error.")] = 11,
    dropout: Annotated[float, typer.Option(
        "--dropout", min=0.0, max=0.9, help="Dropout on the residual branches (a small promoter "
        "set overfits within a few epochs without it).")] = 0.3,
    max_len: Annotated[int, typer.Option(
        "--max-len", min=0, help="Length of the learned position table (0 = longest training "
        "sequence). Longer inputs are read by interpolating it.")] = 0,
    epochs: Annotated[int, typer.Option(
        "--epochs", min=0, help="Maximum epochs. 0 (default): 30 for 2,000 or more training "
        "sequences (background included), else as many as give the optimiser steps of 30 "
        "epochs of 2,000 sequences (ceil(60000 / n), at most 150); early stopping still "
        "applies.")] = 0,
    batch_size: BatchSize = 64,
    lr: Annotated[float, typer.Option("--lr", help="Peak AdamW learning rate.")] = 1e-3,
    weight_decay: Annotated[float, typer.Option("--weight-decay", min=0.0)] = 0.05,
    patience: Annotated[int, typer.Option(
        "--patience", min=1, help="Stop after this many epochs without a better validation "
        "AUPRC; the best epoch is kept.")] = 8,
    val_fraction: Annotated[float, typer.Option(
        "--val-fraction", min=0.01, max=0.9, help="Share of each class held out (stratified, "
        "seeded) for validation metrics and early stopping.")] = 0.2,
    shuffles: Annotated[int, typer.Option(
        "--shuffles", min=1, help="Shuffled background sequences per positive.")] = 1,
    class_weights: Annotated[bool, typer.Option(
        "--class-weights/--no-class-weights", help="Weight the loss by inverse class frequency. "
        "Off by default: probabilities then follow the training set's class shares, which gave "
        "the better MCC at 0.5 on imbalanced promoter sets (benchmarks/promoters.py --tune).")
    ] = False,
    rc_augment: Annotated[bool, typer.Option(
        "--rc-augment/--no-rc-augment", help="Reverse-complement half of each batch. Off by "
        "default: promoters are stranded and their elements sit at fixed positions.")] = False,
    threshold: Annotated[str, typer.Option(
        "--threshold", help="Decision threshold of a two-class model, stored in the checkpoint "
        "for predict: a probability, or 'auto': once training ends, the threshold with the "
        "highest MCC on the validation split (candidates: 0.5 and the midpoints between "
        "consecutive distinct validation scores; ties go to the one nearest 0.5, then the "
        "lower). 0.5 by default: on the E. coli promoter folds 'auto' did not beat it "
        "(benchmarks/promoters.py --tune).")] = "0.5",
    amp: Amp = True,
    resume: Annotated[bool, typer.Option(
        "--resume", help="Continue an interrupted run in --out from its last.pt.")] = False,
    folds: Annotated[int, typer.Option(
        "--folds", min=0, help="Stratified K-fold cross-validation (folds fixed by --seed): one "
        "model per fold in OUT/fold{k}/, each scored on its held-out fold, and "
        "OUT/cv_metrics.tsv (per fold, mean, sd; Sn, Sp, MCC at each fold model's stored "
        "decision threshold). --val-fraction is then the inner split of each "
        "training part, used for early stopping only. 0: one train/validation split.")] = 0,
    seed: Seed = 0,
    device: Device = "auto",
    threads: Threads = 0,
    force: Force = False,
    verbose: Verbose = 0,
) -> None:
    """Train a promoter Transformer (conv stem + multi-head self-attention + CLS classifier).

    Writes OUT/model.pt (versioned checkpoint), train_log.tsv, metrics.json (AUROC, AUPRC,
    accuracy, Sn, Sp, MCC on the held-out validation split at probability 0.5, and the decision
    threshold with Sn, Sp, MCC there), learning_curve.png and run.json.

    Runs unchanged under `torchrun --nproc_per_node=N` (data-parallel, one GPU per process; gloo
    on CPU): --batch-size is the global batch, rank 0 evaluates and writes.
    """
    params = {k: (str(v) if isinstance(v, Path) else v) for k, v in locals().items()}
    with command_context(verbose=verbose, threads=threads, device=device, seed=seed, out=out,
                         force=force, resume=resume, keep_partial=_resumable) as run:
        from mhsa_bio.errors import InputError
        from mhsa_bio.models.promoter import PRESETS

        if preset not in PRESETS:
            raise InputError(f"--preset {preset}: expected one of {', '.join(PRESETS)}")
        if not 0 < lr < float("inf"):  # also NaN
            raise InputError(f"--lr {lr}: must be a positive number")
        if stem_kernel % 2 == 0 or stem_kernel < 1:
            raise InputError(f"--stem-kernel {stem_kernel}: must be a positive odd number")
        cut = _threshold(threshold)
        size = dict(PRESETS[preset])
        for key, value in (("dim", dim), ("heads", heads), ("layers", layers)):
            if value is not None:
                size[key] = value
        if size["dim"] % size["heads"]:
            raise InputError(f"--dim {size['dim']} is not divisible by --heads {size['heads']}")
        from mhsa_bio.distributed import context_from_env, rank_device
        from mhsa_bio.experiment import TrainInputs
        from mhsa_bio.models.promoter import PromoterConfig
        from mhsa_bio.training import TrainConfig

        ctx = context_from_env()
        if not ctx.is_main:  # the other ranks of a torchrun job stay silent
            import logging

            logging.getLogger("mhsa_bio").setLevel(logging.ERROR)
        dev = rank_device(ctx, run.device)
        inputs = TrainInputs(fasta=fasta, bed=bed, genome=genome, negatives=negatives,
                             labels=labels)
        model_config = PromoterConfig(stem_kernel=stem_kernel, max_len=max_len, dropout=dropout,
                                      **size)
        train_config = TrainConfig(
            epochs=epochs, batch_size=batch_size, lr=lr, weight_decay=weight_decay,
            patience=patience, val_fraction=val_fraction, seed=seed, rc_augment=rc_augment,
            shuffles_per_positive=shuffles, amp=amp, class_weights=class_weights, threshold=cut)
        from mhsa_bio.experiment import read_inputs

        # Validate every input before anything is written.
        data = read_inputs(inputs, min_length=stem_kernel)
        if folds:
            from mhsa_bio.crossval import check_folds

            check_folds(folds, data, resume=resume, distributed=ctx.active)
            _crossval(inputs, run.out_dir(), data, folds, model_config,
                      train_config, dev, params, shown=out)
            return
        if ctx.active:
            params["world_size"] = ctx.world_size
        # rank 0 writes into the transaction's hidden folder; the other ranks only read it
        out_dir = run.out_dir() if ctx.is_main else run.work_dir()
        from mhsa_bio.distributed import barrier, process_group

        with process_group(ctx, dev):
            barrier(ctx)  # rank 0 has prepared OUT before anyone reads it (--resume)
            if not ctx.is_main:
                from mhsa_bio.experiment import run_training

                run_training(inputs, out_dir, model_config=model_config,
                             train_config=train_config, device=dev, resume=resume, params=params,
                             dist=ctx, data=data)
                return
            metrics = _train_with_progress(inputs, out_dir, model_config, train_config, dev,
                                           resume, params, ctx, data)
        keys = [k for k in ("auroc", "auprc", "accuracy", "sensitivity", "specificity", "mcc")
                if k in metrics]
        summary = ", ".join(f"{k} {metrics[k]:.3f}" for k in keys)
        console.print(f"best epoch {metrics['best_epoch']}: {summary}"
                      + (" (Sn, Sp, MCC at probability 0.5)" if "mcc" in metrics else ""))
        if "decision_threshold" in metrics:
            at = metrics["at_decision_threshold"]
            console.print(f"decision threshold {metrics['decision_threshold']:.4g} "
                          f"({metrics['threshold_rule']}): validation Sn {at['sensitivity']:.3f}, "
                          f"Sp {at['specificity']:.3f}, MCC {at['mcc']:.3f}"
                          + (" (optimistic: chosen on this split)"
                             if metrics["threshold_rule"].startswith("max") else ""))
        console.print(f"wrote {out / 'model.pt'}")


def _threshold(text: str) -> float | None:
    """``--threshold``: ``None`` for auto, else a probability."""
    from mhsa_bio.errors import InputError

    if text.strip().lower() == "auto":
        return None
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 <= value <= 1:  # also NaN
        raise InputError(f"--threshold {text}: expected 'auto' or a probability between 0 and 1")
    return value


def _resumable(folder: Path) -> bool:
    """An unfinished training folder can be continued with --resume when it holds last.pt."""
    return (folder / "last.pt").is_file()


def _train_with_progress(inputs, out, model_config, train_config, dev, resume, params, ctx,  # type: ignore[no-untyped-def]
                         data):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from mhsa_bio.experiment import run_training

    with Progress(TextColumn("[bold]epoch {task.fields[epoch]}"), BarColumn(),
                  MofNCompleteColumn(), TextColumn("loss {task.fields[loss]:.4f}"),
                  TextColumn("val AUROC {task.fields[auroc]}"), TimeElapsedColumn(),
                  console=console, transient=True, disable=not console.is_terminal) as progress:
        task = progress.add_task("train", total=None, epoch=1, loss=0.0, auroc="-")
        state = {"epoch": 1}

        def on_step(step: int, total: int, loss: float) -> None:
            progress.update(task, completed=step, total=total, loss=loss, epoch=state["epoch"])

        def on_epoch(row, s):  # type: ignore[no-untyped-def]
            state["epoch"] = row.epoch + 1
            progress.update(task, auroc=f"{row.val_auroc:.3f}")
            console.log(f"epoch {row.epoch}: loss {row.train_loss:.4f}, val loss "
                        f"{row.val_loss:.4f}, AUROC {row.val_auroc:.3f}, AUPRC "
                        f"{row.val_auprc:.3f}")

        return run_training(inputs, out, model_config=model_config, train_config=train_config,
                            device=dev, resume=resume, params=params, on_epoch=on_epoch,
                            on_step=on_step, dist=ctx, data=data)


def _crossval(inputs, out, data, folds, model_config, train_config, dev, params, *, shown):  # type: ignore[no-untyped-def]
    from mhsa_bio.crossval import run_crossval, summary_rows

    def on_fold(k: int, row: dict) -> None:  # type: ignore[type-arg]
        keys = [c for c in ("auroc", "auprc", "threshold", "sensitivity", "specificity", "mcc")
                if c in row]
        console.log(f"fold{k} ({k + 1}/{folds}): " + ", ".join(f"{c} {row[c]:.3f}" for c in keys)
                    + f" (best epoch {row['best_epoch']}, {row['seconds']:.0f} s)")

    rows = run_crossval(inputs, out, data=data, folds=folds, model_config=model_config,
                        train_config=train_config, device=dev, params=params, on_fold=on_fold)
    mean, sd = summary_rows(rows)
    keys = [c for c in ("auroc", "auprc", "sensitivity", "specificity", "mcc")
            if mean.get(c) is not None]
    console.print(f"{folds}-fold CV: " + ", ".join(f"{c} {mean[c]:.3f} ± {sd[c]:.3f}"
                                                  for c in keys))
    console.print(f"wrote {shown / 'cv_metrics.tsv'}")
