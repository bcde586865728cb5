"""Promoter classification by stratified K-fold cross-validation, the default model beside its peers.

Three promoter sets from ../shared/data/motifs, each against its own non-promoters and against
dinucleotide shuffles of its promoters: E. coli σ70 (CNNProm_Ecoli_prom vs non_prom, the data
CNNProm was published on: Sn 0.90, Sp 0.96, CC 0.84), mouse TATA promoters (CNNProm_Mouse_tata vs
nonprom) and iPromoter-2L σ70 (sigma70promoter vs negative2860).

For every seed the records are cut into K stratified folds (``mhsa_bio.training.crossval.stratified_folds``,
the folds of ``mhsa-bio train --folds K --seed S``). Each fold is held out once; the models train on
the other folds, the same records for all of them, with the same inner validation split (20 %) for
early stopping or the peer's penalty, and are scored once on the held-out fold:

- mhsa-bio: the default model and training of ``mhsa-bio train`` (``mhsa_bio.training.crossval.fit_fold``);
- cnnprom: a CNNProm-like CNN (``promoter_peers.cnnprom``);
- kmer-lr: k-mer (k = 3–6) logistic regression (``promoter_peers.kmer_logistic``);
- kmer-pos-lr: the same with the one-hot 1- to 3-mers at each position added (the member
  ``train --kmer-member --kmer-positional`` stores);
- kmer-bins-lr: the same with the 3- and 4-mers in each bin of 3 positions added too (the member
  ``train --kmer-member --kmer-positional --kmer-bins 3`` stores);
- kmer-frames-lr: the same with the reading-frame block added too (stop codons and codon usage in
  each strand's frames, each base's position asymmetry: the member ``train --kmer-member
  --kmer-positional --kmer-bins 3 --kmer-frames`` stores).

Printed: mean ± sd over folds × seeds of Sn, Sp, MCC, AUROC, the lowest fold MCC, and the mean
training seconds per fold with ``--threads`` (2 by default). Sn, Sp and MCC are at the threshold
of a decision rule (``DECISIONS``): probability 0.5, or ``inner-MCC``, the threshold with the
highest MCC on the fit's inner validation split (``mhsa_bio.metrics.mcc_threshold``, what
``mhsa-bio train --threshold auto`` stores). The default model is reported with the default
rule (``DEFAULT_DECISION``), each peer with both. Every row of ``--log`` keeps the fit's inner
validation and held-out scores, so the rules can be rescored from the log (``--from-log``).

Tuning part (``--tune``): candidate settings of the default model (``CANDIDATES``) are trained on
the same folds, and every candidate is scored with every decision rule; the rule picks the
(candidate, decision) with the highest mean *inner-validation* MCC (the split inside each
training part that chose its best epoch), with the current default kept on a tie within 0.005.
A threshold chosen and scored on the same records would flatter ``inner-MCC``, so the inner MCC
is cross-fitted (``crossfit_mcc``): the inner split is cut into two stratified halves, the
threshold chosen on one half is scored on the other and vice versa, and 0.5 is scored on the same
halves. Only inner-validation figures are printed for the candidates; the held-out folds are
reported for the chosen one as the validation part (the others follow, marked not chosen, for
reference).

Usage:
  python benchmarks/promoters.py --folds 5 --seeds 0 1 2
  python benchmarks/promoters.py --datasets ecoli --backgrounds negatives --only-folds 0  # one fold
  python benchmarks/promoters.py --tune --candidates default --datasets ecoli \
      --backgrounds negatives --seeds 0 --log ecoli.jsonl  # the decision rules, docs/promoters-one-by-one.md
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from _common import SHARED_DATA, peak_rss_mb, shared, table

from mhsa_bio.io.outputs import atomic_open
from mhsa_bio.training.groups import DEFAULT_GROUP_KMER

DATASETS = {
    "ecoli": ("ecoli_promoters", "CNNProm_Ecoli_prom.fa", "CNNProm_Ecoli_non_prom.fa"),
    "mouse-tata": ("mouse_promoters", "CNNProm_Mouse_tata.fa", "CNNProm_Mouse_nonprom.fa"),
    "ipromoter": ("ecoli_promoters", "iPromoter2L_sigma70promoter.fa",
                  "iPromoter2L_negative2860.fa"),
}
MODELS = ("mhsa-bio", "cnnprom", "kmer-lr", "kmer-pos-lr", "kmer-bins-lr", "kmer-frames-lr")
#: The k-mer models: whether each reads positions, the positions per bin of its binned part, and
#: whether it reads the reading frames (``--kmer-frames``).
KMER_MODELS = {"kmer-lr": (False, 0, False), "kmer-pos-lr": (True, 0, False),
               "kmer-bins-lr": (True, 3, False), "kmer-frames-lr": (True, 3, True)}
#: Candidate settings for --tune: (model config overrides, train config overrides); "default" first.
CANDIDATES: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "default": ({}, {}),
    "class-weights": ({}, {"class_weights": True}),
    "stem21": ({"stem_kernel": 21}, {}),
    "dropout0.1": ({"dropout": 0.1}, {}),
    "dropout0.0": ({"dropout": 0.0}, {}),
    "stem-gelu": ({"stem_activation": "gelu"}, {}),
    "layers1": ({"layers": 1}, {}),
    "dim128": ({"dim": 128, "heads": 8}, {}),
    "lr3e-4x60": ({}, {"lr": 3e-4, "epochs": 60, "patience": 12}),
    "ensemble5": ({}, {"ensemble": 5}),
    "ensemble5-dropout0.1": ({"dropout": 0.1}, {"ensemble": 5}),
    "ensemble5-dropout0.0": ({"dropout": 0.0}, {"ensemble": 5}),
    "ensemble5-layers1": ({"layers": 1}, {"ensemble": 5}),
    "ensemble5-layers1-dropout0.1": ({"layers": 1, "dropout": 0.1}, {"ensemble": 5}),
    "jitter3": ({}, {"jitter": 3}),
    "jitter8": ({}, {"jitter": 8}),
    "dropout0.1-jitter3": ({"dropout": 0.1}, {"jitter": 3}),
    "ensemble5-dropout0.1-jitter3": ({"dropout": 0.1}, {"ensemble": 5, "jitter": 3}),
    "kmer": ({}, {"kmer_member": True}),
    "dropout0.1-kmer": ({"dropout": 0.1}, {"kmer_member": True}),
    "ensemble5-dropout0.1-kmer": ({"dropout": 0.1}, {"ensemble": 5, "kmer_member": True}),
    "kmerpos": ({}, {"kmer_member": True, "kmer_positional": True}),
    "ensemble5-dropout0.1-jitter3-kmerpos": ({"dropout": 0.1}, {"ensemble": 5, "jitter": 3,
                                             "kmer_member": True, "kmer_positional": True}),
    "ensemble5-dropout0.1-kmerpos": ({"dropout": 0.1}, {"ensemble": 5, "kmer_member": True,
                                    "kmer_positional": True}),
    "ensemble5-dropout0.1-kmerpos-bins3": ({"dropout": 0.1}, {"ensemble": 5, "kmer_member": True,
                                          "kmer_positional": True, "kmer_bins": 3}),
    "ensemble5-dropout0.1-kmerpos-bins3-frames": ({"dropout": 0.1}, {
        "ensemble": 5, "kmer_member": True, "kmer_positional": True, "kmer_bins": 3,
        "kmer_frames": True}),
    "val-one-by-one": ({}, {"val_group_kmer": 0}),
    "patience16": ({}, {"patience": 16}),
    "min-epochs0": ({}, {"min_epochs": 0}),  # patience alone
}
#: Candidates whose inner validation split is not the default's (``val-one-by-one`` deals records
#: one by one, overlapping ones included): their inner MCC is measured on other records, so the
#: rule does not choose among them; their held-out folds are shown for reference.
OWN_SPLIT = {"val-one-by-one"}
#: Decision rules for the binary call: probability 0.5, or the threshold with the highest MCC on
#: the inner validation split (``mhsa_bio.metrics.mcc_threshold``, what ``mhsa-bio train`` stores).
DECISIONS = ("0.5", "inner-MCC")
#: The decision rule of the current default, kept on a tie within TIE.
DEFAULT_DECISION = "0.5"
TIE = 0.005
PUBLISHED = {"dataset": "ecoli", "background": "negatives", "model": "CNNProm (published)",
             "Sn": "0.900", "Sp": "0.960", "MCC": "0.840", "AUROC": "–"}


def unique_ids(path: Path) -> Path:
    """``path`` itself, or a copy in the temporary folder whose repeated ids get ``_2``, ``_3``, …

    The mouse and iPromoter sets name records by gene or species, so ids repeat; ``mhsa-bio``
    refuses repeated ids, and the records themselves are distinct sequences."""
    lines = path.read_text().splitlines()
    seen: dict[str, int] = {}
    out, renamed = [], False
    for line in lines:
        if line.startswith(">"):
            ident, _, rest = line[1:].partition(" ")
            seen[ident] = seen.get(ident, 0) + 1
            if seen[ident] > 1:
                line, renamed = f">{ident}_{seen[ident]} {rest}".rstrip(), True
        out.append(line)
    if not renamed:
        return path
    copy = Path(tempfile.gettempdir()) / f"mhsa-bio-bench-{path.name}"
    # parallel workers write the same copy: each writes its own file and renames it into place,
    # so no reader ever sees a half-written one
    with atomic_open(copy) as handle:
        handle.write("\n".join(out) + "\n")
    return copy


@cache
def load(dataset: str, background: str) -> tuple[Any, ...]:
    """(inputs, data as read_inputs returns it) for a dataset and background."""
    from mhsa_bio.training.run import TrainInputs, read_inputs

    folder, prom, non = DATASETS[dataset]
    inputs = TrainInputs(fasta=unique_ids(SHARED_DATA / "motifs" / folder / prom),
                         negatives=unique_ids(SHARED_DATA / "motifs" / folder / non)
                         if background == "negatives" else None)
    return inputs, read_inputs(inputs, min_length=21)


def configs(candidate: str, *, seed: int, data: tuple[Any, ...],
            val_group_kmer: int = DEFAULT_GROUP_KMER) -> tuple[Any, Any]:
    """(model, training) settings of ``candidate``; its inner validation split keeps records
    sharing a ``val_group_kmer``-mer on one side, as ``train`` does, unless the candidate says
    otherwise."""
    from dataclasses import replace

    from mhsa_bio.models.promoter import PromoterConfig
    from mhsa_bio.training.trainer import TrainConfig

    model_over, train_over = CANDIDATES[candidate]
    longest = max(len(r.seq) for r in data[0] + (data[1] or []))
    model = replace(PromoterConfig(**model_over), max_len=longest)
    train = TrainConfig(seed=seed, **{"val_group_kmer": val_group_kmer, **train_over})
    return model, train


def logged_rows(paths: list[Path], *, group_kmer: int, val_group_kmer: int,
                datasets: Any = None, backgrounds: Any = None, seeds: Any = None,
                folds: Any = None) -> list[dict[str, Any]]:
    """The rows of ``--log`` files whose folds were cut with ``group_kmer`` and inner splits with
    ``val_group_kmer`` (a row without either field comes from records dealt one by one, 0), and
    of this run's datasets, backgrounds, seeds and folds when given: rows of other sets would
    otherwise enter the tuning rule's means beside this run's."""
    rows = [{"group_kmer": 0, "val_group_kmer": 0, **json.loads(line)} for path in paths
            for line in path.read_text().splitlines() if line.strip()]
    wanted = {"dataset": datasets, "background": backgrounds, "seed": seeds, "fold": folds}
    return [r for r in rows if (r["group_kmer"], r["val_group_kmer"]) == (group_kmer, val_group_kmer)
            and all(r[k] in v for k, v in wanted.items() if v is not None)]


def open_frame_share(seqs: list[str]) -> float:
    """The share of sequences with a frame free of stop codons over their whole length, on the
    strand given (the first column of ``mhsa_bio.models.kmer.frame_features``: what
    ``train --kmer-frames`` reads)."""
    import torch

    from mhsa_bio.alphabet import encode_batch
    from mhsa_bio.models.kmer import frame_features

    tokens, lengths = encode_batch(seqs)
    fewest = frame_features(torch.from_numpy(tokens), torch.from_numpy(lengths))[:, 0]
    return float((fewest == 0).double().mean())


def overlap_summary(dataset: str, background: str, k: int) -> str:
    """One line on how the records of a dataset overlap: groups linked by a shared k-mer (either
    strand; ``mhsa_bio.training.groups.overlap_groups``), per class and over both; and the share
    of each class with a frame free of stop codons (``open_frame_share``)."""
    from mhsa_bio.training.groups import overlap_groups

    _, (positives, negatives, _, _) = load(dataset, background)
    parts = [("promoters", positives)] + ([("non-promoters", negatives)] if negatives else [])
    text = []
    for name, records in parts:
        groups = overlap_groups([r.seq for r in records], k)
        sizes = np.bincount(groups)
        shared = int((sizes[groups] > 1).sum())
        text.append(f"{len(records):,} {name} in {sizes.size:,} groups ({shared:,} share a "
                    f"{k}-mer with another, largest group {sizes.max()}; "
                    f"{open_frame_share([r.seq for r in records]):.0%} with a stop-free frame)")
    if negatives:
        both = overlap_groups([r.seq for r in positives + negatives], k)
        mixed = np.intersect1d(both[:len(positives)], both[len(positives):]).size
        text.append(f"{both.max() + 1:,} groups over both, {mixed} holding both classes")
    return f"{dataset} {background}: " + "; ".join(text)


def _scores(values: Any) -> list[float]:
    return [round(float(v), 6) for v in values]


def run_job(job: dict[str, Any]) -> dict[str, Any]:
    """Train one model on one fold's training part and score its held-out fold (and its inner
    validation split, for the decision rules)."""
    import torch

    from mhsa_bio.metrics import binary_metrics
    from mhsa_bio.training.crossval import assign_folds, fit_fold, split_fold

    torch.set_num_threads(job["threads"])
    device = torch.device(job["device"])
    inputs, data = load(job["dataset"], job["background"])
    seed, k = job["seed"], job["fold"]
    fold = assign_folds(data, folds=job["folds"], seed=seed, group_kmer=job["group_kmer"]).of
    part = split_fold(data, fold, k, shuffles_per_positive=1, seed=seed)
    start = time.perf_counter()
    extra: dict[str, Any] = {}
    if job["model"] == "mhsa-bio":
        from mhsa_bio.checkpoint import load_predictor
        from mhsa_bio.training.split import make_split

        model_config, train_config = configs(job["candidate"], seed=seed, data=data,
                                             val_group_kmer=job["val_group_kmer"])
        with tempfile.TemporaryDirectory() as tmp:
            row, probs = fit_fold(inputs, Path(tmp), part, model_config=model_config,
                                  train_config=train_config, device=device)
            seconds = time.perf_counter() - start
            # the inner validation split that chose the best epoch, as run_training cut it
            split = make_split(part.train[0], negatives=part.train[1], config=train_config,
                               labels=part.train[2], classes=part.train[3])
            val = split.val
            net, _ = load_predictor(Path(tmp) / "model.pt", device=device)
            inner = inner_scores(net, split, train_config, device)
        scores = probs[:, 1]
        extra = {"best_epoch": row["best_epoch"], "epochs_run": row["epochs_run"],
                 "inner_mcc": row["inner"]["mcc"], "inner_auroc": row["inner"]["auroc"],
                 "inner_scores": _scores(inner), "inner_labels": val.labels.tolist()}
    else:
        import promoter_peers as peers

        tr_x, tr_y, va_x, va_y = peers.inner_sets(part.train[0], part.train[1], val_fraction=0.2,
                                                  seed=seed, shuffle_seed=seed * 7919,
                                                  group_kmer=job["val_group_kmer"])
        if job["model"] == "cnnprom":
            scores, extra = peers.cnnprom((tr_x, tr_y), (va_x, va_y), part.heldout, seed=seed,
                                          device=device)
        else:
            positional, bins, frames = KMER_MODELS[job["model"]]
            scores, extra = peers.kmer_logistic((tr_x, tr_y), (va_x, va_y), part.heldout,
                                                positional=positional, bin_width=bins,
                                                frames=frames)
        seconds = time.perf_counter() - start
        extra = {**extra, "inner_scores": _scores(extra["inner_scores"]),
                 "inner_labels": va_y.tolist()}
    m = binary_metrics(part.heldout_labels == 1, scores)
    return {**{k: job[k] for k in ("dataset", "background", "model", "candidate", "seed", "fold",
                                   "group_kmer", "val_group_kmer")},
            "n": int(part.heldout_labels.size), "Sn": m["sensitivity"], "Sp": m["specificity"],
            "MCC": m["mcc"], "AUROC": m["auroc"], "AUPRC": m["auprc"], "seconds": seconds,
            "threads": job["threads"], "device": job["device"], **extra,
            "heldout_scores": _scores(scores), "heldout_labels": part.heldout_labels.tolist()}


def inner_scores(net: Any, split: Any, train_config: Any, device: Any) -> np.ndarray:
    """P(positive) of the inner validation split by a fold's model. A k-mer member was refitted
    on training + validation, so its part of the average is that of its fit on the training part
    alone (``training.kmer.fit_on_split``), as ``train`` scores its validation split."""
    from mhsa_bio.models.promoter import WithKmer
    from mhsa_bio.predict import predict_proba

    if not isinstance(net, WithKmer):
        return predict_proba(net, split.val.records, device=device, amp=train_config.amp)[:, 1]
    from mhsa_bio.training.kmer import fit_on_split

    own = predict_proba(net.net, split.val.records, device=device, amp=train_config.amp)[:, 1]
    return (1 - net.weight) * own + net.weight * fit_on_split(split, train_config).val_scores


def threshold(row: dict[str, Any], decision: str, idx: np.ndarray | None = None) -> float:
    """The probability threshold of ``decision`` for a fit: 0.5, or (``inner-MCC``) the one with
    the highest MCC on its inner validation scores (those at ``idx`` only, when given)."""
    if decision == "0.5":
        return 0.5
    from mhsa_bio.metrics import mcc_threshold

    y, s = np.asarray(row["inner_labels"]) == 1, np.asarray(row["inner_scores"])
    if idx is not None:
        y, s = y[idx], s[idx]
    return mcc_threshold(y, s)[0]


def crossfit_mcc(row: dict[str, Any], decision: str) -> float:
    """Inner-validation MCC of a decision rule without scoring a threshold on the records that
    chose it: the inner split is cut in two stratified halves (seeded), the threshold chosen on
    one half is scored on the other and vice versa, and the two MCCs averaged. ``0.5`` is scored
    on the same halves."""
    from mhsa_bio.metrics import binary_metrics
    from mhsa_bio.training.split import stratified_split

    y, s = np.asarray(row["inner_labels"]) == 1, np.asarray(row["inner_scores"])
    a, b = stratified_split(y.astype(np.int64), fraction=0.5, seed=row["seed"] * 31 + row["fold"])
    return float(np.mean([binary_metrics(y[test], s[test], threshold=threshold(row, decision, fit))
                          ["mcc"] for fit, test in ((a, b), (b, a))]))


def decided(row: dict[str, Any], decision: str) -> dict[str, Any]:
    """The fit's held-out Sn, Sp, MCC at the threshold of ``decision`` (chosen on the whole inner
    validation split, as ``mhsa-bio train`` does)."""
    from mhsa_bio.metrics import binary_metrics

    t = threshold(row, decision)
    m = binary_metrics(np.asarray(row["heldout_labels"]) == 1, np.asarray(row["heldout_scores"]),
                       threshold=t)
    return {**row, "decision": decision, "threshold": t, "Sn": m["sensitivity"],
            "Sp": m["specificity"], "MCC": m["mcc"]}


def own_member(candidate: str) -> str | None:
    """The k-mer model (``KMER_MODELS``) whose fit is the member a candidate's ``train`` stores,
    or None for a candidate without one."""
    train = CANDIDATES[candidate][1]
    if not train.get("kmer_member"):
        return None
    key = (train.get("kmer_positional", False), train.get("kmer_bins", 0), train.get("kmer_frames", False))
    return next((m for m, v in KMER_MODELS.items() if v == key), None)


def with_kmer(row: dict[str, Any], kmer: dict[str, Any],
              own: dict[str, Any] | None = None) -> dict[str, Any]:
    """``row`` (an mhsa-bio fit) with its inner and held-out probabilities averaged 1 : 1 with
    those of ``kmer`` (a k-mer model's fit on the same seed and fold: the same records in the
    same order, checked by their labels). With ``own``, the fit of the member ``row``'s
    candidate averages in (``own_member``), that member is swapped for ``kmer``: the
    Transformers' probability is twice the candidate's less its member's."""
    from mhsa_bio.metrics import binary_metrics

    for other in (kmer, own) if own is not None else (kmer,):
        for part in ("inner", "heldout"):
            if row[f"{part}_labels"] != other[f"{part}_labels"]:
                raise ValueError(f"seed {row['seed']} fold {row['fold']}: {part} records differ")
    mean, seconds = {}, row["seconds"] + kmer["seconds"]
    for part in ("inner", "heldout"):
        base = np.asarray(row[f"{part}_scores"])
        if own is not None:
            base = 2 * base - np.asarray(own[f"{part}_scores"])
            if not (-1e-5 <= base.min() and base.max() <= 1 + 1e-5):  # scores rounded to 1e-6
                raise ValueError(f"seed {row['seed']} fold {row['fold']}: {own['model']} is not "
                                 f"the member of {row['candidate']}")
        mean[f"{part}_scores"] = _scores((base + np.asarray(kmer[f"{part}_scores"])) / 2)
    if own is not None:
        seconds -= own["seconds"]
    m = binary_metrics(np.asarray(row["heldout_labels"]) == 1, np.asarray(mean["heldout_scores"]))
    name = (f"{row['candidate']}, member {kmer['model']}" if own is not None
            else f"{row['candidate']}+{kmer['model']}")
    return {**row, **mean, "candidate": name, "AUROC": m["auroc"], "AUPRC": m["auprc"],
            "seconds": seconds}


def _init_worker(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)


def run_jobs(jobs: list[dict[str, Any]], *, workers: int, log: Path | None) -> list[dict[str, Any]]:
    """Run the jobs (in ``workers`` processes when > 1), appending each row to ``log``."""
    rows: list[dict[str, Any]] = []

    def keep(row: dict[str, Any]) -> None:
        rows.append(row)
        # the tuning part only: held-out figures are printed once, in the tables, after the rule
        print(f"  {row['dataset']} {row['background']} {row['model']}"
              f"{'' if row['candidate'] == 'default' else ' ' + row['candidate']} seed "
              f"{row['seed']} fold {row['fold']}: inner MCC {crossfit_mcc(row, '0.5'):.3f} "
              f"(inner-MCC threshold {crossfit_mcc(row, 'inner-MCC'):.3f}) "
              f"{row['seconds']:.0f} s", file=sys.stderr, flush=True)
        if log is not None:
            with open(log, "a") as handle:
                handle.write(json.dumps(row) + "\n")

    if workers <= 1 or not jobs:
        for job in jobs:
            keep(run_job(job))
        return rows
    pool_map(run_job, jobs, workers=workers, keep=keep, initializer=_init_worker,
             initargs=(jobs[0]["threads"],))
    return rows


def pool_map(fn: Callable[[Any], Any], jobs: list[Any], *, workers: int,
             keep: Callable[[Any], None], initializer: Callable[..., None] | None = None,
             initargs: tuple[Any, ...] = ()) -> None:
    """``keep(fn(job))`` for every job, in ``workers`` spawned processes, as they finish.

    When the run ends early (an error, Ctrl-C, or SIGTERM to this process, which is turned into
    KeyboardInterrupt here), the workers are terminated and the jobs not started are cancelled,
    so no worker is left running a fit after the script is gone.
    """
    import multiprocessing as mp
    import signal
    from concurrent.futures import ProcessPoolExecutor, as_completed

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        pool = ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn"),
                                   initializer=initializer, initargs=initargs)
        try:
            for future in as_completed([pool.submit(fn, j) for j in jobs]):
                keep(future.result())
        except BaseException:
            for child in mp.active_children():
                child.terminate()
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown()
    finally:
        signal.signal(signal.SIGTERM, previous)


def summarise(rows: list[dict[str, Any]], keys: tuple[str, ...]) -> list[dict[str, Any]]:
    """mean ± sd over folds × seeds of each group of rows with equal ``keys``."""
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(row[k] for k in keys), []).append(row)
    out = []
    for key, group in groups.items():
        line: dict[str, Any] = dict(zip(keys, key))
        for col in ("Sn", "Sp", "MCC", "AUROC"):
            v = np.array([r[col] for r in group], dtype=float)
            line[col] = f"{v.mean():.3f} ± {v.std(ddof=1) if v.size > 1 else 0:.3f}"
        line["min fold MCC"] = f"{min(r['MCC'] for r in group):.3f}"
        line["fits"] = len(group)
        line["train s / fold"] = f"{np.mean([r['seconds'] for r in group]):.0f}"
        out.append(line)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--datasets", nargs="+", choices=list(DATASETS), default=list(DATASETS))
    parser.add_argument("--backgrounds", nargs="+", choices=["negatives", "shuffle"],
                        default=["negatives", "shuffle"])
    parser.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    parser.add_argument("--only-folds", type=int, nargs="+", default=None,
                        help="run these folds only (to time one fold before budgeting)")
    parser.add_argument("--tune", action="store_true",
                        help="the tuning part: candidates of the default model (all of them, or "
                        "--candidates), then the rule and the chosen one's held-out folds")
    parser.add_argument("--candidates", nargs="+", choices=list(CANDIDATES), default=None)
    parser.add_argument("--from-log", type=Path, nargs="+", default=[],
                        help="rows of earlier runs (--log files) to add to this run's before the "
                        "tables, those of its --datasets, --backgrounds, --seeds and folds only; "
                        "fits found there are not trained again, and with no jobs left only the "
                        "tables are printed")
    parser.add_argument("--group-kmer", type=int, default=DEFAULT_GROUP_KMER,
                        help="records sharing a k-mer this long (either strand) stay in one fold, "
                        "as in train --folds (default %(default)s); 0: dealt one by one")
    parser.add_argument("--val-group-kmer", type=int, default=DEFAULT_GROUP_KMER,
                        help="every model's inner validation split keeps records sharing a k-mer "
                        "this long on one side, as train does (default %(default)s); 0: dealt one "
                        "by one")
    parser.add_argument("--threads", type=int, default=2, help="torch threads per fit")
    parser.add_argument("--workers", type=int, default=1, help="fits run in parallel")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--log", type=Path, default=None, help="append every fold's row (JSON)")
    parser.add_argument("--with-kmer", action="store_true",
                        help="also score each mhsa-bio candidate without a k-mer member "
                        "averaged 1:1 with each k-mer model's probabilities on the same fold, "
                        "post hoc (what a --kmer-member [--kmer-positional] candidate does "
                        "inside train), and each candidate with a member with that member "
                        "swapped for each other k-mer model of the run (its own among them)")

    parser.add_argument("--overlaps-only", action="store_true",
                        help="print how each dataset's records overlap (--group-kmer, or 20 when "
                        "it is 0) and how many hold a frame free of stop codons, and stop")
    args = parser.parse_args()

    shared("motifs", "ecoli_promoters", "CNNProm_Ecoli_prom.fa")
    for d in args.datasets:
        for b in args.backgrounds:
            print(overlap_summary(d, b, args.group_kmer or DEFAULT_GROUP_KMER))
    if args.overlaps_only:
        return
    folds = args.only_folds if args.only_folds is not None else range(args.folds)
    # the default is always trained: the rule compares every candidate with it
    candidates = (["default"] + [c for c in (args.candidates or CANDIDATES) if c != "default"]
                  if args.tune else ["default"])
    jobs = [{"dataset": d, "background": b, "model": m, "candidate": c, "seed": s, "fold": k,
             "folds": args.folds, "group_kmer": args.group_kmer,
             "val_group_kmer": args.val_group_kmer, "threads": args.threads,
             "device": args.device}
            for d in args.datasets for b in args.backgrounds for s in args.seeds for k in folds
            for m in args.models for c in (candidates if m == "mhsa-bio" else ["default"])]
    done = logged_rows(args.from_log, group_kmer=args.group_kmer, val_group_kmer=args.val_group_kmer,
                       datasets=args.datasets, backgrounds=args.backgrounds, seeds=args.seeds,
                       folds=list(folds))
    key = ("dataset", "background", "model", "candidate", "seed", "fold", "group_kmer",
           "val_group_kmer")
    have = {tuple(r[k] for k in key) for r in done}
    wanted = len(jobs)
    jobs = [j for j in jobs if tuple(j[k] for k in key) not in have]
    if args.from_log:
        print(f"{wanted - len(jobs)} of {wanted} fits read from --from-log; {len(jobs)} to train",
              file=sys.stderr, flush=True)
    start = time.perf_counter()
    rows = done + run_jobs(jobs, workers=args.workers, log=args.log)
    wall = time.perf_counter() - start
    grouping = (f"records sharing a {args.group_kmer}-mer in one fold" if args.group_kmer
                else "records dealt one by one") + (
        f"; inner splits keep records sharing a {args.val_group_kmer}-mer on one side"
        if args.val_group_kmer else "; inner splits dealt one by one")
    print(f"\n{args.folds}-fold stratified CV ({grouping}), folds {list(folds)}, seeds {args.seeds}; "
          f"{args.threads} threads per fit, {args.workers} worker(s), device {args.device}; "
          f"wall {wall:.0f} s; peak RSS {peak_rss_mb():.0f} MB (this process)")
    if args.tune:
        print("\ntuning part: inner-validation MCC (cross-fitted halves, see crossfit_mcc) / "
              "AUROC of each candidate and decision rule (held-out folds not shown)")
        tune = []
        for c in ["default"] + [c for c in candidates if c != "default"]:
            mine = [r for r in rows if r["candidate"] == c and r["model"] == "mhsa-bio"]
            for d in DECISIONS:
                scored = [r for r in mine if "inner_scores" in r]
                if not scored:
                    continue
                tune.append({"candidate": c, "decision": d,
                             "inner MCC": float(np.mean([crossfit_mcc(r, d) for r in scored])),
                             "inner AUROC": float(np.mean([r["inner_auroc"] for r in scored])),
                             "fits": len(scored),
                             "train s / fold": f"{np.mean([r['seconds'] for r in mine]):.0f}"})
        incumbent = next(t for t in tune if (t["candidate"], t["decision"]) ==
                         ("default", DEFAULT_DECISION))
        best = max((t for t in tune if t["candidate"] not in OWN_SPLIT), key=lambda t: t["inner MCC"])
        chosen = best if best["inner MCC"] > incumbent["inner MCC"] + TIE else incumbent
        print(table([{**t, "inner MCC": f"{t['inner MCC']:.3f}",
                      "inner AUROC": f"{t['inner AUROC']:.3f}"} for t in tune]))
        print(f"\nrule: highest mean inner-validation MCC, the current default (default, "
              f"{DEFAULT_DECISION}) kept within {TIE}: chosen {chosen['candidate']}, "
              f"{chosen['decision']}")
        pick = (chosen["candidate"], chosen["decision"])
    else:
        pick = ("default", DEFAULT_DECISION)
    ours = [decided(r, pick[1]) for r in rows if r["model"] == "mhsa-bio" and r["candidate"] ==
            pick[0] and (pick[1] == "0.5" or "inner_scores" in r)]
    peers = [decided(r, d) for r in rows if r["model"] != "mhsa-bio" for d in DECISIONS
             if d == "0.5" or "inner_scores" in r]
    print(f"\nvalidation part (held-out folds): mhsa-bio {pick[0]}, decision {pick[1]}; the "
          "peers at 0.5 and at their own inner-MCC threshold:")
    lines = summarise(ours + peers, ("dataset", "background", "model", "decision"))
    if any(r["dataset"] == "ecoli" and r["background"] == "negatives" for r in rows):
        lines.insert(0, {k: PUBLISHED.get(k, "–") for k in lines[0]})
    print(table(lines))
    other = [decided(r, d) for r in rows if r["model"] == "mhsa-bio" for d in DECISIONS
             if (r["candidate"], d) != pick and (d == "0.5" or "inner_scores" in r)]
    if other:
        print("\nfor reference, not chosen: the other mhsa-bio candidates' held-out folds")
        print(table(summarise(other, ("dataset", "background", "model", "candidate",
                                      "decision"))))
    if args.with_kmer:
        def fold_of(r: dict[str, Any]) -> tuple[Any, ...]:
            return r["dataset"], r["background"], r["seed"], r["fold"]

        kmer = {(r["model"], *fold_of(r)): r for r in rows
                if r["model"] in KMER_MODELS and "inner_scores" in r}
        mixed = []
        for r in rows:
            if r["model"] != "mhsa-bio" or "inner_scores" not in r:
                continue
            own = own_member(r["candidate"])
            if CANDIDATES[r["candidate"]][1].get("kmer_member") and (own, *fold_of(r)) not in kmer:
                continue  # a member whose own fit this run does not hold (or no k-mer model is): no swap
            mixed += [with_kmer(r, kmer[(m, *fold_of(r))],
                                None if own is None else kmer[(own, *fold_of(r))])
                      for m in KMER_MODELS if m != own and (m, *fold_of(r)) in kmer]
        print("\nwith a k-mer model (probabilities averaged 1:1 per fold; a candidate with a "
              "member has it swapped; a lead): inner MCC (cross-fitted) and held-out folds")
        inner = []
        for c in dict.fromkeys(r["candidate"] for r in mixed):
            for d in DECISIONS:
                v = np.mean([crossfit_mcc(r, d) for r in mixed if r["candidate"] == c])
                inner.append({"candidate": c, "decision": d, "inner MCC": f"{v:.3f}"})
        print(table(inner))
        print(table(summarise([decided(r, d) for r in mixed for d in DECISIONS],
                              ("dataset", "background", "candidate", "decision"))))
    for c in dict.fromkeys(r["candidate"] for r in ours + other):
        chosen_t = [f"{r['threshold']:.2f}" for r in ours + other if r["candidate"] == c
                    and r["decision"] == "inner-MCC"]
        if chosen_t:
            print(f"\nmhsa-bio {c}: inner-MCC thresholds of the fits (whole inner split): "
                  + ", ".join(chosen_t))


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    main()
