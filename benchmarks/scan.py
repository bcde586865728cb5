"""Genome scanning speed and peak memory: synthetic chromosomes of growing size, both strands.

Each size is scanned in a fresh subprocess (``mhsa_bio.genome_scan.scan_genome``, the code behind
``mhsa-bio scan``), so peak memory (ru_maxrss) belongs to that scan alone; memory should stay
flat as the chromosome grows, since windows are read and scored chunk by chunk. The model is the
default promoter model (2 layers, 4 heads, d 64, window 300 bp), untrained: speed does not depend
on the weights.

``--baseline`` also scans each size with glibc's allocation defaults (``MHSA_BIO_HEAP=0``)
and prints the speed-up of heap mode (``mhsa_bio.runtime.memory``, the default on the CPU).

Usage: python benchmarks/scan.py [--sizes 1,10] [--step 75] [--threads 2] [--device cpu]
       [--baseline]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from _common import peak_rss_mb, run_worker, table


def make_chromosome(path: Path, megabases: float, *, seed: int = 0) -> int:
    """Write a random chromosome (``chrS``) as 60-column FASTA, streaming; returns its length."""
    import numpy as np

    rng = np.random.default_rng(seed)
    length = int(megabases * 1_000_000)
    letters = np.frombuffer(b"ACGT", dtype=np.uint8)
    with open(path, "wb") as handle:
        handle.write(b">chrS synthetic\n")
        for start in range(0, length, 600_000):  # 10,000 lines at a time
            n = min(600_000, length - start)
            block = letters[rng.integers(0, 4, n)]
            full = n - n % 60
            lines = block[:full].reshape(-1, 60)
            handle.write(np.hstack([lines, np.full((lines.shape[0], 1), 10, np.uint8)]).tobytes())
            if full < n:
                handle.write(block[full:].tobytes() + b"\n")
    return length


def current_rss_mb() -> float:
    """Resident memory now (Linux /proc), in MB."""
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def worker(genome: str, model_path: str, args: argparse.Namespace) -> dict[str, float]:
    import torch

    from mhsa_bio.checkpoint import load_model
    from mhsa_bio.genome_scan import ScanConfig, scan_genome

    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    model, _ = load_model(model_path, device=device)
    config = ScanConfig(window=model.config.max_len, step=args.step, batch_size=args.batch)
    before = peak_rss_mb()
    samples: list[float] = []
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        summary = scan_genome(model, genome, Path(out), config=config, device=device,
                              on_chunk=lambda *_: samples.append(current_rss_mb()))
        seconds = time.perf_counter() - start
    peak = torch.cuda.max_memory_allocated() / 2**20 if device.type == "cuda" else peak_rss_mb()
    return {"bases": summary.bases, "windows": summary.windows, "seconds": seconds,
            "peak_mb": peak, "rss_before_mb": before,
            "rss_chunks_mb": [min(samples), max(samples)] if samples else [0.0, 0.0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,10", help="chromosome sizes in Mb")
    parser.add_argument("--step", type=int, default=75, help="bp between windows (window / 4)")
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--dim", type=int, default=64, help="model width (64 = default model)")
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--baseline", action="store_true",
                        help="also scan with glibc's defaults (MHSA_BIO_HEAP=0), print the ratio")
    parser.add_argument("--worker", nargs=2, metavar=("GENOME", "MODEL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker[0], args.worker[1], args)))
        return
    import torch

    from mhsa_bio.checkpoint import make_checkpoint, save_checkpoint
    from mhsa_bio.models.promoter import PromoterConfig, PromoterTransformer

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        torch.manual_seed(0)
        config = PromoterConfig(dim=args.dim, layers=args.layers)
        model_path = Path(tmp) / "model.pt"
        save_checkpoint(make_checkpoint(PromoterTransformer(config), model_type="promoter",
                                        config=config.to_dict(), alphabet="ACGTN",
                                        classes=["background", "positive"], provenance={},
                                        metrics={}), model_path)
        for size in (float(s) for s in args.sizes.split(",")):
            genome = Path(tmp) / f"chr_{size:g}Mb.fa"
            make_chromosome(genome, size)
            cmd = [sys.executable, __file__, "--worker", str(genome), str(model_path),
                   "--step", str(args.step), "--batch", str(args.batch),
                   "--threads", str(args.threads), "--device", args.device]
            heap_s = None
            for mode in ("heap", "glibc default") if args.baseline else ("heap",):
                env = {**os.environ, "MHSA_BIO_HEAP": "1" if mode == "heap" else "0"}
                r = run_worker(cmd, env=env)
                heap_s = r["seconds"] if mode == "heap" else heap_s
                row = {"chromosome": f"{size:g} Mb", "windows × strands": 2 * r["windows"],
                       "seconds": f"{r['seconds']:.1f}",
                       "bases/s": f"{r['bases'] / r['seconds']:,.0f}",
                       "windows/s": f"{2 * r['windows'] / r['seconds']:,.0f}",
                       "peak MB": f"{r['peak_mb']:.0f}",
                       "RSS per chunk MB (min–max)":
                           f"{r['rss_chunks_mb'][0]:.0f}–{r['rss_chunks_mb'][1]:.0f}",
                       "MB after model load": f"{r['rss_before_mb']:.0f}"}
                if args.baseline:
                    row = {"allocation": mode, **row,
                           "time / heap mode's": f"{r['seconds'] / heap_s:.2f}"}
                rows.append(row)
                print(rows[-1], file=sys.stderr, flush=True)
    mem = "peak RSS of the process" if args.device == "cpu" else "peak CUDA memory allocated"
    print(f"model: {args.layers} layers, 4 heads, d {args.dim} (default: 2, 4, 64), window 300, "
          f"step {args.step}, both strands, batch {args.batch}, device {args.device}, "
          f"threads {args.threads}; memory = {mem}")
    print(table(rows))


if __name__ == "__main__":
    main()
