"""``mhsa-bio train``: train a promoter Transformer and write a versioned checkpoint."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from mhsa_bio.cli.common import command_context, console, log, progress_bar
from mhsa_bio.cli.options import (
    Amp,
    BatchSize,
    Device,
    Force,
    OutDir,
    Preset,
    Seed,
    StemActivation,
    Threads,
    Verbose,
    choice,
)

T = TypeVar("T")

PRESET_HELP = (
    "Model size: small (2 layers, 4 heads, d 64; CPU minutes), base (4 × 8, d 128), "
    "large (6 × 8, d 256; for a GPU)."
)


def train(
    fasta: Annotated[
        Path | None,
        typer.Argument(
            help="Promoter (positive) sequences: FASTA or FASTA.gz, '-' for stdin.", show_default=False
        ),
    ] = None,
    out: OutDir = Path("runs/train"),
    negatives: Annotated[
        Path | None,
        typer.Option(
            "--negatives",
            help="Background sequences (FASTA). Default: dinucleotide-shuffled copies "
            "of the positives, fresh every epoch.",
        ),
    ] = None,
    bed: Annotated[
        Path | None, typer.Option("--bed", help="Positive regions as BED (strand-aware); needs --genome.")
    ] = None,
    genome: Annotated[
        Path | None, typer.Option("--genome", help="Genome FASTA for --bed (indexed with pyfaidx).")
    ] = None,
    labels: Annotated[
        Path | None,
        typer.Option("--labels", help="TSV of id<TAB>class for more than two classes (no background then)."),
    ] = None,
    preset: Annotated[
        Preset, choice("--preset", Preset, expected="one of small, base, large", help=PRESET_HELP)
    ] = "small",
    dim: Annotated[int | None, typer.Option("--dim", min=1, help="Model width (overrides preset).")] = None,
    heads: Annotated[int | None, typer.Option("--heads", min=1, help="Attention heads per layer.")] = None,
    layers: Annotated[int | None, typer.Option("--layers", min=1, help="Encoder layers.")] = None,
    stem_kernel: Annotated[
        int,
        typer.Option(
            "--stem-kernel",
            help="Width of the convolution stem in bp (odd; at least the motif "
            "width works best). Shorter sequences are an error.",
        ),
    ] = 11,
    stem_activation: Annotated[
        StemActivation,
        choice(
            "--stem-activation",
            StemActivation,
            expected="one of none, gelu, relu",
            help="Activation after the convolution stem (none: a linear stem).",
        ),
    ] = "none",
    stem_guide: Annotated[
        float | None,
        typer.Option(
            "--stem-guide",
            show_default=False,
            help="Guide the first layer's CLS attention by a per-base score from the convolution "
            "stem, trained with this weight by a max-pool readout (added to the loss; never a "
            "prediction). For long sequences with sparse sites, where attention spread evenly "
            "over hundreds of bases learns slowly. Default: 1 when the positives' median length "
            "is 300 bp or more, else 0 (off).",
        ),
    ] = None,
    stem_pretrain: Annotated[
        int | None,
        typer.Option(
            "--stem-pretrain",
            show_default=False,
            help="Before the Transformer, train the convolution stem alone as a max-pool CNN on "
            "both strands for at most this many epochs (early-stopped on validation AUROC; seconds "
            "to a few minutes) and start the stem guide's per-base score from it, so the "
            "attention points at sites from the first epoch. Needs the stem guide. Default: 30 "
            "with the stem guide, else 0 (off).",
        ),
    ] = None,
    dropout: Annotated[
        float,
        typer.Option(
            "--dropout",
            min=0.0,
            max=0.9,
            help="Dropout on the residual branches (a small promoter set overfits within a few "
            "epochs without it). On mouse TATA promoters --dropout 0.1 --jitter 3 --threshold "
            "auto gave held-out MCC 0.88 against the defaults' 0.80; on E. coli σ70 promoters "
            "0.1 alone did not help one model (0.74 against 0.76); the ensemble chosen there "
            "uses it (benchmarks/promoters.py).",
        ),
    ] = 0.3,
    max_len: Annotated[
        int,
        typer.Option(
            "--max-len",
            min=0,
            help="Length of the learned position table (0 = longest training "
            "sequence). Longer inputs are read by interpolating it.",
        ),
    ] = 0,
    epochs: Annotated[
        int,
        typer.Option(
            "--epochs",
            min=0,
            help="Maximum epochs. 0 (default): 30 for 2,000 or more training "
            "sequences (background included), else as many as give the optimiser steps of 30 "
            "epochs of 2,000 sequences (ceil(60000 / n), at most 150); early stopping still "
            "applies. metrics.json and run.json record the maximum and how it was set.",
        ),
    ] = 0,
    batch_size: BatchSize = 64,
    lr: Annotated[float, typer.Option("--lr", help="Peak AdamW learning rate.")] = 1e-3,
    weight_decay: Annotated[float, typer.Option("--weight-decay", min=0.0)] = 0.05,
    patience: Annotated[
        int,
        typer.Option(
            "--patience",
            min=1,
            help="Stop after this many epochs without a better validation AUPRC; the best epoch is kept.",
        ),
    ] = 8,
    min_epochs: Annotated[
        str,
        typer.Option(
            "--min-epochs",
            metavar="<auto|N>",
            help="Early stopping does not end training before this epoch: 'auto' (default), a "
            "third of the maximum epochs, rounded up; or a number; 0 = --patience alone. The "
            "learning rate decays over the maximum epochs, and a fit stopped early in it can "
            "keep a best epoch from before the model had learned (on E. coli promoters against "
            "shuffles one fold of 15 called every sequence a promoter, MCC 0; with 'auto' 0.34) "
            "(benchmarks/promoters.py --tune).",
        ),
    ] = "auto",
    val_fraction: Annotated[
        float,
        typer.Option(
            "--val-fraction",
            min=0.01,
            max=0.9,
            help="Share of each class held out (stratified, "
            "seeded) for validation metrics and early stopping.",
        ),
    ] = 0.2,
    val_group_kmer: Annotated[
        int,
        typer.Option(
            "--val-group-kmer",
            min=0,
            max=31,
            help="Records that share a run of this many bases, on either strand (overlapping "
            "windows, repeats), stay on one side of the train/validation split, so the validation "
            "metrics, early stopping and --threshold auto do not reward remembering overlapping "
            "windows. Inputs where no two records share one are split one by one, as with 0.",
        ),
    ] = 20,
    shuffles: Annotated[
        int, typer.Option("--shuffles", min=1, help="Shuffled background sequences per positive.")
    ] = 1,
    class_weights: Annotated[
        bool,
        typer.Option(
            "--class-weights/--no-class-weights",
            help="Weight the loss by inverse class frequency. "
            "Off by default: probabilities then follow the training set's class shares, which gave "
            "the better MCC at 0.5 on imbalanced promoter sets (benchmarks/promoters.py --tune).",
        ),
    ] = False,
    rc_augment: Annotated[
        bool,
        typer.Option(
            "--rc-augment/--no-rc-augment",
            help="Reverse-complement half of each batch. Off by "
            "default: promoters are stranded and their elements sit at fixed positions.",
        ),
    ] = False,
    shift_augment: Annotated[
        bool,
        typer.Option(
            "--shift-augment/--no-shift-augment",
            help="Rotate every training sequence circularly by a random offset each epoch, so "
            "the model cannot learn its training positives by where their bases sit (it "
            "memorises them within a few epochs on a few hundred long peaks). For sequences "
            "whose positions carry no meaning, such as ChIP-seq peaks; off by default: "
            "promoter elements sit at fixed positions.",
        ),
    ] = False,
    jitter: Annotated[
        int,
        typer.Option(
            "--jitter",
            min=0,
            help="Rotate every training sequence circularly by a random offset of at most this "
            "many bases either way, each epoch: a small positional jitter for aligned sequences "
            "such as promoters, whose elements sit near, not exactly at, fixed positions. "
            "0 (default): off. Not with --shift-augment, which rotates by any offset. On mouse "
            "TATA promoters --dropout 0.1 --jitter 3 --threshold auto gave held-out MCC 0.88 "
            "against the defaults' 0.80; on E. coli σ70 promoters it did not help (--ensemble 5 "
            "--dropout 0.1 --kmer-member --kmer-positional: 0.809 with --jitter 3, 0.815 "
            "without, at threshold 0.5) "
            "(benchmarks/promoters.py).",
        ),
    ] = 0,
    threshold: Annotated[
        str,
        typer.Option(
            "--threshold",
            metavar="<auto|P>",
            help="Decision threshold of a two-class model, stored in the checkpoint "
            "for predict: a probability, or 'auto': once training ends, the threshold with the "
            "highest MCC on the validation split (candidates: 0.5 and the midpoints between "
            "consecutive distinct validation scores; ties go to the one nearest 0.5, then the "
            "lower). 0.5 by default: on the E. coli promoter folds 'auto' did not beat it for "
            "one default model (validation MCC 0.754 against 0.756) and gained 0.004 for "
            "--ensemble 5 --dropout 0.1 --kmer-member --kmer-positional (held out 0.819 "
            "against 0.815) (benchmarks/promoters.py --tune).",
        ),
    ] = "0.5",
    ensemble: Annotated[
        int,
        typer.Option(
            "--ensemble",
            min=1,
            help="Train K models on the same validation split from different random starts "
            "(OUT/member1 … memberK, each a whole run) and save them as one checkpoint whose "
            "probabilities are averaged: predict and scan score with all of them, motifs and "
            "pairs read the first member's attention. K times the training time; on the E. coli "
            "promoter folds --ensemble 5 --dropout 0.1 --kmer-member --kmer-positional gave "
            "held-out MCC 0.815 against 0.783 for one default model with the same member, at "
            "threshold 0.5 (benchmarks/promoters.py).",
        ),
    ] = 1,
    kmer_member: Annotated[
        bool,
        typer.Option(
            "--kmer-member/--no-kmer-member",
            help="Also fit a k-mer logistic regression (frequencies of every 3- to 6-mer, "
            "L2 penalty chosen on the validation split, then refitted on training + validation) "
            "and store it in the checkpoint: predict, scan and --folds average its probability "
            "1:1 with the Transformer's; motifs and pairs read the Transformer alone. Seconds to "
            "fit; two-class models only. For aligned windows such as promoters add "
            "--kmer-positional: on the E. coli promoter folds the k-mer frequencies alone gave "
            "held-out MCC 0.73, with position-specific bases 0.80, and the member with both "
            "raised one default model from 0.76 to 0.78 (benchmarks/promoters.py).",
        ),
    ] = False,
    kmer_positional: Annotated[
        bool,
        typer.Option(
            "--kmer-positional",
            help="Give the k-mer member (--kmer-member) the base, dinucleotide and trinucleotide "
            "at each position too (one-hot, counted from the 5' end over the longest training "
            "sequence; at most 1,000 bp): for aligned windows of one length, such as promoters "
            "cut around the TSS. On the E. coli promoter folds --kmer-member --kmer-positional "
            "--threshold auto gave held-out MCC 0.79 against the defaults' 0.76, and 0.82 with "
            "--ensemble 5 --dropout 0.1 added, the best measured there "
            "(benchmarks/promoters.py).",
        ),
    ] = False,
    kmer_bins: Annotated[
        int,
        typer.Option(
            "--kmer-bins",
            metavar="<N>",
            help="With --kmer-positional, also give the member which 3- and 4-mers start in each "
            "bin of N positions (a word that moves by a base or two between windows still sets "
            "the same feature); 0: off. On the E. coli promoter folds 3 raised the member alone "
            "from held-out MCC 0.795 to 0.805, and with --ensemble 5 --dropout 0.1 gave 0.821 "
            "against 0.815 without it (benchmarks/promoters.py).",
        ),
    ] = 0,
    kmer_frames: Annotated[
        bool,
        typer.Option(
            "--kmer-frames",
            help="Give the k-mer member (--kmer-member) how much each window reads like coding "
            "sequence, in whatever frame: on each strand the stop codons in each of its three "
            "frames and the codon usage of the frame with the fewest, and each base's position "
            "asymmetry (Fickett). For backgrounds cut from genes, as the E. coli and iPromoter "
            "non-promoters are: with --kmer-positional --kmer-bins 3 it raised the member alone "
            "from held-out MCC 0.805 to 0.813 on the E. coli folds it was chosen on and from "
            "0.796 to 0.804 on iPromoter, and with --ensemble 5 --dropout 0.1 the E. coli "
            "figure from 0.821 to 0.829 (benchmarks/promoters.py).",
        ),
    ] = False,
    amp: Amp = True,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue an interrupted run in --out from its last.pt.")
    ] = False,
    folds: Annotated[
        int,
        typer.Option(
            "--folds",
            min=0,
            help="Stratified K-fold cross-validation (folds fixed by --seed; records that "
            "overlap, see --group-kmer, held out together): one "
            "model per fold in OUT/fold{k}/, each scored on its held-out fold, and "
            "OUT/cv_metrics.tsv (per fold, mean, sd; Sn, Sp, MCC at each fold model's stored "
            "decision threshold). --val-fraction is then the inner split of each "
            "training part, used for early stopping only. 0: one train/validation split.",
        ),
    ] = 0,
    group_kmer: Annotated[
        int,
        typer.Option(
            "--group-kmer",
            min=0,
            max=31,
            help="With --folds: records that share a run of this many bases, on either strand "
            "(overlapping windows, repeats), go to the same fold, so no held-out record has an "
            "overlapping copy in training. 0 deals records one by one.",
        ),
    ] = 20,
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
    with command_context(
        verbose=verbose,
        threads=threads,
        device=device,
        seed=seed,
        out=out,
        force=force,
        resume=resume,
        keep_partial=_resumable,
    ) as run:
        from mhsa_bio.training.groups import DEFAULT_GROUP_KMER
        from mhsa_bio.training.plan import plan_training
        from mhsa_bio.training.plan import train as run_train
        from mhsa_bio.training.run import TrainInputs
        from mhsa_bio.training.trainer import TrainConfig

        if not folds and group_kmer != DEFAULT_GROUP_KMER:
            log.warning(
                "--group-kmer %d is for --folds and has no effect here; the train/validation "
                "split keeps overlapping records apart by --val-group-kmer (%d)",
                group_kmer,
                val_group_kmer,
            )

        train_config = TrainConfig(
            epochs=epochs,
            batch_size=batch_size,
            lr=lr,
            weight_decay=weight_decay,
            patience=patience,
            min_epochs=_min_epochs(min_epochs),
            val_fraction=val_fraction,
            val_group_kmer=val_group_kmer,
            seed=seed,
            rc_augment=rc_augment,
            shift_augment=shift_augment,
            jitter=jitter,
            shuffles_per_positive=shuffles,
            amp=amp,
            class_weights=class_weights,
            threshold=_threshold(threshold),
            ensemble=ensemble,
            kmer_member=kmer_member,
            kmer_positional=kmer_positional,
            kmer_bins=kmer_bins,
            kmer_frames=kmer_frames,
        )
        plan = plan_training(  # validates every input before anything is written
            TrainInputs(fasta=fasta, bed=bed, genome=genome, negatives=negatives, labels=labels),
            preset=preset,
            dim=dim,
            heads=heads,
            layers=layers,
            stem_kernel=stem_kernel,
            stem_activation=stem_activation,
            stem_guide=stem_guide,
            stem_pretrain=stem_pretrain,
            max_len=max_len,
            dropout=dropout,
            train_config=train_config,
            folds=folds,
            resume=resume,
            device=run.device,
            group_kmer=group_kmer,
        )
        if plan.train_config.stem_pretrain and plan.dist.is_main and not resume:
            console.log(
                f"stem guide {plan.model_config.stem_guide:g}: first the convolution stem trains alone "
                f"as a max-pool CNN (at most {plan.train_config.stem_pretrain} epochs)"
            )
        if plan.dealt is not None and plan.dealt.group_kmer:
            console.log(
                f"{folds} folds over {plan.dealt.of.size:,} records in {plan.dealt.groups:,} groups: records "
                f"sharing a {plan.dealt.group_kmer}-mer (either strand) are held out together"
            )
        with _progress(plan.dist.is_main and not folds) as (on_epoch, on_step):
            done = run_train(
                plan,
                run.output,
                resume=resume,
                params=params,
                on_epoch=on_epoch,
                on_step=on_step,
                on_fold=_fold_line(folds),
            )
        _print_result(done, folds, out)


def _print_result(done: Any, folds: int, out: Path) -> None:
    """The last lines: the cross-validation table, or the best epoch's metrics, the decision
    threshold and the checkpoint written."""
    if done.folds is not None:
        _print_crossval(done.folds, folds, shown=out)
    elif done.metrics is not None:
        metrics = done.metrics
        keys = [
            k for k in ("auroc", "auprc", "accuracy", "sensitivity", "specificity", "mcc") if k in metrics
        ]
        summary = ", ".join(f"{k} {metrics[k]:.3f}" for k in keys)
        which = (
            f"ensemble of {metrics['ensemble']} (best epochs "
            + ", ".join(str(m["best_epoch"]) for m in metrics["members"])
            + ")"
            if "ensemble" in metrics
            else f"best epoch {metrics['best_epoch']}"
        )
        if "kmer_member" in metrics:
            which += " + k-mer member"
        console.print(
            f"{which}: {summary}" + (" (Sn, Sp, MCC at probability 0.5)" if "mcc" in metrics else "")
        )
        if "kmer_member" in metrics:
            kmer = metrics["kmer_member"]
            width, bins = kmer.get("positional_width"), kmer.get("positional_bin")
            console.print(
                f"validation AUROC: Transformer alone {metrics['transformer']['auroc']:.3f}, k-mer "
                f"member alone {kmer['val_auroc']:.3f} (penalty {kmer['l2']:g}"
                + ("; reading frames" if kmer.get("frames") else "")
                + (f"; position-specific over {width} bp" if width else "")
                + (f", 3- and 4-mers in bins of {bins}" if bins else "")
                + f"), averaged "
                f"{metrics['auroc']:.3f}"
            )
        if metrics.get("linked_records"):
            console.print(
                f"validation split: {metrics['linked_records']:,} records overlap another "
                "(--val-group-kmer) and went to its side of the split"
            )
        members = metrics.get("members", [metrics])
        pretrained = [m["stem_pretrain"] for m in members if "stem_pretrain" in m]
        if pretrained:
            runs = (
                f"{r['val_auroc']:.3f} (epoch {r['best_epoch']} of {r['epochs_run']})" for r in pretrained
            )
            console.print("stem pretraining: validation AUROC " + ", ".join(runs))
        if "decision_threshold" in metrics:
            _print_threshold(metrics)
        console.print(f"wrote {out / 'model.pt'}")


def _print_threshold(metrics: dict) -> None:
    """The decision threshold line: the value, its rule and the validation Sn, Sp, MCC at it;
    nothing for the default 0.5, whose figures the best-epoch line already gives."""
    chosen = metrics["threshold_rule"].startswith("max")
    if not chosen and metrics["decision_threshold"] == 0.5:
        return
    at = metrics["at_decision_threshold"]
    console.print(
        f"decision threshold {metrics['decision_threshold']:.4g} "
        f"({metrics['threshold_rule'] if chosen else '--threshold'}): validation Sn "
        f"{at['sensitivity']:.3f}, Sp {at['specificity']:.3f}, MCC {at['mcc']:.3f}"
        + (" (optimistic: chosen on this split)" if chosen else "")
    )


def _auto_or(
    option: str, text: str, convert: Callable[[str], T], valid: Callable[[T], bool], expected: str
) -> T | None:
    """An option that takes 'auto' (``None``) or a value: ``convert``-ed, else a one-line error
    that names the option and says what it expected."""
    from mhsa_bio.errors import InputError

    if text.strip().lower() == "auto":
        return None
    try:
        value = convert(text)
    except ValueError:
        value = None
    if value is None or not valid(value):
        raise InputError(f"{option} {text}: expected 'auto' or {expected}")
    return value


def _threshold(text: str) -> float | None:
    """``--threshold``: ``None`` for auto, else a probability."""
    return _auto_or("--threshold", text, float, lambda v: 0 <= v <= 1, "a probability between 0 and 1")


def _min_epochs(text: str) -> int | None:
    """``--min-epochs``: ``None`` for auto, else a number of epochs."""
    return _auto_or("--min-epochs", text, int, lambda v: v >= 0, "a whole number of epochs, 0 or more")


def _resumable(folder: Path) -> bool:
    """An unfinished training folder can be continued with --resume when it holds last.pt."""
    return (folder / "last.pt").is_file()


@contextlib.contextmanager
def _progress(show: bool) -> Iterator[tuple[Any, Any]]:
    """A progress bar (epoch, step, loss, val AUROC) and a log line per epoch: the
    ``(on_epoch, on_step)`` callbacks of one training run; ``(None, None)`` when not shown."""
    if not show:
        yield None, None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn

    with progress_bar(
        TextColumn("[bold]epoch {task.fields[epoch]}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("loss {task.fields[loss]:.4f}"),
        TextColumn("val AUROC {task.fields[auroc]}"),
        TimeElapsedColumn(),
    ) as progress:
        task = progress.add_task("train", total=None, epoch=1, loss=0.0, auroc="-")
        state = {"epoch": 1}

        def on_step(step: int, total: int, loss: float) -> None:
            progress.update(task, completed=step, total=total, loss=loss, epoch=state["epoch"])

        def on_epoch(row, s):
            state["epoch"] = row.epoch + 1
            progress.update(task, auroc=f"{row.val_auroc:.3f}")
            console.log(
                f"epoch {row.epoch}: loss {row.train_loss:.4f}, val loss "
                f"{row.val_loss:.4f}, AUROC {row.val_auroc:.3f}, AUPRC "
                f"{row.val_auprc:.3f}"
            )

        yield on_epoch, on_step


def _fold_line(folds: int) -> Any:
    """The ``on_fold`` callback: one log line per finished fold."""

    def on_fold(k: int, row: dict) -> None:
        keys = [c for c in ("auroc", "auprc", "threshold", "sensitivity", "specificity", "mcc") if c in row]
        console.log(
            f"fold{k} ({k + 1}/{folds}): "
            + ", ".join(f"{c} {row[c]:.3f}" for c in keys)
            + (f" (best epoch {row['best_epoch']}, " if row.get("best_epoch") is not None else " (")
            + f"{row['seconds']:.0f} s)"
        )

    return on_fold


def _print_crossval(rows: list[dict], folds: int, *, shown: Path) -> None:
    from mhsa_bio.training.crossval import summary_rows

    mean, sd = summary_rows(rows)
    keys = [c for c in ("auroc", "auprc", "sensitivity", "specificity", "mcc") if mean.get(c) is not None]
    console.print(f"{folds}-fold CV: " + ", ".join(f"{c} {mean[c]:.3f} ± {sd[c]:.3f}" for c in keys))
    console.print(f"wrote {shown / 'cv_metrics.tsv'}")
