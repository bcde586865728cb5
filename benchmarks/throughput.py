"""Training and inference throughput and peak memory of the default promoter model at L = 300,
and data-parallel training (DDP) with 2 processes against 1.

Part 1 compares the fast attention path (``scaled_dot_product_attention``) with the path that
returns the weights (``return_attention=True``), each measured in a fresh subprocess so that peak
memory (ru_maxrss, or peak CUDA memory) belongs to that path alone, and prints sequences/second
and the ratio fast / weights. ``--amp`` adds mixed-precision rows on CUDA.

Part 2 (``--ddp-epochs N``, 0 skips it) runs ``mhsa-bio train`` on data/example in 1 process and
under ``torchrun --nproc_per_node 2`` (gloo on CPU, NCCL with ``--device cuda``) with the same
seed, epochs and global batch, each process limited to ``--threads`` threads (so on CPU the
2-process run uses twice the cores), and prints training sequences/second (from train_log.tsv,
start-up not counted), the speed-up and the validation AUROC of both.

Usage: python benchmarks/throughput.py [--length 300] [--batch 64] [--steps 20] [--device cpu]
       [--amp] [--ddp-epochs 4] [--ddp-threads 1]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, peak_rss_mb, run_worker, table


def worker(mode: str, path: str, args: argparse.Namespace) -> dict[str, float]:
    import torch

    from mhsa_bio.models.promoter import PromoterConfig, PromoterTransformer
    from mhsa_bio.runtime.device import autocast

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    device = torch.device(args.device)
    model = PromoterTransformer(PromoterConfig(max_len=args.length)).to(device)
    tokens = torch.randint(0, 4, (args.batch, args.length), device=device)
    lengths = torch.full((args.batch,), args.length, device=device)
    labels = torch.randint(0, 2, (args.batch,), device=device)
    need = path == "weights"
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)

    def step() -> None:
        if mode == "train":
            model.train()
            with autocast(device, enabled=args.amp):
                out = model(tokens, lengths, return_attention=need)
            loss = torch.nn.functional.cross_entropy(out.logits.float(), labels)
            opt.zero_grad()
            loss.backward()
            opt.step()
        else:
            model.eval()
            with torch.no_grad(), autocast(device, enabled=args.amp):
                model(tokens, lengths, return_attention=need)

    for _ in range(2):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    for _ in range(args.steps):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    peak = (torch.cuda.max_memory_allocated() / 2**20 if device.type == "cuda"
            else peak_rss_mb())
    return {"seq_per_s": args.batch * args.steps / seconds, "peak_mb": peak}


def ddp_train(out: Path, processes: int, args: argparse.Namespace) -> dict[str, float]:
    """`mhsa-bio train` on data/example in 1 process, or in ``processes`` under torchrun."""
    data = ROOT / "data" / "example"
    cli = ["train", str(data / "promoters.fa"), "--negatives", str(data / "background.fa"),
           "--out", str(out), "--epochs", str(args.ddp_epochs), "--patience", str(args.ddp_epochs),
           "--batch-size", str(args.batch), "--device", args.device,
           "--threads", str(args.ddp_threads), "--seed", "0"]
    if processes == 1:
        cmd = [sys.executable, "-m", "mhsa_bio", *cli]
    else:
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               "--nproc_per_node", str(processes), "-m", "mhsa_bio", *cli]
    env = {**os.environ, "OMP_NUM_THREADS": str(args.ddp_threads)}
    subprocess.run(cmd, check=True, capture_output=True, text=True, env=env)
    with open(out / "train_log.tsv") as handle:
        seconds = [float(r["seconds"]) for r in csv.DictReader(handle, delimiter="\t")]
    metrics = json.loads((out / "metrics.json").read_text())
    return {"seq_per_s": metrics["n_train"] * len(seconds) / sum(seconds),
            "auroc": metrics["auroc"]}


def ddp_rows(args: argparse.Namespace) -> list[dict[str, object]]:
    with tempfile.TemporaryDirectory() as tmp:
        results = {n: ddp_train(Path(tmp) / f"p{n}", n, args) for n in (1, 2)}
    return [{"processes": n, "train seq/s": f"{r['seq_per_s']:.0f}",
             "speed-up": f"{r['seq_per_s'] / results[1]['seq_per_s']:.2f}",
             "val AUROC": f"{r['auroc']:.3f}"} for n, r in results.items()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--length", type=int, default=300)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--amp", action="store_true", help="also mixed precision (CUDA only)")
    parser.add_argument("--ddp-epochs", type=int, default=4, help="0 skips the DDP part")
    parser.add_argument("--ddp-threads", type=int, default=1, help="CPU threads per process")
    parser.add_argument("--worker", nargs=2, metavar=("MODE", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker[0], args.worker[1], args)))
        return
    rows = []
    for amp in (False, True) if args.amp else (False,):
        for mode in ("train", "inference"):
            result = {}
            for path in ("fast", "weights"):
                cmd = [sys.executable, __file__, "--worker", mode, path, "--length",
                       str(args.length), "--batch", str(args.batch), "--steps", str(args.steps),
                       "--threads", str(args.threads), "--device", args.device,
                       *(["--amp"] if amp else [])]
                result[path] = run_worker(cmd)
            fast, weights = result["fast"], result["weights"]
            rows.append({
                "mode": mode + (" (AMP)" if amp else ""),
                "fast seq/s": f"{fast['seq_per_s']:.0f}",
                "weights seq/s": f"{weights['seq_per_s']:.0f}",
                "speed fast/weights": f"{fast['seq_per_s'] / weights['seq_per_s']:.2f}",
                "fast peak MB": f"{fast['peak_mb']:.0f}",
                "weights peak MB": f"{weights['peak_mb']:.0f}",
            })
    mem = "peak RSS of the process" if args.device == "cpu" else "peak CUDA memory allocated"
    print(f"default model (2 layers, 4 heads, d 64), L = {args.length}, batch {args.batch}, "
          f"{args.steps} steps, device {args.device}, threads {args.threads}; memory = {mem}")
    print(table(rows))
    if args.ddp_epochs > 0:
        backend = "gloo" if args.device == "cpu" else "NCCL"
        print(f"\nDDP: mhsa-bio train, data/example, default model, {args.ddp_epochs} epochs, "
              f"global batch {args.batch}, {args.ddp_threads} thread(s) per process, "
              f"device {args.device}, {backend}")
        print(table(ddp_rows(args)))


if __name__ == "__main__":
    main()
