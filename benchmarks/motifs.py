"""Benchmark of ``mhsa-bio motifs`` on ../shared/data, side by side with an 8-mer enrichment
finder (implemented here) and glam2 (when installed).

    python benchmarks/motifs.py --runs runs/bench [--quick] [--parts talgata,rest,ecoli,mouse,
        controls,speed]

Each part trains a model with ``mhsa-bio train`` (skipped when RUNS/<part>/model.pt exists),
runs ``mhsa-bio motifs`` and scores the result against the known truth; a table is printed and
written to RUNS/benchmark.tsv. Re-runnable: finished training runs are reused.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import math
import os
import random
import resource
import shutil
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
from _common import SHARED_DATA, run_worker, shared

DATA = SHARED_DATA / "motifs"
CLI = [sys.executable, "-c", "from mhsa_bio.cli.main import app; app()"]
ROWS: list[dict[str, str]] = []
GLAM2 = True  # --no-glam2 skips it (it reads the positives only, no model)
EPOCHS = {"ecoli": {False: 30, True: 8}, "mouse": {False: 15, True: 4}}  # full, --quick


def report(part: str, metric: str, mhsa: object, kmer: object = "", glam2: object = "",
           target: str = "") -> None:
    row = {"part": part, "metric": metric, "mhsa-bio": str(mhsa), "8-mer": str(kmer),
           "glam2": str(glam2), "target": target}
    ROWS.append(row)
    print("\t".join(row.values()), flush=True)


class Seconds(float):
    """Wall seconds of a child command, printed with its CPU seconds (user + sys)."""

    cpu: float = 0.0

    def __format__(self, spec: str) -> str:
        return f"{float(self):{spec}} wall, {self.cpu:{spec}} CPU"


def sh(args: list[str], log: Path) -> Seconds:
    start = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(log, "w") as handle:
        subprocess.run(args, check=True, stdout=handle, stderr=subprocess.STDOUT)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    secs = Seconds(time.perf_counter() - start)
    secs.cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return secs


def write_fasta(path: Path, records: list[tuple[str, str]]) -> Path:
    path.write_text("".join(f">{i}\n{s}\n" for i, s in records))
    return path


def read_fasta(path: Path) -> list[tuple[str, str]]:
    """(id, sequence) pairs; repeated ids (the mouse non-promoter file has some) get _2, _3."""
    out: list[tuple[str, str]] = []
    for line in path.read_text().splitlines():
        if line.startswith(">"):
            out.append((line[1:].split()[0], ""))
        elif out:
            out[-1] = (out[-1][0], out[-1][1] + line.strip().upper())
    seen: Counter[str] = Counter()
    unique = []
    for i, s in out:
        seen[i] += 1
        unique.append((i if seen[i] == 1 else f"{i}_{seen[i]}", s))
    return unique


def train(run: Path, pos: Path, neg: Path | None, epochs: int, threads: int) -> Path:
    model = run / "model.pt"
    if not model.exists():
        args = [*CLI, "train", str(pos), "--out", str(run), "--epochs", str(epochs),
                "--threads", str(threads), "--force"]
        if neg is not None:
            args += ["--negatives", str(neg)]
        secs = sh(args, run.parent / f"{run.name}.train.log")
        print(f"# trained {run.name} in {secs:.0f} s", file=sys.stderr)
    return model


def motifs(model: Path, out: Path, extra: list[str], threads: int
           ) -> tuple[list[dict], Seconds]:
    secs = sh([*CLI, "motifs", "--model", str(model), "--out", str(out), "--force",
               "--threads", str(threads), *extra], out.parent / f"{out.name}.log")
    with open(out / "motifs.tsv") as handle:
        return list(csv.DictReader(handle, delimiter="\t")), secs


def matched(rows: list[dict], names: tuple[str, ...], *, top: int = 3) -> str:
    """Best (rank, target, q) among motifs whose top-``top`` matches name one of ``names``."""
    for rank, row in enumerate(rows, 1):
        for k, m in enumerate(row["matches"].split(";")[:top]):
            words = m.split()
            if len(words) >= 3 and any(n.upper() in words[1].upper() or words[0].startswith(n)
                                       for n in names):
                q = float(words[-1].split("=")[1])
                return f"M{rank} {words[0]} {words[1]} q={q:.2g} (match #{k + 1})"
    return "not found"


# --- 8-mer enrichment baseline ------------------------------------------------------------

def _canon(k: str) -> str:
    rc = k.translate(str.maketrans("ACGT", "TGCA"))[::-1]
    return min(k, rc)


def kmer_baseline(pos: list[str], bg: list[str], *, k: int = 8, top: int = 3
                  ) -> list[tuple[str, float]]:
    """Top canonical k-mers by one-sided Fisher p (presence per sequence), with BH q."""
    from scipy.stats import hypergeom

    def presence(seqs: list[str]) -> Counter[str]:
        c: Counter[str] = Counter()
        for s in seqs:
            c.update({_canon(s[i:i + k]) for i in range(len(s) - k + 1) if "N" not in s[i:i + k]})
        return c

    cp, cb = presence(pos), presence(bg)
    n, m = len(pos), len(bg)
    scored = [(float(hypergeom.sf(a - 1, n + m, a + cb[key], n)), key) for key, a in cp.items()]
    scored.sort()
    q = [p * len(scored) / (i + 1) for i, (p, _) in enumerate(scored)]
    return [(key, min(1.0, min(q[i:i + 50]))) for i, (_, key) in enumerate(scored[:top])]


def kmer_hits(kmers: list[tuple[str, float]], motif: str) -> str:
    """Which top k-mers contain ``motif`` (or its reverse complement), with q."""
    rc = motif.translate(str.maketrans("ACGT", "TGCA"))[::-1]
    parts = [f"{k}{'*' if motif in k or rc in k else ''} q={q:.1g}" for k, q in kmers]
    return "; ".join(parts)


def glam2(pos: list[tuple[str, str]], out: Path, *, width: int = 10, n: int = 500,
          both: bool = True) -> str:
    """Consensus of glam2's best motif on the first ``n`` positives (or why there is none)."""
    exe = shutil.which("glam2")
    if not GLAM2:
        return "skipped (--no-glam2)"
    if exe is None:
        return "not installed"
    fa = write_fasta(out.with_suffix(".fa"), pos[:n])
    args = [exe, "-o", str(out), "-r", "3", "-n", "2000", "-w", str(width)]
    start = time.perf_counter()
    try:
        subprocess.run(args + (["-2"] if both else []) + ["n", str(fa)], check=True,
                       capture_output=True, timeout=900)
    except (subprocess.SubprocessError, OSError) as exc:
        return f"failed: {type(exc).__name__}"
    secs = time.perf_counter() - start
    rows = []
    for line in out.read_text().splitlines():
        w = line.split()
        if rows and not w:
            break
        if len(w) == 6 and w[4] in "+-" and w[1].isdigit():
            rows.append(w[2].upper())
    if not rows:
        return "no motif"
    cons = "".join(Counter(col).most_common(1)[0][0] for col in zip(*rows))
    return f"{cons.replace('.', '')} ({len(rows)} sites, {secs:.0f} s)"


# --- parts --------------------------------------------------------------------------------

def part_talgata(runs: Path, quick: bool, threads: int) -> None:
    rows = list(csv.DictReader(gzip.open(DATA / "tfmodisco_simulated_tal_gata" /
                                         "sequences.simdata.gz", "rt"), delimiter="\t"))
    rng = random.Random(0)
    n = 300 if quick else 700
    pos = []
    for cls in ("gata_only", "tal1_only", "gata_tal1"):
        pos += [r for r in rows if r["seqName"].startswith(cls)][:n]
    rng.shuffle(pos)
    neg = [r for r in rows if r["seqName"].startswith("empty")][: len(pos)]
    d = runs / "talgata"
    d.mkdir(parents=True, exist_ok=True)
    pf = write_fasta(d / "pos.fa", [(r["seqName"], r["sequence"]) for r in pos])
    nf = write_fasta(d / "neg.fa", [(r["seqName"], r["sequence"]) for r in neg])
    truth = defaultdict(list)
    for r in pos:
        for e in filter(None, r["embeddings"].split(",")):
            start = int(e.split("_")[0][4:])
            site = e.rsplit("-", 1)[1]
            truth[r["seqName"]].append((start, start + len(site), e.split("_", 1)[1]))
    model = train(d / "model", pf, nf, 4 if quick else 8, threads)
    res, secs = motifs(model, d / "motifs", ["--control", "shuffle"], threads)
    report("TAL/GATA", "GATA (JASPAR, top-3 match q<0.05)", matched(res, ("GATA",)))
    report("TAL/GATA", "TAL1 (JASPAR, top-3 match q<0.05)", matched(res, ("TAL1", "TCF",
                                                                          "TFAP4", "ASCL")))
    sites = [ln.split("\t") for ln in (d / "motifs" / "sites.bed").read_text().splitlines()]
    hit, dist = 0, []
    for s in sites:
        a, b = int(s[1]), int(s[2])
        best = max(((min(b, te) - max(a, ts)) / min(b - a, te - ts), abs((a + b - ts - te) / 2))
                   for ts, te, _ in truth[s[0]]) if truth[s[0]] else (0, math.inf)
        hit += best[0] >= 0.5
        if best[0] >= 0.5:
            dist.append(best[1])
    found = set()
    for s in sites:
        for ts, te, _ in truth[s[0]]:
            if (min(int(s[2]), te) - max(int(s[1]), ts)) / min(int(s[2]) - int(s[1]),
                                                                te - ts) >= 0.5:
                found.add((s[0], ts))
    n_truth = sum(len(v) for v in truth.values())
    report("TAL/GATA", "site precision (>=50% overlap)", f"{hit / max(1, len(sites)):.2f}")
    report("TAL/GATA", "site recall (>=50% overlap)", f"{len(found) / n_truth:.2f}")
    report("TAL/GATA", "median |site centre - truth| (bp)",
           f"{np.median(dist):.1f}" if dist else "-")
    km = kmer_baseline([r["sequence"] for r in pos], [r["sequence"] for r in neg])
    report("TAL/GATA", "best motifs (8-mer top 3 / glam2 top 1)", "",
           "; ".join(f"{k} q={q:.1g}" for k, q in km),
           glam2([(r["seqName"], r["sequence"]) for r in pos], d / "glam2.txt"))
    report("TAL/GATA", "motifs command time (s)", f"{secs:.0f}")


def part_rest(runs: Path, quick: bool, threads: int) -> None:
    d = runs / "rest"
    d.mkdir(parents=True, exist_ok=True)
    recs = [r for r in read_fasta(DATA / "extreme_nrsf" / "GM12878_NRSF_ChIP.fasta")
            if len(r[1]) >= 50]
    if quick:
        recs = recs[:1200]
    pf = write_fasta(d / "pos.fa", recs)
    model = train(d / "model", pf, None, 4 if quick else 8, threads)
    res, secs = motifs(model, d / "motifs", ["--control", "shuffle"], threads)
    report("REST ChIP", "REST MA0138 among top 3 matches, q<0.05", matched(res, ("MA0138",)))
    km = kmer_baseline([s for _, s in recs], _shuffled([s for _, s in recs]))
    report("REST ChIP", "best motifs (8-mer top 3 / glam2 top 1)", "",
           "; ".join(f"{k} q={q:.1g}" for k, q in km), glam2(recs, d / "glam2.txt", width=20))
    report("REST ChIP", "motifs command time (s)", f"{secs:.0f}")


def _shuffled(seqs: list[str]) -> list[str]:
    from mhsa_bio.io.fasta import Record
    from mhsa_bio.shuffle import shuffle_records

    return [r.seq for r in shuffle_records([Record(str(i), s) for i, s in enumerate(seqs)],
                                           seed=1_000_003)]


def _profile_peak(out: Path, lo: int, hi: int, width: int) -> str:
    """Where the mean attention over positives peaks: the single base, and the start of the
    ``width``-bp window (the box's width) with the most attention, to compare with the box's
    known start positions ``lo``–``hi``."""
    rows = list(csv.DictReader(open(out / "profile.tsv"), delimiter="\t"))
    prof = np.nan_to_num(np.array([float(r["positives"]) for r in rows]))
    start = int(np.argmax(np.convolve(prof, np.ones(width), "valid")))
    return (f"base {int(np.argmax(prof))}; {width}-bp window starting at {start} "
            f"(box starts {lo}-{hi}: {lo <= start <= hi})")


def _site_starts(out: Path, motif_id: str) -> str:
    sites = [ln.split("\t") for ln in (out / "sites.bed").read_text().splitlines()]
    starts = [int(s[1]) for s in sites if s[3] == motif_id]
    if not starts:
        return "-"
    q = np.percentile(starts, [25, 50, 75])
    return f"median {q[1]:.0f} (IQR {q[0]:.0f}-{q[2]:.0f})"


def part_promoters(runs: Path, quick: bool, threads: int, name: str) -> None:
    """sigma70 / TATA promoters: trained against dinucleotide shuffles (``mhsa-bio train``'s
    default background, composition-matched), so the model cannot win on GC/AT content alone;
    ``motifs`` then uses the same kind of background. The non-promoter set is used only for the
    8-mer baseline's second row."""
    if name == "ecoli":
        pos_f = DATA / "ecoli_promoters" / "CNNProm_Ecoli_prom.fa"
        neg_f = DATA / "ecoli_promoters" / "CNNProm_Ecoli_non_prom.fa"
        # a motif "holds" the box with 5 of its 6 bases (the box is degenerate: TAtAaT)
        boxes, window, label, motif = ("TATAA", "ATAAT"), (47, 49), "E. coli sigma70", "TATAAT"
    else:
        pos_f = DATA / "mouse_promoters" / "CNNProm_Mouse_tata.fa"
        neg_f = DATA / "mouse_promoters" / "CNNProm_Mouse_nonprom.fa"
        boxes, window, label, motif = ("TATA",), (165, 172), "mouse TATA", "TATAAA"
    d = runs / name
    d.mkdir(parents=True, exist_ok=True)
    pos_f = write_fasta(d / "pos.fa", read_fasta(pos_f))
    neg_f = write_fasta(d / "neg.fa", read_fasta(neg_f)[:3000])
    model = train(d / "model", pos_f, None, EPOCHS[name][quick], threads)
    for tag, extra in (("default", ["--control", "shuffle"]), ("scan", ["--enrichment", "scan"])):
        out = d / f"motifs_{tag}"
        res, secs = motifs(model, out, ["--taxon", "all", *extra], threads)
        hit = next((i for i, r in enumerate(res) for box in boxes
                    if box in r["consensus"].upper() or box in
                    r["consensus"].upper().translate(str.maketrans("ACGT", "TGCA"))[::-1]),
                   None)
        report(label, f"[{tag}] first motif holding {' or '.join(boxes)}",
               f"{res[hit]['id']} {res[hit]['consensus']} q={res[hit]['q_value']} "
               f"({res[hit]['evidence']}; {res[hit]['positives_with_site']}/"
               f"{res[hit]['n_positives']} vs {res[hit]['background_with_site']}/"
               f"{res[hit]['n_background']})"
               if hit is not None else f"not found ({len(res)} motifs)")
        if hit is not None:
            report(label, f"[{tag}] site starts (truth {window[0]}-{window[1]})",
                   _site_starts(out, res[hit]["id"]))
        report(label, f"[{tag}] all motifs", "; ".join(
            f"{r['consensus']} {r['evidence']} q={float(r['q_value']):.2g}" for r in res) or "-")
        if tag == "default":
            result = json.loads((out / "run.json").read_text())["result"]
            pp = result["positional_pass"]
            report(label, f"[{tag}] positional pass: attended window, held-out AUROC, p",
                   f"{pp['window'][0]}-{pp['window'][1] - 1}, {pp['held_out_auroc']:.3f}, "
                   f"{pp['held_out_p']:.2g}" if pp else "-")
            ctrl = result["control"]
            report(label, f"[{tag}] --control shuffle: motifs passing",
                   f"{ctrl['motifs_passing']} {' '.join(ctrl['consensus'])}", "", "", "0")
        report(label, f"[{tag}] motifs command time (s)", f"{secs:.0f}")
    report(label, "attention profile peak (0-based)", _profile_peak(d / "motifs_default",
                                                                    *window, len(motif)))
    pos = [s for _, s in read_fasta(pos_f)]
    for bg_name, bg in (("shuffles", _shuffled(pos)),
                        ("non-promoters", [s for _, s in read_fasta(neg_f)])):
        report(label, f"best motifs vs {bg_name} (8-mer top 3, * = holds {motif})", "",
               kmer_hits(kmer_baseline(pos, bg), motif))
    report(label, "glam2 top motif", "", "", glam2(read_fasta(pos_f), d / "glam2.txt",
                                                   both=False))


def part_controls(runs: Path, quick: bool, threads: int) -> None:
    """Untrained model and a model trained on shuffled labels: no motif should pass."""
    import torch

    from mhsa_bio.checkpoint import make_checkpoint, save_checkpoint
    from mhsa_bio.models.promoter import PromoterConfig, PromoterTransformer

    d = runs / "controls"
    d.mkdir(parents=True, exist_ok=True)
    src = runs / "talgata"
    if not (src / "pos.fa").exists():
        part_talgata(runs, quick, threads)
    pos, neg = read_fasta(src / "pos.fa"), read_fasta(src / "neg.fa")
    torch.manual_seed(0)
    model = PromoterTransformer(PromoterConfig(max_len=200))
    ck = make_checkpoint(model, model_type="promoter", config=model.config.to_dict(),
                         alphabet="ACGTN", classes=["background", "positive"],
                         provenance={"inputs": {}, "background": "negatives"}, metrics={})
    save_checkpoint(ck, d / "untrained.pt")
    res, _ = motifs(d / "untrained.pt", d / "untrained_motifs",
                    [str(src / "pos.fa"), "--background", str(src / "neg.fa"), "--no-match"],
                    threads)
    report("controls", "untrained model: motifs at q<0.05", len(res), "", "", "0")
    both = pos + neg
    random.Random(1).shuffle(both)
    half = len(both) // 2
    pf = write_fasta(d / "shuf_pos.fa", both[:half])
    nf = write_fasta(d / "shuf_neg.fa", both[half:])
    model_path = train(d / "shuffled_labels", pf, nf, 3 if quick else 6, threads)
    res, _ = motifs(model_path, d / "shuffled_label_motifs", ["--no-match"], threads)
    report("controls", "shuffled-label model: motifs at q<0.05", len(res), "", "", "0")
    ctrl = (runs / "talgata" / "motifs" / "run.json")
    if ctrl.exists():
        c = json.loads(ctrl.read_text())["result"]["control"]
        report("controls", "TAL/GATA --control shuffle: motifs passing",
               c.get("motifs_passing"), "", "", "0")


def speed_worker(n: int, threads: int) -> dict[str, float]:
    """``collect_attention`` over n × 300 bp, in heap mode unless ``MHSA_BIO_HEAP=0`` is set."""
    import torch

    from mhsa_bio.attention import collect_attention
    from mhsa_bio.io.fasta import Record
    from mhsa_bio.models.promoter import PromoterConfig, PromoterTransformer

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = PromoterTransformer(PromoterConfig(max_len=300)).eval()
    rng = np.random.default_rng(0)
    recs = [Record(f"s{i}", "".join(rng.choice(list("ACGT"), 300))) for i in range(n)]
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start, cpu = time.perf_counter(), time.process_time()
    scores = collect_attention(model, recs, batch_size=64)
    secs, cpu = time.perf_counter() - start, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"seconds": secs, "cpu": cpu, "before": before, "peak": peak,
            "checksum": float(sum(float(s.sum()) for s in scores.cls))}


def part_speed(runs: Path, quick: bool, threads: int) -> None:
    """Attention collection for N × 300 bp on CPU: time and peak RSS vs a dense N×H×L×L, with
    heap mode (``mhsa_bio.runtime.memory``, the default) and with glibc's mmap default, each in a fresh
    process so that its peak RSS is its own."""
    from mhsa_bio.models.promoter import PromoterConfig

    n = 1000 if quick else 10_000
    res = {}
    for heap in (False, True):
        cmd = [sys.executable, __file__, "--speed-worker", str(n), str(threads)]
        res[heap] = run_worker(cmd, env={**os.environ, "MHSA_BIO_HEAP": "1" if heap else "0"})
    if res[False]["checksum"] != res[True]["checksum"]:
        raise SystemExit("heap mode changed the attention scores")
    plain, heap = res[False], res[True]
    report("speed", f"collect attention {n} x 300 bp, CPU {threads} threads, glibc mmap default "
           "(s wall / s CPU)", f"{plain['seconds']:.0f} / {plain['cpu']:.0f}")
    report("speed", "same, heap mode (the default; s wall / s CPU; speed-up in wall time)",
           f"{heap['seconds']:.0f} / {heap['cpu']:.0f}; {plain['seconds'] / heap['seconds']:.2f}x")
    report("speed", "peak RSS (MiB), before -> after: mmap default / heap mode",
           f"{plain['before']:.0f} -> {plain['peak']:.0f} / {heap['before']:.0f} -> "
           f"{heap['peak']:.0f}")
    config = PromoterConfig(max_len=300)
    h, t = config.heads * config.layers, 301
    dense = n * h * t * t * 8 / 2**30
    dnabert = n * 12 * t * t * 8 / 2**30
    report("speed", "dense float64 N x H x L x L of this model (GiB)", f"{dense:.1f}")
    report("speed", "DNABERT-viz float64 N x 12 x L x L (GiB)", f"{dnabert:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=Path, default=Path("runs/bench_motifs"))
    parser.add_argument("--quick", action="store_true", help="smaller sets, fewer epochs")
    parser.add_argument("--parts", default="talgata,rest,ecoli,mouse,controls,speed")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-glam2", action="store_true", help="skip glam2 in every part")
    parser.add_argument("--speed-worker", nargs=2, type=int, metavar=("N", "THREADS"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.speed_worker:
        print(json.dumps(speed_worker(*args.speed_worker)))
        return
    global GLAM2
    GLAM2 = not args.no_glam2
    if set(args.parts.split(",")) - {"speed"}:
        shared("motifs")  # exits 0 with a note when ../shared/data is not here
    args.runs.mkdir(parents=True, exist_ok=True)
    print("part\tmetric\tmhsa-bio\t8-mer\tglam2\ttarget")
    for part in args.parts.split(","):
        if part == "talgata":
            part_talgata(args.runs, args.quick, args.threads)
        elif part == "rest":
            part_rest(args.runs, args.quick, args.threads)
        elif part in ("ecoli", "mouse"):
            part_promoters(args.runs, args.quick, args.threads, part)
        elif part == "controls":
            part_controls(args.runs, args.quick, args.threads)
        elif part == "speed":
            part_speed(args.runs, args.quick, args.threads)
        else:
            raise SystemExit(f"unknown part {part}")
    with open(args.runs / "benchmark.tsv", "w") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(ROWS[0]), delimiter="\t")
        writer.writeheader()
        writer.writerows(ROWS)


if __name__ == "__main__":
    main()
