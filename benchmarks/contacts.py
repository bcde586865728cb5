"""Contact precision, time and memory: factored attention, our Potts model and every installed peer.

Run from the repository root (the data are read from ``../shared/data/contacts`` and ``--psicov``)::

    python benchmarks/contacts.py --psicov DIR         # the validation families, every method
    python benchmarks/contacts.py --psicov DIR --families 1a0tP 16pkA --threads 2
    python benchmarks/contacts.py --set tuning --methods factored potts --fit warm_start=20
    python benchmarks/contacts.py --families 1atzA --methods factored plmc ccmpred --threads 2
    python benchmarks/contacts.py --methods factored --seeds 0 1       # seed-to-seed spread
    python benchmarks/contacts.py --device cuda        # our fits on a GPU, the peers on the CPU

Families are fixed in two sets: ``tuning`` (1a3aA, its ESM-example MSA; the PSICOV family 1a0tP, L
256; the CASP14 targets T1042, L 289, and the rich T1034, L 156, 10,265 sequences, and T1047s1, L
232, 15,306 sequences), on which fit settings are chosen, and ``validation`` (1atzA, 1a3aA with the
independent hhblits MSA of the same protein, the PSICOV family 16pkA, L 256, trypsin 5ptpA, L 222,
and the CASP12 target T0900, L 106, 16,243 sequences), which docs/contacts.md reports. 1atzA and
1a3aA are read from ``../shared/data/contacts``. The others (one aligned sequence a line, query
first; where to get them: docs/contacts.md) are read from the folder given by ``--psicov DIR``, else
``$MHSA_BIO_PSICOV``: ``1a0tP0.aln`` + ``1a0tP.pdb`` and ``16pkA0.aln`` + ``16pkA.pdb`` (PSICOV's
benchmark set, Jones et al. 2012), ``5ptpA.aln`` + ``5ptp.pdb``, ``T1042.aln`` + ``T1042-D1.pdb``,
``T1034.a3m`` + ``T1034-D1.pdb``, ``T1047s1.aln`` + ``T1047s1.pdb`` and ``T0900.aln`` +
``T0900.pdb``; a family whose files are not there is skipped with a one-line note.

Peers, each run when installed and skipped with a note otherwise: freecontact (Debian's package;
mean-field/PSICOV-style, its EVfold score), plmc (``plmc`` on PATH; pseudo-likelihood, L-BFGS,
EVcouplings' protein settings: θ 0.2, λ_h 0.01, λ_J 0.2(L-1), 100 iterations), CCMpred
(``ccmpred`` on PATH; pseudo-likelihood, conjugate gradients, its defaults), pydca's plmDCA
(``pydca``; seqid 0.8, λ_h 1, λ_J 20, 500 iterations), adabmDCA's mean-field map
(``adabmDCA``, its ``predict_contacts`` on the alignment; its Boltzmann-machine training takes
hours on a CPU and is not run) and arDCA (``arDCA`` from PyPI, fitted with its training defaults;
the package has no contact read-out, so ``ardca_peer.py`` reads contacts by ArDCA.jl's epistatic
score around the query).
Every peer gets the same alignment: the query's columns, query first, upper case.

After each family the script prints every method's wall time as a multiple of the fastest and its
long-range P@L and P@L/5 as a fraction of the most precise (factored attention: the mean over
seeds), then counts the seeds that meet the target: long P@L/5 at least our Potts model's and
freecontact's, P@L within 0.02 of Potts'.

Each method runs in its own subprocess, so its peak memory (``ru_maxrss``) is its own; wall
time and CPU time (user + system of the process and its children) are both reported. A peer
that fails on a family is skipped there with a note (its error printed above it); a failure of
our own fits stops the run.
``--seeds`` repeats factored attention (random initialisation and mini-batches) once per seed;
the Potts fit (zeros, full-batch L-BFGS) and the peers are deterministic and run once.
``--fit KEY=VALUE`` sets a ``FitConfig`` field of the factored fit (repeatable); the method
``factored-default`` (not run unless named in ``--methods``) is factored attention with the
default settings, so a variant and the default run side by side in one command.
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
from _common import SHARED_DATA

DATA = SHARED_DATA / "contacts"
#: The folder of the PSICOV families when ``--psicov`` is not given.
PSICOV_ENV = "MHSA_BIO_PSICOV"
#: Families from ``../shared/data/contacts``: absolute paths.
SHARED_FAMILIES = {
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
    "1a3aA-hhblits": {
        "msa": DATA / "1a3aA" / "hhblits_uniclust_2017_10_1a3a_1_A.a3m",
        "query": None,
        "pdb": DATA / "1a3aA" / "1a3a.pdb",
        "chain": "A",
    },
}
#: Families of L 200–300 not shipped in shared data: file names inside the ``--psicov`` folder
#: (PSICOV-format alignments, query first). The PSICOV-set PDB files and T1042's have one chain
#: with a blank id, so ``chain`` is None (the only chain).
PSICOV_FAMILIES = {
    "1a0tP": {"msa": "1a0tP0.aln", "query": None, "pdb": "1a0tP.pdb", "chain": None},
    "16pkA": {"msa": "16pkA0.aln", "query": None, "pdb": "16pkA.pdb", "chain": None},
    "5ptpA": {"msa": "5ptpA.aln", "query": None, "pdb": "5ptp.pdb", "chain": "A"},
    "T1042": {"msa": "T1042.aln", "query": None, "pdb": "T1042-D1.pdb", "chain": None},
    "T1034": {"msa": "T1034.a3m", "query": None, "pdb": "T1034-D1.pdb", "chain": None},
    "T1047s1": {"msa": "T1047s1.aln", "query": None, "pdb": "T1047s1.pdb", "chain": "A"},
    "T0900": {"msa": "T0900.aln", "query": None, "pdb": "T0900.pdb", "chain": None},
}
FAMILIES = {**SHARED_FAMILIES, **PSICOV_FAMILIES}
#: Fit settings are chosen on ``tuning`` only; docs/contacts.md reports ``validation``.
SETS = {"tuning": ("1a3aA", "1a0tP", "T1042", "T1034", "T1047s1"),
        "validation": ("1atzA", "1a3aA-hhblits", "16pkA", "5ptpA", "T0900")}
OURS = ("factored", "factored-default", "potts")
PEERS = ("freecontact", "plmc", "ccmpred", "plmdca", "adabmdca", "ardca")
METHODS = OURS + PEERS
LABELS = {
    "factored": "factored attention",
    "factored-default": "factored, defaults",
    "potts": "Potts (ours)",
    "freecontact": "freecontact",
    "plmc": "plmc",
    "ccmpred": "CCMpred",
    "plmdca": "pydca plmDCA",
    "adabmdca": "adabmDCA mean-field",
    "ardca": "arDCA",
}


def psicov_folder(arg: str | os.PathLike[str] | None = None) -> Path | None:
    """The folder of the PSICOV families: ``arg`` (``--psicov``), else ``$MHSA_BIO_PSICOV``, else None."""
    value = arg if arg is not None else os.environ.get(PSICOV_ENV) or None
    return Path(value).resolve() if value is not None else None


def family_files(family: str, psicov: Path | None) -> tuple[dict | None, str | None]:
    """``(files, None)`` with the family's ``msa``, ``query``, ``pdb`` and ``chain``, or
    ``(None, why)`` when its files are not here."""
    if family in PSICOV_FAMILIES:
        if psicov is None:
            return None, f"PSICOV family: give its folder with --psicov DIR (or ${PSICOV_ENV})"
        fam = {**PSICOV_FAMILIES[family]}
        fam["msa"], fam["pdb"] = psicov / fam["msa"], psicov / fam["pdb"]
    else:
        fam = dict(SHARED_FAMILIES[family])
    missing = [str(fam[k]) for k in ("msa", "pdb") if not Path(fam[k]).is_file()]
    if missing:
        return None, f"{' and '.join(missing)} not found"
    return fam, None


def _available(method: str) -> str | None:
    """None when ``method`` can run here, else why not."""
    if method in ("freecontact", "plmc", "ccmpred"):
        return None if shutil.which(method) else f"'{method}' not on PATH"
    modules = {"plmdca": "pydca.plmdca", "adabmdca": "adabmDCA.api.contacts", "ardca": "arDCA.models"}
    module = modules.get(method)
    if module:
        try:
            __import__(module)
        except Exception as err:  # not installed, or its compiled backend does not load
            return f"{module} does not import ({type(err).__name__})"
    return None


def _scores_from_pairs(length: int, pairs: list[tuple[int, int, float]]) -> np.ndarray:
    scores = np.full((length, length), -np.inf)
    for i, j, s in pairs:
        scores[i, j] = scores[j, i] = s
    return scores


def _peer_alignment(msa) -> list[str]:
    """The query's columns, query first, upper case: what every peer reads."""
    return [msa.query] + [s for k, s in enumerate(msa.seqs) if k != msa.query_index]


def _run_peer(method: str, rows: list[str], threads: int, tmp: Path) -> np.ndarray:
    """Run a peer on the aligned rows; return its (L, L) scores (higher = contact)."""
    length = len(rows[0])
    fasta = tmp / "aln.fasta"
    fasta.write_text("".join(f">s{k}\n{s}\n" for k, s in enumerate(rows)))
    if method == "freecontact":
        out = subprocess.run(
            ["freecontact", "-a", str(threads)], input="".join(s + "\n" for s in rows), text=True,
            capture_output=True, check=True,
        ).stdout
        # i aa_i j aa_j PSICOV-score EVfold-score (1-based)
        pairs = [(int(p[0]) - 1, int(p[2]) - 1, float(p[5])) for p in map(str.split, out.splitlines())]
        return _scores_from_pairs(length, pairs)
    if method == "plmc":
        couplings = tmp / "plmc.txt"
        subprocess.run(
            ["plmc", "-c", str(couplings), "-le", f"{0.2 * (length - 1):g}", "-lh", "0.01", "-m", "100",
             "-t", "0.2", "-n", str(threads), str(fasta)],
            check=True, capture_output=True,
        )
        # RES_I FOCUS_AI RES_J FOCUS_AJ 0 SCORE (1-based, APC-corrected Frobenius norm)
        lines = couplings.read_text().splitlines()
        pairs = [(int(p[0]) - 1, int(p[2]) - 1, float(p[5])) for p in map(str.split, lines)]
        return _scores_from_pairs(length, pairs)
    if method == "ccmpred":
        aln, mat = tmp / "aln.psicov", tmp / "ccmpred.mat"
        aln.write_text("".join(s + "\n" for s in rows))
        subprocess.run(["ccmpred", "-t", str(threads), str(aln), str(mat)], check=True, capture_output=True)
        return np.loadtxt(mat)  # (L, L), APC-corrected
    if method == "adabmdca":
        from adabmDCA.api.contacts import predict_contacts

        return np.asarray(predict_contacts(fasta_path=str(fasta), device="cpu").scores, dtype=float)
    if method == "ardca":
        from ardca_peer import ardca_contacts

        return ardca_contacts(rows, tmp)
    # pydca plmDCA, its defaults for proteins, APC-corrected Frobenius norms
    from pydca.plmdca import plmdca

    inst = plmdca.PlmDCA(
        str(fasta), "protein", seqid=0.8, lambda_h=1.0, lambda_J=20.0, num_threads=threads, max_iterations=500
    )
    return _scores_from_pairs(length, [(i, j, s) for (i, j), s in inst.compute_sorted_FN_APC()])


def _parse_fit(items: list[str]) -> dict:
    """``KEY=VALUE`` strings -> FitConfig overrides; values read as JSON (``64``, ``true``,
    ``null``), else kept as strings."""
    out = {}
    for item in items:
        key, _, value = item.partition("=")
        try:
            out[key] = json.loads(value)
        except ValueError:
            out[key] = value
    return out


def _worker(
    family: str, method: str, threads: int, seed: int, device: str = "cpu", fit: dict | None = None
) -> dict:
    """Run one method on one family in this process; return the scores and timings."""
    import torch

    from mhsa_bio.contacts.find import contacts_from_msa
    from mhsa_bio.contacts.fit import FitConfig
    from mhsa_bio.io.msa import read_msa

    torch.set_num_threads(threads)
    fam, why = family_files(family, psicov_folder())
    if fam is None:
        raise SystemExit(f"{family}: {why}")
    msa = read_msa(fam["msa"], query=fam["query"])
    wall0, cpu0 = time.perf_counter(), time.process_time()
    child0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    info: dict = {}
    if method in OURS:
        overrides = dict(fit or {}) if method == "factored" else {}
        # identity=X: the sequence weights' identity (contacts --identity), not a FitConfig field
        weights = {"identity": float(overrides.pop("identity"))} if "identity" in overrides else {}
        config = FitConfig(model_type="potts" if method == "potts" else "factored", **overrides)
        result = contacts_from_msa(msa, config=config, seed=seed, device=device, **weights)
        scores = result.scores
        info = {"steps": result.info["steps"], "neff": result.info["neff"], "loss": result.info["final_loss"]}
        if device.startswith("cuda"):
            info["gpu_peak_mib"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            scores = _run_peer(method, _peer_alignment(msa), threads, Path(tmp))
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


def _run(
    family: str,
    method: str,
    threads: int,
    seed: int,
    device: str = "cpu",
    fit: dict | None = None,
    psicov: Path | None = None,
) -> dict:
    """Run ``_worker`` in a fresh interpreter and collect its result and peak memory."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        env = {**os.environ, "OMP_NUM_THREADS": str(threads), "TQDM_DISABLE": "1"}  # arDCA's progress bar
        if psicov is not None:
            env[PSICOV_ENV] = str(psicov)
        subprocess.run(
            [sys.executable, __file__, "--worker", family, method, str(threads), str(seed), str(out),
             device, json.dumps(fit or {})],
            check=True,
            env=env,
        )
        return json.loads(out.read_text())


def _worker_main(family: str, method: str, threads: str, seed: str, out: str, device: str, fit: str) -> None:
    r = _worker(family, method, int(threads), int(seed), device, json.loads(fit))
    peak_kib = max(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
    )
    r["peak_mib"] = peak_kib / 1024
    Path(out).write_text(json.dumps(r))


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--worker"]:
        _worker_main(*argv[1:8])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", choices=[*SETS, "all"], default="validation",
                        help="Which fixed family set to run (default: validation).")
    parser.add_argument("--families", nargs="+", choices=list(FAMILIES),
                        help="These families instead of --set.")
    parser.add_argument("--fit", nargs="+", default=[], metavar="KEY=VALUE",
                        help="FitConfig fields for the factored fit, e.g. warm_start=20 bfloat16=true; "
                        "identity=X sets its sequence weights' identity (contacts --identity).")
    parser.add_argument("--methods", nargs="+", default=[m for m in METHODS if m != "factored-default"],
                        choices=METHODS, help="Default: all but factored-default (factored attention "
                        "with the default settings whatever --fit says, to run beside a --fit variant).")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--psicov", type=Path, metavar="DIR",
                        help=f"Folder of the PSICOV families' .aln and .pdb files (default: ${PSICOV_ENV}).")
    parser.add_argument("--json", type=Path, help="Also write the table as JSON here.")
    parser.add_argument("--device", default="cpu",
                        help="Where factored attention and Potts run (cpu, cuda); the peers run on the CPU. "
                        "On CUDA the JSON rows also carry gpu_peak_mib.")
    args = parser.parse_args(argv)
    families = args.families or (list(FAMILIES) if args.set == "all" else list(SETS[args.set]))
    fit = _parse_fit(args.fit)
    psicov = psicov_folder(args.psicov)
    runnable = {}
    for family in families:
        fam, why = family_files(family, psicov)
        if fam is None:
            print(f"{family:13s} skipped: {why}", flush=True)
        else:
            runnable[family] = fam
    if not runnable:
        print("skipped: no family's files are here (../shared/data/contacts, --psicov DIR)")
        return
    from mhsa_bio.contacts.evaluate import precision_table
    from mhsa_bio.io.structure import query_structure

    rows = []
    header = (
        f"{'family':13s} {'method':20s} {'seed':>4s} {'long P@L':>8s} {'long P@L/5':>10s} "
        f"{'med P@L/5':>9s} {'wall s':>7s} {'cpu s':>7s} {'peak MiB':>8s}"
    )
    print(header, flush=True)
    if fit:
        print(f"factored attention fit settings: {fit}", flush=True)
    for family, fam in runnable.items():
        runs = [
            (method, seed)
            for method in args.methods
            for seed in (args.seeds if method.startswith("factored") else args.seeds[:1])
        ]
        for method, seed in runs:
            why = _available(method)
            if why:
                print(f"{family:13s} {LABELS[method]:20s} skipped: {why}", flush=True)
                continue
            device = args.device if method in OURS else "cpu"
            try:
                r = _run(family, method, args.threads, seed, device, fit, psicov)
            except subprocess.CalledProcessError as err:
                if method in OURS:
                    raise
                # a peer that fails on this family (its message is above) costs its row, not the run
                why = f"it failed (exit {err.returncode})"
                print(f"{family:13s} {LABELS[method]:20s} skipped: {why}", flush=True)
                continue
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
                f"{family:13s} {LABELS[method]:20s} {seed:4d} {row['long_P@L']:8.2f} "
                f"{row['long_P@L/5']:10.2f} {row['medium_P@L/5']:9.2f} {row['wall_s']:7.1f} "
                f"{row['cpu_s']:7.1f} {row['peak_mib']:8.0f}",
                flush=True,
            )
        _summary(family, [r for r in rows if r["family"] == family])
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")


def _summary(family: str, rows: list[dict]) -> None:
    """Per method (factored attention: mean over seeds) the wall time against the fastest and the
    long-range precision against the most precise; then the seeds meeting the target (long P@L/5 at
    least our Potts model's and freecontact's, long P@L within 0.02 of Potts')."""
    keys = ("long_P@L", "long_P@L/5", "medium_P@L/5", "wall_s", "cpu_s")
    by_method: dict[str, dict] = {}
    for method in METHODS:
        mine = [r for r in rows if r["method"] == method]
        if mine:
            by_method[method] = {k: float(np.mean([r[k] for r in mine])) for k in keys}
    fa = [r for r in rows if r["method"] == "factored"]
    if len(fa) > 1:
        m = by_method["factored"]
        print(
            f"{family:13s} {LABELS['factored']:20s} {'mean':>4s} {m['long_P@L']:8.3f} "
            f"{m['long_P@L/5']:10.3f} {m['medium_P@L/5']:9.3f} {m['wall_s']:7.1f} {m['cpu_s']:7.1f}",
            flush=True,
        )
    if len(by_method) > 1:
        fastest = min(by_method, key=lambda k: by_method[k]["wall_s"])
        best = max(by_method, key=lambda k: (by_method[k]["long_P@L"], by_method[k]["long_P@L/5"]))
        print(
            f"{family:13s} ratios: wall time / fastest ({LABELS[fastest]}), long P@L and P@L/5 / "
            f"most precise ({LABELS[best]})",
            flush=True,
        )
        for method, m in by_method.items():
            b, f = by_method[best], by_method[fastest]
            print(
                f"{family:13s}   {LABELS[method]:20s} time x{m['wall_s'] / f['wall_s']:6.2f}   "
                f"P@L x{m['long_P@L'] / b['long_P@L']:5.2f}   "
                f"P@L/5 x{m['long_P@L/5'] / b['long_P@L/5']:5.2f}",
                flush=True,
            )
    refs = [by_method[k] for k in ("potts", "freecontact") if k in by_method]
    potts = by_method.get("potts")
    if fa and refs:
        met = [
            all(r["long_P@L/5"] >= ref["long_P@L/5"] - 1e-9 for ref in refs)
            and (potts is None or r["long_P@L"] >= potts["long_P@L"] - 0.02 - 1e-9)
            for r in fa
        ]
        names = " and ".join(LABELS[k] for k in ("potts", "freecontact") if k in by_method)
        print(
            f"{family:13s} target (factored long P@L/5 >= {names}'s, P@L within 0.02 of Potts'): "
            f"met in {sum(met)} of {len(fa)} seed(s)",
            flush=True,
        )


if __name__ == "__main__":
    main()
