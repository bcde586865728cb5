"""Does a trained model know its training positives by *where* their bases sit?

    python benchmarks/positional_memory.py RUN [--fasta POS.fa] [--shift 100] [--n 200]

RUN is a ``mhsa-bio train`` output folder trained with the default shuffled background. The
script rebuilds the run's validation split (its ``--seed`` and ``--val-fraction`` from
``run.json``), then scores, for up to ``--n`` training positives and as many validation
positives: the sequences as they are, the same sequences rotated circularly by ``--shift`` bp
(the same bases and motifs, at other positions), and one dinucleotide shuffle of each. It prints
the AUROC of positives against their shuffles, as they are and rotated. A model that learned
motifs scores training and validation positives alike, rotated or not; a model that memorised
its training positives by position scores them far higher than validation positives as they
are, and loses that lead once they are rotated. Pass ``RUN/last.pt`` with ``--checkpoint`` to
look at the last epoch instead of the best one.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np


def _score(net, seqs: list[str]) -> np.ndarray:
    """P(positive) of each sequence (``predict``'s batching, on the CPU)."""
    import torch

    from mhsa_bio.io.fasta import Record
    from mhsa_bio.predict import predict_proba

    records = [Record(f"s{i}", s) for i, s in enumerate(seqs)]
    return predict_proba(net, records, device=torch.device("cpu"), amp=False)[:, 1]


def rotate(seq: str, shift: int) -> str:
    """``seq`` rotated circularly: base i moves to (i + shift) mod len."""
    k = shift % len(seq)
    return seq[len(seq) - k:] + seq[: len(seq) - k]


def memory(net, records: list, idx: np.ndarray, *, shift: int, n: int) -> dict[str, float]:
    """Mean probability and AUROC against one dinucleotide shuffle each, for up to ``n`` of
    ``records[idx]`` as they are and rotated by ``shift``."""
    from mhsa_bio.shuffle import shuffle_records
    from mhsa_bio.stats import auroc

    chosen = [records[i] for i in idx[:n]]
    seqs = [r.seq for r in chosen]
    a = _score(net, seqs)
    b = _score(net, [rotate(s, shift) for s in seqs])
    c = _score(net, [r.seq for r in shuffle_records(chosen, n_per=1, seed=5)])
    y = np.r_[np.ones(len(a)), np.zeros(len(c))]
    return {"n": len(a), "p": float(a.mean()), "p_rotated": float(b.mean()),
            "p_shuffles": float(c.mean()), "auroc": float(auroc(y, np.r_[a, c])),
            "auroc_rotated": float(auroc(y, np.r_[b, c]))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--checkpoint", type=Path, default=None, help="default RUN/model.pt")
    parser.add_argument("--fasta", type=Path, default=None, help="default: the run's input")
    parser.add_argument("--shift", type=int, default=100)
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    import torch

    from mhsa_bio.checkpoint import read_checkpoint
    from mhsa_bio.io.fasta import read_fasta
    from mhsa_bio.models.promoter import PromoterConfig, PromoterTransformer
    from mhsa_bio.training.split import stratified_split

    torch.set_num_threads(args.threads)
    run = json.loads((args.run / "run.json").read_text())
    ckpt = read_checkpoint(args.checkpoint or args.run / "model.pt")
    net = PromoterTransformer(PromoterConfig.from_dict(ckpt["config"]))
    net.load_state_dict(ckpt["state_dict"])
    net.eval()
    fasta = args.fasta or Path(run["params"]["fasta"])
    records = read_fasta(fasta, min_length=net.config.stem_kernel)
    tc = run["train_config"]
    train_idx, val_idx = stratified_split(np.ones(len(records), dtype=np.int64),
                                          fraction=tc["val_fraction"], seed=tc["seed"])
    print(f"{args.checkpoint or args.run / 'model.pt'}: {len(records)} positives, shift "
          f"{args.shift} bp, shift_augment {tc.get('shift_augment', False)}")
    for name, idx in (("training", train_idx), ("validation", val_idx)):
        m = memory(net, records, idx, shift=args.shift, n=args.n)
        print(f"{name} positives ({m['n']}): mean p {m['p']:.3f} as they are, "
              f"{m['p_rotated']:.3f} rotated, shuffles {m['p_shuffles']:.3f}; AUROC against "
              f"shuffles {m['auroc']:.3f} as they are, {m['auroc_rotated']:.3f} rotated")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    main()
