"""Training and inference throughput and peak memory of the default promoter model at L = 300.

Compares the fast attention path (``scaled_dot_product_attention``) with the path that returns
the weights (``return_attention=True``), each measured in a fresh subprocess so that peak memory
(ru_maxrss) belongs to that path alone. Prints sequences/second and the ratio fast / weights.

Usage: python benchmarks/throughput.py [--length 300] [--batch 64] [--steps 20] [--device cpu]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

from _common import peak_rss_mb, table


def worker(mode: str, path: str, args: argparse.Namespace) -> dict[str, float]:
    import torch

    from mhsa_bio.models.promoter import PromoterConfig, PromoterTransformer

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
            out = model(tokens, lengths, return_attention=need)
            loss = torch.nn.functional.cross_entropy(out.logits, labels)
            opt.zero_grad()
            loss.backward()
            opt.step()
        else:
            model.eval()
            with torch.no_grad():
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--length", type=int, default=300)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--worker", nargs=2, metavar=("MODE", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker[0], args.worker[1], args)))
        return
    rows = []
    for mode in ("train", "inference"):
        result = {}
        for path in ("fast", "weights"):
            cmd = [sys.executable, __file__, "--worker", mode, path, "--length", str(args.length),
                   "--batch", str(args.batch), "--steps", str(args.steps), "--threads",
                   str(args.threads), "--device", args.device]
            out = subprocess.run(cmd, capture_output=True, text=True, check=True)
            result[path] = json.loads(out.stdout.strip().splitlines()[-1])
        rows.append({
            "mode": mode,
            "fast seq/s": f"{result['fast']['seq_per_s']:.0f}",
            "weights seq/s": f"{result['weights']['seq_per_s']:.0f}",
            "speed fast/weights": f"{result['fast']['seq_per_s'] / result['weights']['seq_per_s']:.2f}",
            "fast peak MB": f"{result['fast']['peak_mb']:.0f}",
            "weights peak MB": f"{result['weights']['peak_mb']:.0f}",
        })
    mem = "peak RSS of the process" if args.device == "cpu" else "peak CUDA memory allocated"
    print(f"default model (2 layers, 4 heads, d 64), L = {args.length}, batch {args.batch}, "
          f"{args.steps} steps, device {args.device}, threads {args.threads}; memory = {mem}")
    print(table(rows))


if __name__ == "__main__":
    main()
