"""Contact precision, time and memory on 1atzA and 1a3aA: factored attention, Potts and baselines.

Run from the repository root (the data are read from ``../shared/data/contacts``)::

    python benchmarks/contacts.py                      # every family and method
    python benchmarks/contacts.py --families 1atzA --methods factored potts --threads 2
    python benchmarks/contacts.py --methods factored --seeds 0 1       # seed-to-seed spread
    python benchmarks/contacts.py --device cuda        # our fits on a GPU, the peers on the CPU

With several ``--seeds`` a mean row follows factored attention's rows; when plmDCA ran, a last
line per family counts the seeds that meet the issue's target (long-range P@L and P@L/5 at least
plmDCA's, wall time at most a third of plmDCA's).

Each method runs in its own subprocess, so its peak memory (``ru_maxrss``) is its own; wall
time and CPU time (user + system, which is far less sensitive to a busy machine) are both
reported. freecontact (Debian package) and pydca's plmDCA are run when installed and skipped
otherwise. ``--seeds`` repeats factored attention (random initialisation and mini-batches) once
per seed; the Potts fit (zeros, full-batch L-BFGS) and the peers are deterministic and run once.
Precision is computed the same way for every method: Cβ < 8 Å (Cα for glycine), long range
|i − j| ≥ 24, medium 12–23.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import SHARED_DATA, shared

DATA = SHARED_DATA / "contacts"
FAMILIES = {
    "1atzA": {
        "msa": DATA / "1atzA" / "1atzA.fas",
        "query": "seq_2634",
        "pdb": DATA / "1atzA" / "1atzA.pdb",
        "chain": "A",
    },
    "1a3aA": {
        "msa": DATA / "1a3aA" / "1a3a_1_A.a3m",
        "query": None,
        "pdb": DATA / "1a3aA" / "1a3a.pdb",
        "chain": "A",
    },
}
METHODS = ("factored", "potts", "freecontact", "plmdca")


def _available(method: str) -> bool:
    if method == "freecontact":
        return shutil.which("freecontact") is not None
    if method == "plmdca":
        try:
            import pydca.plmdca  # noqa: F401
        except Exception:  # not installed, or its compiled backend does not load
            return False
    return True


def _scores_from_pairs(length: int, pairs: list[tuple[int, int, float]]) -> np.ndarray:
    scores = np.full((length, length), -np.inf)
    for i, j, s in pairs:
        scores[i, j] = scores[j, i] = s
    return scores


def _worker(family: str, method: str, threads: int, seed: int, device: str = "cpu") -> dict:
    """Run one method on one family in this process; return the scores and timings."""
    import torch

    from mhsa_bio.contacts.fit import FitConfig
    from mhsa_bio.contacts.predict import contacts_from_msa
    from mhsa_bio.io.msa import read_msa

    torch.set_num_threads(threads)
    fam = FAMILIES[family]
    msa = read_msa(fam["msa"], query=fam["query"])
    length = len(msa.query)
    wall0, cpu0 = time.perf_counter(), time.process_time()
    child0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    info: dict = {}
    if method in ("factored", "potts"):
        result = contacts_from_msa(msa, config=FitConfig(model_type=method), seed=seed, device=device)
        scores, info = result.scores, {"steps": result.info["steps"], "neff": result.info["neff"]}
        if device.startswith("cuda"):
            info["gpu_peak_mib"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
    elif method == "freecontact":
        aln = "".join(
            s + "\n" for s in [msa.query] + [s for k, s in enumerate(msa.seqs) if k != msa.query_index]
        )
        out = subprocess.run(
            ["freecontact", "-a", str(threads)], input=aln, text=True, capture_output=True, check=True
        ).stdout
        pairs = []
        for line in out.splitlines():
            parts = line.split()  # i aa_i j aa_j PSICOV-score EVfold-score (1-based)
            pairs.append((int(parts[0]) - 1, int(parts[2]) - 1, float(parts[5])))
        scores = _scores_from_pairs(length, pairs)
    else:  # pydca plmDCA, its defaults for proteins, APC-corrected Frobenius norms
        from pydca.plmdca import plmdca

        with tempfile.NamedTemporaryFile("w", suffix=".fasta", delete=False) as handle:
            for ident, seq in zip(msa.ids, msa.seqs, strict=True):
                handle.write(f">{ident}\n{seq}\n")
            path = handle.name
        try:
            inst = plmdca.PlmDCA(
                path,
                "protein",
                seqid=0.8,
                lambda_h=1.0,
                lambda_J=20.0,
                num_threads=threads,
                max_iterations=500,
            )
            ranked = inst.compute_sorted_FN_APC()
        finally:
            os.unlink(path)
        scores = _scores_from_pairs(length, [(i, j, s) for (i, j), s in ranked])
    child1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (
        time.process_time() - cpu0 + (child1.ru_utime - child0.ru_utime) + (child1.ru_stime - child0.ru_stime)
    )
    return {
        "scores": np.nan_to_num(scores, neginf=-1e9).tolist(),
        "wall_s": time.perf_counter() - wall0,
        "cpu_s": cpu,
        "info": info,
        "query": msa.query,
    }


def _run(family: str, method: str, threads: int, seed: int, device: str = "cpu") -> dict:
    """Run ``_worker`` in a fresh interpreter and collect its result and peak memory."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
        subprocess.run(
            [sys.executable, __file__, "--worker", family, method, str(threads), str(seed), str(out),
             device],
            check=True,
            env=env,
        )
        return json.loads(out.read_text())


def _worker_main(family: str, method: str, threads: str, seed: str, out: str, device: str) -> None:
    r = _worker(family, method, int(threads), int(seed), device)
    peak_kib = max(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
    )
    r["peak_mib"] = peak_kib / 1024
    Path(out).write_text(json.dumps(r))


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--worker"]:
        _worker_main(*argv[1:7])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", nargs="+", default=list(FAMILIES), choices=list(FAMILIES))
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--json", type=Path, help="Also write the table as JSON here.")
    parser.add_argument("--device", default="cpu",
                        help="Where factored attention and Potts run (cpu, cuda); the peers run on the CPU. "
                        "On CUDA the JSON rows also carry gpu_peak_mib.")
    args = parser.parse_args(argv)
    shared("contacts")  # exits 0 with a note when ../shared/data is not here
    from mhsa_bio.contacts.evaluate import precision_table
    from mhsa_bio.io.structure import query_structure

    rows = []
    header = (
        f"{'family':7s} {'method':12s} {'seed':>4s} {'long P@L':>8s} {'long P@L/5':>10s} "
        f"{'med P@L/5':>9s} {'wall s':>7s} {'cpu s':>7s} {'peak MiB':>8s}"
    )
    print(header, flush=True)
    for family in args.families:
        fam = FAMILIES[family]
        runs = [
            (method, seed)
            for method in args.methods
            for seed in (args.seeds if method == "factored" else args.seeds[:1])
        ]
        for method, seed in runs:
            if not _available(method):
                print(f"{family:7s} {method:12s} skipped (not installed)", flush=True)
                continue
            device = args.device if method in ("factored", "potts") else "cpu"
            r = _run(family, method, args.threads, seed, device)
            st = query_structure(fam["pdb"], r["query"], chain=fam["chain"])
            p = precision_table(np.array(r["scores"]), st.contacts)
            row = {
                "family": family,
                "method": method,
                "seed": seed,
                "long_P@L": p["long"]["P@L"],
                "long_P@L/5": p["long"]["P@L/5"],
                "medium_P@L/5": p["medium"]["P@L/5"],
                "wall_s": r["wall_s"],
                "cpu_s": r["cpu_s"],
                "peak_mib": r["peak_mib"],
                **r["info"],
            }
            rows.append(row)
            print(
                f"{family:7s} {method:12s} {seed:4d} {row['long_P@L']:8.2f} {row['long_P@L/5']:10.2f} "
                f"{row['medium_P@L/5']:9.2f} {row['wall_s']:7.1f} {row['cpu_s']:7.1f} "
                f"{row['peak_mib']:8.0f}",
                flush=True,
            )
        _summary(family, [r for r in rows if r["family"] == family])
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")


def _summary(family: str, rows: list[dict]) -> None:
    """With several seeds, factored attention's mean row; with plmDCA, the issue's target per seed
    (long P@L and P@L/5 at least plmDCA's, wall time at most a third of plmDCA's)."""
    fa = [r for r in rows if r["method"] == "factored"]
    ref = next((r for r in rows if r["method"] == "plmdca"), None)
    if len(fa) > 1:
        mean = {k: float(np.mean([r[k] for r in fa])) for k in ("long_P@L", "long_P@L/5", "medium_P@L/5",
                                                                 "wall_s", "cpu_s")}
        print(
            f"{family:7s} {'factored':12s} {'mean':>4s} {mean['long_P@L']:8.3f} {mean['long_P@L/5']:10.3f} "
            f"{mean['medium_P@L/5']:9.3f} {mean['wall_s']:7.1f} {mean['cpu_s']:7.1f}",
            flush=True,
        )
    if fa and ref is not None:
        met = [
            r["long_P@L"] >= ref["long_P@L"] - 1e-9
            and r["long_P@L/5"] >= ref["long_P@L/5"] - 1e-9
            and r["wall_s"] <= ref["wall_s"] / 3
            for r in fa
        ]
        print(
            f"{family:7s} target (factored >= plmDCA's long P@L {ref['long_P@L']:.2f} and P@L/5 "
            f"{ref['long_P@L/5']:.2f}, wall <= {ref['wall_s'] / 3:.1f} s): met in {sum(met)} of {len(fa)} "
            f"seed(s)",
            flush=True,
        )


if __name__ == "__main__":
    main()
