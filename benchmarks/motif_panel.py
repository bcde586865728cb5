"""A panel of motif sets nobody tuned on: real sets from ../shared/data/motifs, simulated sets
(``mhsa-bio simulate``) and nulls, split into a TUNING half and a VALIDATION half fixed below.

    python benchmarks/motif_panel.py --runs runs/panel [--quick] [--half tuning|validation|all]
        [--sets a,b] [--threads 2]
    python benchmarks/motif_panel.py --pairs --runs runs/panel [--half ...] [--sets a,b]

For each set: ``mhsa-bio train`` with its defaults, as a new user would (``--quick``: fewer
epochs), then ``mhsa-bio motifs`` with its defaults; the result is scored against the set's
truth: found (the truth matrix among the top 3 motifs), rank, column correlation with the truth
matrix (our own check: mean column Pearson at the best offset and strand, ≥ 6 columns overlap;
``FOUND_CORR`` decides "found"; random JASPAR pairs exceed 0.8 in 5 % of cases), the motif's
best JASPAR match, site recall and precision against planted sites (a planted site counts when
a ``sites.bed`` site of the matched motif covers ≥ half of it), the last line of ``motifs``, and
the time. Beside it, in the same run, an 8-mer enrichment peer (Fisher test of k-mer presence
against the same kind of background), scored the same way (its k-mers as one-hot matrices),
and modisco-lite (TF-MoDISco) on the same model's integrated gradients over the positives
(``mhsa_bio.attribution``: the mean-centred gradient as hypothetical contributions), its
positive patterns ranked by seqlets and scored the same way (each PPM trimmed as modisco-lite's
report trims it); skipped with a note when ``modiscolite`` is not installed
(``pip install -e '.[peers]'``).

Defaults are chosen on the tuning half only; docs/motifs.md reports the validation half. Trained
models are reused (RUNS/<set>/model/model.pt), so an interrupted run resumes. Every training and
motif run is a subprocess; the script prints one row per set and writes RUNS/panel.tsv.
The full run trains 16 models (about 2 h on 2 idle cores); ``--quick`` trains 4 small ones.

``--pairs`` runs the pair panel instead (``PAIRS``, its own tuning and validation halves): two
JASPAR motifs planted at a fixed gap of 3-30 bp in every positive (``mhsa-bio simulate --pair
--pair-negatives spacing``: the negatives hold the same two motifs at every other gap, so only
the spacing tells the classes apart), ``mhsa-bio train`` defaults, ``mhsa-bio motifs
--background shuffle`` (the negatives carry the same motifs, so the motifs are found against
shuffles of the positives; nothing is given), then ``mhsa-bio pairs`` with those motifs. A case
is *top at +-1 bp* when the top group of ``pairs.tsv`` pairs the motifs whose sites are the two
planted motifs' sites and lies within 1 bp of the planted spacing as the found motifs see it
(the median spacing of their sites on the planted sites, by the ``pairs`` centre rules), and
passes when that group is also claimed (q < 0.05). When ``pairs`` splits a composite motif
(two planted motifs found as one matrix) into parts, the parts are scored like found motifs:
their sites in ``sites.tsv`` and their matrices in ``parts.meme`` (column r with each planted
motif); ``--reuse-motifs`` keeps the motifs step's output and reruns only ``pairs``.
Controls claim nothing (no group at q < 0.05): the two motifs at random spacings in positives
against plain background, and a planted case with its labels shuffled. Results in
RUNS/pairs/pairs.tsv.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import importlib.util
import json
import random
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from _common import SHARED_DATA
from motifs import kmer_baseline, read_fasta, sh, write_fasta

DATA = SHARED_DATA / "motifs"
JASPAR = DATA / "JASPAR2024_CORE_vertebrates_latest.meme"
CLI = [sys.executable, "-c", "from mhsa_bio.cli.main import app; app()"]
FOUND_CORR = 0.8
TOP = 3


class Set(NamedTuple):
    """One panel entry: how to build it, what is true, and where it belongs."""

    name: str
    half: str  # tuning | validation
    kind: str  # real | sim | null
    truth: tuple[str, ...]  # JASPAR ids, or "literal:ACGT..." consensus
    build: dict[str, Any]
    quick: bool = False


# -- the panel: fixed; defaults are chosen on "tuning" only ----------------------------------
PANEL = [
    # real sets (there are 6 in ../shared/data/motifs; crp0's 18 sequences are too few to train)
    Set("ecoli_cnnprom", "tuning", "real", ("literal:TATAAT",),
        {"fasta": "ecoli_promoters/CNNProm_Ecoli_prom.fa"}),
    Set("nrsf_400", "tuning", "real", ("MA0138.3",),
        {"fasta": "extreme_nrsf/GM12878_NRSF_ChIP.fasta", "first": 400}, quick=True),
    Set("talgata", "tuning", "real", ("MA0035.5", "MA0091.2"), {"talgata": 500}),
    Set("ecoli_ipromoter", "validation", "real", ("literal:TATAAT",),
        {"fasta": "ecoli_promoters/iPromoter2L_sigma70promoter.fa"}),
    Set("mouse_tata", "validation", "real", ("MA0108.3",),
        {"fasta": "mouse_promoters/CNNProm_Mouse_tata.fa"}),
    Set("nrsf_full", "validation", "real", ("MA0138.3",),
        {"fasta": "extreme_nrsf/GM12878_NRSF_ChIP.fasta"}),
    Set("crp0", "validation", "real", (), {"skip": "18 sequences: too few to train a model"}),
    # simulated: mhsa-bio simulate, 1-3 planted JASPAR motifs
    Set("sim_ctcf_80", "tuning", "sim", ("MA0139.2",),
        {"motifs": "MA0139", "n": 400, "length": 80, "p_site": 0.8, "seed": 11}, quick=True),
    Set("sim_foxa2_gata1_300", "tuning", "sim", ("MA0047.4", "MA0035.5"),
        {"motifs": "MA0047,MA0035", "n": 2000, "length": 300, "p_site": 0.4, "seed": 12}),
    # long and small (1,000 x 500 bp, three motifs at p 0.5): the shape of sim_3tf_500
    Set("sim_3tf_cebpb_500", "tuning", "sim", ("MA0466.4", "MA0497.2", "MA0090.4"),
        {"motifs": "MA0466,MA0497,MA0090", "n": 1000, "length": 500, "p_site": 0.5, "seed": 13}),
    Set("sim_sox2_60", "validation", "sim", ("MA0143.5",),
        {"motifs": "MA0143", "n": 600, "length": 60, "p_site": 0.6, "seed": 21}, quick=True),
    Set("sim_fosjun_200", "validation", "sim", ("MA0099.4",),
        {"motifs": "MA0099", "n": 1000, "length": 200, "p_site": 0.5, "seed": 22}),
    Set("sim_esr1_100", "validation", "sim", ("MA0112.4",),
        {"motifs": "MA0112", "n": 3000, "length": 100, "p_site": 0.2, "seed": 23}),
    Set("sim_3tf_500", "validation", "sim", ("MA0105.4", "MA0079.5", "MA0114.5"),
        {"motifs": "MA0105,MA0079,MA0114", "n": 1000, "length": 500, "p_site": 0.5,
         "seed": 24}),
    # nulls: nothing should be reported
    Set("null_shuffled_ctcf", "tuning", "null", (), {"shuffle_of": "sim_ctcf_80"}),
    Set("null_untrained", "validation", "null", (), {"untrained_on": "sim_sox2_60"},
        quick=True),
    Set("null_shuffled_labels", "validation", "null", (), {"labels_of": "sim_sox2_60"},
        quick=True),
    Set("null_shuffled_seqs", "validation", "null", (), {"shuffle_of": "sim_fosjun_200"}),
]


class PairCase(NamedTuple):
    """One pair-panel entry: ``kind`` pair (planted at ``gap``), random_spacing or
    shuffled_labels (of the case named ``of``)."""

    name: str
    half: str
    kind: str
    motifs: tuple[str, str]
    gap: int = 0
    length: int = 60
    n: int = 3000
    seed: int = 0
    of: str = ""


# -- the pair panel: fixed; choices are made on "tuning" only ---------------------------------
PAIRS = [
    PairCase("pair_gata_tal_gap9", "tuning", "pair", ("MA0035.4", "MA0091.1"), 9, 60, 3000, 31),
    PairCase("pair_sox2_fosjun_gap20", "tuning", "pair", ("MA0143.5", "MA0099.4"), 20, 80, 3000,
             32),
    PairCase("ctrl_random_spacing_gata_tal", "tuning", "random_spacing", ("MA0035.4", "MA0091.1"),
             0, 60, 3000, 33),
    PairCase("ctrl_shuffled_labels_gata_tal", "tuning", "shuffled_labels",
             ("MA0035.4", "MA0091.1"), of="pair_gata_tal_gap9"),
    # short gaps, where `motifs` may report the pair as one composite matrix
    PairCase("pair_sox2_gata_gap3", "tuning", "pair", ("MA0143.5", "MA0035.4"), 3, 60, 3000, 34),
    PairCase("pair_tal_fosjun_gap4", "tuning", "pair", ("MA0091.1", "MA0099.4"), 4, 60, 3000, 35),
    PairCase("pair_foxa2_hnf4a_gap5", "validation", "pair", ("MA0047.4", "MA0114.5"), 5, 60, 3000,
             41),
    PairCase("pair_esr1_nfkb1_gap14", "validation", "pair", ("MA0112.4", "MA0105.4"), 14, 80,
             3000, 42),
    PairCase("pair_sp1_sox2_gap27", "validation", "pair", ("MA0079.5", "MA0143.5"), 27, 80, 3000,
             43),
    PairCase("pair_fosjun_foxa2_gap3", "validation", "pair", ("MA0099.4", "MA0047.4"), 3, 60, 3000,
             44),
    # held out from the composite-motif split (added with it; used to choose nothing)
    PairCase("pair_gata_foxa2_gap4", "validation", "pair", ("MA0035.4", "MA0047.4"), 4, 60, 3000,
             46),
    PairCase("ctrl_random_spacing_foxa2_hnf4a", "validation", "random_spacing",
             ("MA0047.4", "MA0114.5"), 0, 60, 3000, 45),
    PairCase("ctrl_shuffled_labels_foxa2_hnf4a", "validation", "shuffled_labels",
             ("MA0047.4", "MA0114.5"), of="pair_foxa2_hnf4a_gap5"),
]


# -- building the sets -----------------------------------------------------------------------

def literal_matrix(consensus: str) -> np.ndarray:
    m = np.full((len(consensus), 4), 0.02)
    for i, b in enumerate(consensus):
        m[i, "ACGT".index(b)] = 0.94
    return m


def truth_matrices(ids: tuple[str, ...]) -> dict[str, np.ndarray]:
    from mhsa_bio.io.meme import read_meme

    jaspar = {m.id: m.probs for m in read_meme(JASPAR)} if any(
        not i.startswith("literal:") for i in ids) else {}
    return {i: literal_matrix(i.split(":", 1)[1]) if i.startswith("literal:") else jaspar[i]
            for i in ids}


def build(s: Set, d: Path, runs: Path) -> tuple[Path, Path | None, dict[str, list]]:
    """Write the set's positives (and negatives); returns them and planted sites per motif id
    as {id: [(seq id, start, end)]}."""
    d.mkdir(parents=True, exist_ok=True)
    b = s.build
    planted: dict[str, list] = defaultdict(list)
    pos = d / "pos.fa"
    neg = None
    if "fasta" in b:
        recs = [(i, q) for i, q in read_fasta(DATA / b["fasta"]) if len(q) >= 20]
        if "first" in b:
            recs = recs[: b["first"]]
        write_fasta(pos, recs)
    elif "talgata" in b:
        rows = list(csv.DictReader(gzip.open(DATA / "tfmodisco_simulated_tal_gata" /
                                             "sequences.simdata.gz", "rt"), delimiter="\t"))
        n = b["talgata"]
        keep = [r for c in ("gata_only", "tal1_only", "gata_tal1")
                for r in [x for x in rows if x["seqName"].startswith(c)][:n]]
        random.Random(0).shuffle(keep)
        empty = [r for r in rows if r["seqName"].startswith("empty")][: len(keep)]
        write_fasta(pos, [(r["seqName"], r["sequence"]) for r in keep])
        neg = write_fasta(d / "neg.fa", [(r["seqName"], r["sequence"]) for r in empty])
        for r in keep:
            for e in filter(None, r["embeddings"].split(",")):
                start = int(e.split("_")[0].split("-")[1])
                site = e.rsplit("-", 1)[1]
                key = "MA0035.5" if "GATA" in e else "MA0091.2"
                planted[key].append((r["seqName"], start, start + len(site)))
    elif "motifs" in b:
        sim = d / "sim"
        if not (sim / "truth.tsv").exists():
            sh([*CLI, "simulate", "--out", str(sim), "--n", str(b["n"]), "--length",
                str(b["length"]), "--motifs", b["motifs"], "--p-site", str(b["p_site"]),
                "--seed", str(b["seed"]), "--force"], d / "simulate.log")
        pos = sim / "promoters.fa"
        with open(sim / "truth.tsv") as handle:
            for r in csv.DictReader(handle, delimiter="\t"):
                planted[r["motif_id"]].append((r["sequence"], int(r["start"]), int(r["end"])))
    elif "shuffle_of" in b:
        from mhsa_bio.io.fasta import read_fasta as read_records
        from mhsa_bio.shuffle import shuffle_records

        src = next(x for x in PANEL if x.name == b["shuffle_of"])
        src_pos, _, _ = build(src, runs / src.name, runs)
        shuf = shuffle_records(read_records(src_pos), n_per=1, seed=99, suffix="null")
        write_fasta(pos, [(r.id, r.seq) for r in shuf])
    elif "labels_of" in b or "untrained_on" in b:
        src = next(x for x in PANEL if x.name == b.get("labels_of", b.get("untrained_on")))
        src_pos, _, _ = build(src, runs / src.name, runs)
        if "untrained_on" in b:
            return src_pos, None, planted
        from mhsa_bio.io.fasta import read_fasta as read_records
        from mhsa_bio.shuffle import shuffle_records

        recs = read_records(src_pos)
        both = [(r.id, r.seq) for r in recs] + [
            (r.id, r.seq) for r in shuffle_records(recs, n_per=1, seed=98, suffix="bg")]
        random.Random(0).shuffle(both)
        half = len(both) // 2
        write_fasta(pos, both[:half])
        neg = write_fasta(d / "neg.fa", both[half:])
    return pos, neg, planted


def untrained_checkpoint(path: Path, fasta: Path) -> Path:
    import torch

    from mhsa_bio.checkpoint import make_checkpoint, save_checkpoint
    from mhsa_bio.models.promoter import PromoterConfig, PromoterTransformer

    path.parent.mkdir(parents=True, exist_ok=True)
    longest = max(len(q) for _, q in read_fasta(fasta))
    torch.manual_seed(0)
    model = PromoterTransformer(PromoterConfig(max_len=longest))
    ckpt = make_checkpoint(model, model_type="promoter", config=model.config.to_dict(),
                           alphabet="ACGTN", classes=["background", "positive"],
                           provenance={"inputs": {"fasta": {"path": str(fasta.resolve()),
                                                            "sha256": ""}},
                                       "background": "shuffle"}, metrics={})
    save_checkpoint(ckpt, path)
    return path


# -- scoring ---------------------------------------------------------------------------------

def corr(a: np.ndarray, b: np.ndarray) -> float:
    from mhsa_bio.motifs.cluster import similarity

    return similarity(a, b, min_overlap=min(6, a.shape[0], b.shape[0]))


def best_rank(found: list[np.ndarray], truth: np.ndarray) -> tuple[int | None, float]:
    """(1-based rank of the first motif at ≥ FOUND_CORR, or None; best correlation seen)."""
    cs = [corr(m, truth) for m in found]
    rank = next((i + 1 for i, c in enumerate(cs) if c >= FOUND_CORR), None)
    return rank, max(cs, default=float("nan"))


def site_scores(bed: Path, motif_id: str, planted: list) -> tuple[float, float]:
    """Recall of planted sites and precision of the reported sites of ``motif_id``."""
    rows = [ln.split("\t") for ln in bed.read_text().splitlines()]
    got = [(r[0], int(r[1]), int(r[2])) for r in rows if r[3] == motif_id]
    by_seq = defaultdict(list)
    for sid, a, b in planted:
        by_seq[sid].append((a, b))
    got_seq = defaultdict(list)
    for sid, a, b in got:
        got_seq[sid].append((a, b))

    def covered(a: int, b: int, others: list) -> bool:
        return any(min(b, y) - max(a, x) >= (b - a) / 2 for x, y in others)

    recall = np.mean([covered(a, b, got_seq[sid]) for sid, a, b in planted]) if planted \
        else float("nan")
    precision = np.mean([any(min(b, y) - max(a, x) >= min(b - a, y - x) / 2
                             for x, y in by_seq[sid]) for sid, a, b in got]) if got \
        else float("nan")
    return float(recall), float(precision)


def kmer_peer(pos: Path, neg: Path | None, truths: dict[str, np.ndarray]) -> tuple[str, float]:
    from mhsa_bio.io.fasta import read_fasta as read_records
    from mhsa_bio.shuffle import shuffle_records

    start = time.perf_counter()
    recs = read_records(pos)
    bg = [r.seq for r in (read_records(neg) if neg else
                          shuffle_records(recs, n_per=1, seed=1_000_003))]
    top = kmer_baseline([r.seq for r in recs], bg, k=8, top=TOP)
    secs = time.perf_counter() - start
    cell, _ = peer_cell([literal_matrix(k) for k, _ in top], truths)
    words = ",".join(k for k, _ in top)
    return f"{cell} [{words}]", secs


def peer_cell(mats: list[np.ndarray], truths: dict[str, np.ndarray]) -> tuple[str, list[bool]]:
    """A peer's ranked matrices scored against each truth matrix (``best_rank``): the table
    cell and, per truth, whether it is in the top ``TOP``."""
    parts, top3 = [], []
    for tid, t in truths.items():
        rank, c = best_rank(mats, t)
        where = f"rank {rank}{'' if rank <= TOP else f' (not top {TOP})'}" if rank else "no"
        parts.append(f"{tid}: {where} (r {c:.2f})")
        top3.append(bool(rank and rank <= TOP))
    return "; ".join(parts) or "n/a", top3


# modisco-lite's settings, fixed before any panel run and not tuned on it: its ``modisco motifs``
# defaults (seqlet FDR 0.05, 2 Leiden runs), with a 15 bp seqlet core, 5 bp flanks and patterns
# trimmed to 20 bp + 5 bp flanks, so that a seqlet (25 bp) and a pattern (30 bp) fit the panel's
# 60 bp windows; at most 5,000 positive seqlets (the first ones, by sequence order).
MODISCO = {"sliding_window_size": 15, "flank_size": 5, "trim_to_window_size": 20,
           "initial_flank_to_add": 5, "final_flank_to_add": 0, "target_seqlet_fdr": 0.05,
           "n_leiden_runs": 2, "max_seqlets_per_metacluster": 5000}
MODISCO_TRIM = 0.3  # modisco-lite's report: PPM columns from the first to the last whose
# summed |contribution| is >= 0.3 x the pattern's largest


def modisco_inputs(hypothetical: list[np.ndarray], seqs: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """TF-MoDISco's inputs: one-hot (N, L, 4) and hypothetical contributions (N, L, 4), L the
    longest sequence; zero past each sequence's end, and a zero one-hot row at N."""
    from mhsa_bio.alphabet import encode_batch

    tokens, _ = encode_batch(seqs)
    one_hot = np.eye(6, 4, dtype=np.float32)[tokens]  # tokens 4 (N) and 5 (padding): zero rows
    hyp = np.zeros_like(one_hot)
    for i, h in enumerate(hypothetical):
        hyp[i, : len(h)] = h
    return one_hot, hyp


def modisco_patterns(patterns: list[Any] | None, trim: float = MODISCO_TRIM
                     ) -> list[tuple[np.ndarray, int]]:
    """(PPM, number of seqlets) of each TF-MoDISco pattern, most seqlets first (ties in
    modisco's order), the PPM trimmed to the columns from the first to the last whose summed
    |contribution| (``contrib_scores``) is ≥ ``trim`` × the largest."""
    out = []
    for p in patterns or []:
        score = np.abs(np.asarray(p.contrib_scores)).sum(1)
        keep = np.flatnonzero(score >= trim * score.max())
        out.append((np.asarray(p.sequence)[keep[0]: keep[-1] + 1], len(p.seqlets)))
    return sorted(out, key=lambda x: -x[1])


def modisco_peer(model_path: Path, pos: Path, truths: dict[str, np.ndarray], *, threads: int
                 ) -> dict[str, Any]:
    """TF-MoDISco on the model's integrated gradients over the positives, scored like the
    other peers; the row's modisco columns."""
    if importlib.util.find_spec("modiscolite") is None:
        return {"modisco_peer": "skipped: modisco-lite not installed (pip install -e '.[peers]')"}
    import numba
    import torch
    from modiscolite.tfmodisco import TFMoDISco

    from mhsa_bio.attribution import gradient_x_input
    from mhsa_bio.checkpoint import load_model
    from mhsa_bio.io.fasta import read_fasta as read_records

    torch.set_num_threads(threads)
    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    start = time.perf_counter()
    model, _ = load_model(model_path)
    recs = read_records(pos)
    hyp = gradient_x_input(model, recs, hypothetical=True)
    try:
        patterns, _ = TFMoDISco(*modisco_inputs(hyp, [r.seq for r in recs]), **MODISCO)
    except Exception as err:  # a peer that fails on a set is a result of the row, not a crash
        return {"modisco_peer": f"modisco-lite failed: {type(err).__name__}: {err}",
                "modisco_peer_s": round(time.perf_counter() - start, 1),
                "modisco_top3": [False] * len(truths), "modisco_n": None}
    found = modisco_patterns(patterns)
    secs = time.perf_counter() - start
    cell, top3 = peer_cell([m for m, _ in found], truths)
    sizes = ",".join(str(n) for _, n in found[:5]) + (",..." if len(found) > 5 else "")
    return {"modisco_peer": f"{len(found)} patterns [seqlets {sizes or '-'}]; {cell}",
            "modisco_peer_s": round(secs, 1), "modisco_top3": top3, "modisco_n": len(found)}


def run_set(s: Set, runs: Path, *, quick: bool, threads: int, train_args: tuple[str, ...] = (),
            motif_args: tuple[str, ...] = (), peers: bool = True) -> dict[str, Any]:
    from mhsa_bio.io.meme import read_meme

    d = runs / s.name
    row: dict[str, Any] = {"set": s.name, "half": s.half, "kind": s.kind}
    if "skip" in s.build:
        return {**row, "result": f"skipped: {s.build['skip']}"}
    pos, neg, planted = build(s, d, runs)
    n = sum(1 for _ in read_fasta(pos))
    row["n"] = n
    model = d / "model" / "model.pt"
    t_train = 0.0
    if "untrained_on" in s.build:
        untrained_checkpoint(model, pos)
    elif not model.exists():
        args = [*CLI, "train", str(pos), "--out", str(d / "model"), "--threads", str(threads),
                "--seed", "1", "--force"] + (["--epochs", "10"] if quick else []) + list(train_args)
        if neg is not None:
            args += ["--negatives", str(neg)]
        t_train = float(sh(args, d / "train.log"))
    metrics = json.loads((d / "model" / "metrics.json").read_text()) \
        if (d / "model" / "metrics.json").exists() else {}
    row["val_auroc"] = round(metrics.get("auroc", float("nan")), 3)
    out = d / "motifs"
    command = [*CLI, "motifs", "--model", str(model), str(pos), "--out", str(out),
               "--force", "--threads", str(threads), *motif_args]
    if neg is not None:
        command += ["--background", str(neg)]
    t_motifs = float(sh(command, d / "motifs.log"))
    record = json.loads((out / "run.json").read_text())["result"]
    row["result"] = record.get("result", "")
    found = read_meme(out) if (out / "motifs.meme").exists() and \
        (out / "motifs.meme").read_text().count("MOTIF") else []
    mats = [m.probs for m in found]
    truths = truth_matrices(s.truth)
    per = []
    recalls = []
    for tid, t in truths.items():
        rank, c = best_rank(mats, t)
        cell = f"{tid}: {'rank ' + str(rank) if rank else 'not found'} (r {c:.2f})"
        if rank and planted.get(tid):
            rec, prec = site_scores(out / "sites.bed", found[rank - 1].id, planted[tid])
            recalls.append((rec, prec))
            cell += f", sites recall {rec:.2f} precision {prec:.2f}"
        elif planted.get(tid):
            recalls.append((0.0, float("nan")))
        per.append(cell)
        row.setdefault("top3", []).append(bool(rank and rank <= TOP))
    row["n_motifs"] = record.get("n_motifs", 0)
    row["truth"] = "; ".join(per) if per else f"{len(found)} motifs (null: should be 0)"
    row["recall_precision"] = recalls
    row["score_path"] = record.get("score_path", "")
    row["time_s"] = f"train {t_train:.0f} + motifs {t_motifs:.0f}"
    if not peers:
        return row
    row["kmer_peer"], peer_s = kmer_peer(pos, neg, truths) if truths else ("n/a", 0.0)
    row["kmer_peer_s"] = round(peer_s, 1)
    row.update(modisco_peer(model, pos, truths, threads=threads))
    return row


def summary(rows: list[dict[str, Any]], half: str) -> str:
    sets = [r for r in rows if r["half"] == half and r.get("kind") in ("real", "sim")
            and "top3" in r]
    hits = [all(r["top3"]) for r in sets]
    sim = [rp for r in rows if r["half"] == half and r.get("kind") == "sim"
           for rp in r.get("recall_precision", [])]
    med = float(np.median([rp[0] for rp in sim])) if sim else float("nan")
    prec = [rp[1] for rp in sim if rp[1] == rp[1]]
    nulls = [r for r in rows if r["half"] == half and r.get("kind") == "null" and "n_motifs" in r]
    return (f"{half}: truth motif(s) in the top {TOP} on {sum(hits)}/{len(hits)} sets; "
            f"simulated sites: median recall {med:.2f}, precision median "
            f"{np.median(prec) if prec else float('nan'):.2f}; nulls with 0 motifs: "
            f"{sum(r['n_motifs'] == 0 for r in nulls)}/{len(nulls)}")


def modisco_summary(rows: list[dict[str, Any]], half: str) -> str:
    """The modisco-lite peer's line: truth in its top 3, patterns on the nulls."""
    sets = [r for r in rows if r["half"] == half and r.get("kind") in ("real", "sim")
            and "modisco_top3" in r]
    nulls = [r for r in rows if r["half"] == half and r.get("kind") == "null" and "modisco_n" in r]
    if not sets and not nulls:
        return f"{half}: modisco-lite peer not run"
    return (f"{half}: modisco-lite peer: truth motif(s) in its top {TOP} on "
            f"{sum(all(r['modisco_top3']) for r in sets)}/{len(sets)} sets; nulls with 0 "
            f"patterns: {sum(r['modisco_n'] == 0 for r in nulls)}/{len(nulls)}")


# -- the pair panel -----------------------------------------------------------------------------

def pair_inputs(c: PairCase, runs: Path) -> tuple[Path, Path, Path | None]:
    """Positives, negatives and the truth table (None for shuffled labels) of a pair case."""
    d = runs / "pairs" / c.name
    sim = d / "sim"
    if c.kind == "shuffled_labels":
        src = next(x for x in PAIRS if x.name == c.of)
        src_pos, src_neg, _ = pair_inputs(src, runs)
        both = read_fasta(src_pos) + read_fasta(src_neg)
        random.Random(c.seed).shuffle(both)
        d.mkdir(parents=True, exist_ok=True)
        half = len(both) // 2
        return (write_fasta(d / "pos.fa", both[:half]), write_fasta(d / "neg.fa", both[half:]),
                None)
    if not (sim / "truth.tsv").exists():
        d.mkdir(parents=True, exist_ok=True)
        what = (["--pair", ",".join(c.motifs), "--spacing", str(c.gap), "--orientation", "++",
                 "--pair-negatives", "spacing"] if c.kind == "pair" else
                ["--motifs", ",".join(c.motifs), "--p-site", "1"])
        sh([*CLI, "simulate", "--out", str(sim), *what, "--length", str(c.length), "--n",
            str(c.n), "--seed", str(c.seed), "--force"], d / "simulate.log")
    return sim / "promoters.fa", sim / "background.fa", sim / "truth.tsv"


def read_tsv(path: Path) -> list[dict[str, str]]:
    with open(path) as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def planted_spacing(pairs_dir: Path, truth: Path, a: str, b: str) -> tuple[float | None, str]:
    """The planted spacing as found motifs ``a`` and ``b`` see it: the median centre(b) -
    centre(a) (the ``pairs`` rules: doubled centre start + end - 1, a palindrome's core shift)
    over positives where a site of ``a`` covers one planted motif's site and a site of ``b``
    the other's. Also which planted motifs a and b stand for, as "A/B"."""
    planted = defaultdict(list)
    for r in read_tsv(truth):
        planted[r["sequence"]].append((r["motif_id"], int(r["start"]), int(r["end"])))
    pal = json.loads((pairs_dir / "summary.json").read_text()).get("palindromes", {})

    def covers(x0: int, x1: int, y0: int, y1: int) -> bool:
        return min(x1, y1) - max(x0, y0) >= min(x1 - x0, y1 - y0) / 2

    def centre2(r: dict[str, str]) -> int:
        c = int(r["start"]) + int(r["end"]) - 1
        d = int(pal.get(r["motif"], 0))
        return c + (d if r["strand"] == "+" else -d)

    by_seq = defaultdict(list)
    for r in read_tsv(pairs_dir / "sites.tsv"):
        if r["sequence"] in planted and r["motif"] in (a, b):
            by_seq[r["sequence"]].append(r)
    spacings, roles = [], defaultdict(int)
    def hit(sid: str, motif: str) -> list[tuple[str, dict[str, str]]]:
        return [(pid, r) for r in by_seq[sid] if r["motif"] == motif
                for pid, p0, p1 in planted[sid] if covers(int(r["start"]), int(r["end"]), p0, p1)]

    for sid in list(by_seq):
        for pa, ra in hit(sid, a):
            for pb, rb in hit(sid, b):
                if pa != pb:
                    spacings.append((centre2(rb) - centre2(ra)) / 2)
                    roles[f"{pa}/{pb}"] += 1
    if not spacings:
        return None, ""
    return float(np.median(spacings)), max(roles, key=roles.__getitem__)


def stands_for(found: list[Any], truths: dict[str, Any]) -> dict[str, tuple[str, float]]:
    """Which found motif (or part of a split composite motif) stands for each truth motif:
    {truth name: (found id, column r)} by the highest column correlation."""
    out = {}
    for t in truths.values():
        best = max(((corr(f.probs, t.probs), f.id) for f in found), default=(float("nan"), "-"))
        out[t.name] = (best[1], best[0])
    return out


def run_pair_case(c: PairCase, runs: Path, *, threads: int, reuse_motifs: bool = False,
                  train_args: tuple[str, ...] = ()) -> dict[str, Any]:
    from mhsa_bio.io.meme import read_meme
    from mhsa_bio.simulate import load_jaspar_motifs

    d = runs / "pairs" / c.name
    row: dict[str, Any] = {"case": c.name, "half": c.half, "kind": c.kind, "gap": c.gap or ""}
    pos, neg, truth = pair_inputs(c, runs)
    model = d / "model" / "model.pt"
    t_train = 0.0
    if not model.exists():
        t_train = float(sh([*CLI, "train", str(pos), "--negatives", str(neg), "--out",
                            str(d / "model"), "--threads", str(threads), "--seed", "1",
                            "--force", *train_args], d / "train.log"))
    row["val_auroc"] = round(json.loads((d / "model" / "metrics.json").read_text())["auroc"], 3)
    t_motifs = 0.0
    if not (reuse_motifs and (d / "motifs" / "run.json").exists()):
        t_motifs = float(sh([*CLI, "motifs", "--model", str(model), "--background", "shuffle",
                             "--out", str(d / "motifs"), "--force", "--threads", str(threads)],
                            d / "motifs.log"))
    rec = json.loads((d / "motifs" / "run.json").read_text())["result"]
    found = read_meme(d / "motifs") if rec.get("n_motifs") else []
    truths = {m.id: m for m in load_jaspar_motifs(list(c.motifs))}
    row["time_s"] = f"train {t_train:.0f} + motifs {t_motifs:.0f}"
    claimed = 0
    parts: list[Any] = []
    if found:
        t_pairs = float(sh([*CLI, "pairs", "--model", str(model), "--motifs", str(d / "motifs"),
                            "--out", str(d / "pairs"), "--force", "--threads", str(threads)],
                           d / "pairs.log"))
        row["time_s"] += f" + pairs {t_pairs:.0f}"
        # Composite motifs that pairs split: their parts stand for planted motifs too.
        splits = json.loads((d / "pairs" / "summary.json").read_text()).get("split_composites", [])
        row["split"] = "; ".join(f"{s['motif']} -> {'+'.join(s['parts'])} (columns "
                                 f"{', '.join(s['columns'])})" for s in splits) or "-"
        if (d / "pairs" / "parts.meme").exists():
            parts = read_meme(d / "pairs" / "parts.meme")
        rows = read_tsv(d / "pairs" / "pairs.tsv")
        claimed = sum(1 for r in rows if r["q"] != "NA" and float(r["q"]) < 0.05)
        top = rows[0] if rows else None
        if top:
            by_id = {m.id: m for m in found + parts}
            named = []
            for key in ("motif_a", "motif_b"):
                m = by_id.get(top[key])
                if m is not None:
                    r, t = max((corr(m.probs, t.probs), t.name) for t in truths.values())
                    named.append(f"{top[key]}~{t} r {r:.2f}")
            row["top"] = (f"{top['name_a']}-{top['name_b']} {top['spacing']} "
                          f"{top['orientation']} n {top['n_sequences']} q {top['q']} "
                          f"({', '.join(named)})")
        if top and truth is not None and c.kind == "pair":
            want, roles = planted_spacing(d / "pairs", truth, top["motif_a"], top["motif_b"])
            row["planted_as_seen"] = "" if want is None else f"{roles} {want:g}"
            row["top_at_1bp"] = bool(want is not None and abs(float(top["spacing"]) - want) <= 1
                                     and len(set(roles.split("/"))) == 2)
            row["pass"] = row["top_at_1bp"] and float(top["q"]) < 0.05
    else:
        row["top"] = f"no motifs: {rec.get('result', '')}"
    row["motifs"] = f"{rec.get('n_motifs', 0)} motifs; " + "; ".join(
        f"{name} r {r:.2f} ({fid})" for name, (fid, r) in stands_for(found + parts, truths).items())
    row["claimed_q05"] = claimed
    if c.kind != "pair":
        row["pass"] = claimed == 0
    row.setdefault("pass", False)
    return row


def pair_panel(args: argparse.Namespace) -> None:
    names = list(filter(None, args.sets.split(",")))
    chosen = [c for c in PAIRS if args.half in ("all", c.half) and (not names or c.name in names)]
    if names:
        chosen.sort(key=lambda c: names.index(c.name))
    cols = ["case", "half", "kind", "gap", "val_auroc", "motifs", "split", "top", "planted_as_seen",
            "top_at_1bp", "claimed_q05", "pass", "time_s"]
    (args.runs / "pairs").mkdir(parents=True, exist_ok=True)
    rows = []
    print("\t".join(cols), flush=True)
    for c in chosen:
        rows.append(run_pair_case(c, args.runs, threads=args.threads,
                                  reuse_motifs=args.reuse_motifs,
                                  train_args=tuple(args.train_args.split())))
        print("\t".join(str(rows[-1].get(k, "")) for k in cols), flush=True)
        with open(args.runs / "pairs" / "pairs.tsv", "w") as handle:
            handle.write("\t".join(cols) + "\n")
            handle.writelines("\t".join(str(r.get(k, "")) for k in cols) + "\n" for r in rows)
    for half in ("tuning", "validation"):
        got = [r for r in rows if r["half"] == half]
        planted = [r for r in got if r["kind"] == "pair"]
        ctrl = [r for r in got if r["kind"] != "pair"]
        if got:
            print(f"{half}: planted pair top at +-1 bp on "
                  f"{sum(bool(r.get('top_at_1bp')) for r in planted)}/{len(planted)} cases, "
                  f"and claimed there (q < 0.05) on {sum(r['pass'] for r in planted)}; "
                  f"controls claiming nothing: "
                  f"{sum(r['pass'] for r in ctrl)}/{len(ctrl)}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=Path, default=Path("runs/panel"))
    ap.add_argument("--quick", action="store_true", help="the sets marked quick, 10 epochs")
    ap.add_argument("--half", default="all", choices=["tuning", "validation", "all"])
    ap.add_argument("--sets", default="", help="comma-separated set names, run in that order "
                    "(default: all, in panel order)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--pairs", action="store_true", help="the pair panel (PAIRS) instead")
    ap.add_argument("--train-args", default="", help="more `mhsa-bio train` options for every "
                    "set (or pair case with --pairs), e.g. '--dropout 0.1': a candidate default, "
                    "measured on the tuning half (in its own --runs folder) before it becomes one")
    ap.add_argument("--motif-args", default="", help="more `mhsa-bio motifs` options for every "
                    "set, e.g. '--seqlet-fdr 0.1': a candidate default, measured on the tuning "
                    "half before it becomes one")
    ap.add_argument("--no-peers", action="store_true", help="skip the k-mer and modisco-lite "
                    "peers (a candidate's run beside a full run that has them)")
    ap.add_argument("--reuse-motifs", action="store_true",
                    help="--pairs: keep RUNS/pairs/<case>/motifs when it is there (rerun only "
                    "pairs; models are always reused)")
    args = ap.parse_args()
    if args.pairs:  # simulated only: needs no ../shared/data
        pair_panel(args)
        return
    if not DATA.exists():
        print(f"skipped: {DATA} is not here (the benchmarks read ../shared/data)")
        return
    names = list(filter(None, args.sets.split(",")))
    chosen = [s for s in PANEL if (args.half in ("all", s.half)) and (not names or s.name in names)
              and (s.quick or not args.quick)]
    if names:  # in the order given
        chosen.sort(key=lambda s: names.index(s.name))
    args.runs.mkdir(parents=True, exist_ok=True)
    rows = []
    cols = ["set", "half", "kind", "n", "val_auroc", "n_motifs", "truth", "score_path",
            "kmer_peer", "kmer_peer_s", "modisco_peer", "modisco_peer_s", "time_s", "result"]
    print("\t".join(cols), flush=True)
    for s in chosen:
        row = run_set(s, args.runs, quick=args.quick, threads=args.threads,
                      train_args=tuple(args.train_args.split()),
                      motif_args=tuple(args.motif_args.split()), peers=not args.no_peers)
        rows.append(row)
        print("\t".join(str(row.get(c, "")) for c in cols), flush=True)
        with open(args.runs / "panel.tsv", "w") as handle:
            handle.write("\t".join(cols) + "\n")
            for r in rows:
                handle.write("\t".join(str(r.get(c, "")) for c in cols) + "\n")
    for half in ("tuning", "validation"):
        if any(r["half"] == half for r in rows):
            print(summary(rows, half), flush=True)
            print(modisco_summary(rows, half), flush=True)


if __name__ == "__main__":
    main()
