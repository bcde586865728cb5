"""How factored attention's fit time and memory grow with the query length L, to plan a run.

Run from the repository root (needs no data; the alignments are random)::

    python benchmarks/contacts_scaling.py                        # L = 100, 200, 300, 400
    python benchmarks/contacts_scaling.py --lengths 150 250 --threads 2
    python benchmarks/contacts_scaling.py --lengths 256 --steps 50 --device cuda

For each L, in its own subprocess (so the peak memory is its own), an alignment of
``--sequences`` random rows (each column with its own residue frequencies) is weighted and fitted
with the default settings for that L (``default_heads``: 128 heads, 256 for 200 < L ≤ 300 with
bfloat16 couplings on a CPU that has them natively, 32 beyond L = 300) for ``--steps`` Adam
steps; the first step is left out of the timing. The table gives the median seconds per step,
the projected time of a default fit (400 steps × that median) and the peak resident memory.
Random columns carry no couplings, so no precision is measured; the time of a step and the
memory depend only on L, the heads and the batch, not on what the columns hold.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np
from _common import peak_rss_mb, run_worker, table


def _worker(length: int, n_seq: int, steps: int, threads: int, seed: int, device: str = "cpu") -> dict:
    import torch

    from mhsa_bio.contacts.fit import FitConfig, fit_couplings
    from mhsa_bio.contacts.weights import sequence_weights

    torch.set_num_threads(threads)
    rng = np.random.default_rng(seed)
    freqs = rng.dirichlet(np.full(21, 0.5), size=length)  # (L, A) per-column residue frequencies
    cum = freqs.cumsum(1)
    tokens = (rng.random((n_seq, length, 1)) > cum[None]).sum(2).clip(0, 20).astype(np.int8)
    weights = sequence_weights(tokens, identity=0.8)
    stamps: list[float] = []
    config = FitConfig(steps=steps)
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()

    def stamp(*_) -> None:
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        stamps.append(time.perf_counter())

    fit_couplings(weights, config=config, seed=seed, device=device, progress=stamp)
    per_step = float(np.median(np.diff(stamps))) if len(stamps) > 2 else float("nan")
    default = FitConfig().resolve(length, weights.neff, len(weights.unique), device)
    return {
        "L": length,
        "heads": default.heads,
        "bfloat16": default.bfloat16,
        "batch": default.batch_size,
        "s/step": per_step,
        "default steps": default.steps,
        "projected fit s": per_step * int(default.steps),
        **({"gpu peak MiB": torch.cuda.max_memory_allocated() / 2**20} if device.startswith("cuda") else {}),
    }


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--worker"]:
        length, n_seq, steps, threads, seed = (int(a) for a in argv[1:6])
        r = _worker(length, n_seq, steps, threads, seed, argv[6])
        r["peak MiB"] = peak_rss_mb()
        print(json.dumps(r))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", nargs="+", type=int, default=[100, 200, 300, 400])
    parser.add_argument("--sequences", type=int, default=2000)
    parser.add_argument("--steps", type=int, default=6, help="Steps per length (the first is not timed).")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu", help="cpu or cuda (on CUDA the rows add gpu peak MiB)")
    args = parser.parse_args(argv)
    rows = []
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads)}
    for length in args.lengths:
        cmd = [sys.executable, __file__, "--worker", str(length), str(args.sequences), str(args.steps),
               str(args.threads), str(args.seed), args.device]
        rows.append(run_worker(cmd, env=env))
        print(json.dumps(rows[-1]), flush=True)
    print(table(rows))


if __name__ == "__main__":
    main()
