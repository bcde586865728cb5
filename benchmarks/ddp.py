"""Data-parallel training on CPU: `mhsa-bio train` in 1 process vs `torchrun` with 2 (gloo).

Both runs train the default small model on data/example (500 + 500 sequences of 200 bp) with the
same seed, epochs and global batch, each process limited to ``--threads`` CPU threads, so the
2-process run uses twice the cores. Prints seconds per epoch (from train_log.tsv, so start-up is
not counted), the speed-up and the validation AUROC/AUPRC of both: the metrics should agree
within the noise of dropout and summation order.

Usage: python benchmarks/ddp.py [--epochs 3] [--threads 1] [--batch-size 64]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import ROOT, table


def train(out: Path, processes: int, args: argparse.Namespace) -> dict[str, float]:
    data = ROOT / "data" / "example"
    cli = ["train", str(data / "promoters.fa"), "--negatives", str(data / "background.fa"),
           "--out", str(out), "--epochs", str(args.epochs), "--patience", str(args.epochs),
           "--batch-size", str(args.batch_size), "--device", "cpu",
           "--threads", str(args.threads), "--seed", "0"]
    if processes == 1:
        cmd = [sys.executable, "-m", "mhsa_bio", *cli]
    else:
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               "--nproc_per_node", str(processes), "-m", "mhsa_bio", *cli]
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads)}
    subprocess.run(cmd, check=True, capture_output=True, text=True, env=env)
    with open(out / "train_log.tsv") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    seconds = [float(r["seconds"]) for r in rows]
    metrics = json.loads((out / "metrics.json").read_text())
    return {"s_per_epoch": sum(seconds) / len(seconds), "auroc": metrics["auroc"],
            "auprc": metrics["auprc"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="CPU threads per process")
    parser.add_argument("--batch-size", type=int, default=64, help="global batch")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        results = {n: train(Path(tmp) / f"p{n}", n, args) for n in (1, 2)}
    for n, r in results.items():
        rows.append({"processes": n, "s/epoch": f"{r['s_per_epoch']:.2f}",
                     "speed-up": f"{results[1]['s_per_epoch'] / r['s_per_epoch']:.2f}",
                     "val AUROC": f"{r['auroc']:.3f}", "val AUPRC": f"{r['auprc']:.3f}"})
    print(f"mhsa-bio train, data/example, default small model, {args.epochs} epochs, global "
          f"batch {args.batch_size}, {args.threads} thread(s) per process, CPU, gloo")
    print(table(rows))


if __name__ == "__main__":
    main()
