"""Promoter classification on E. coli σ70 promoters, beside CNNProm's published figures.

Trains the default model on ``CNNProm_Ecoli_prom.fa`` against ``CNNProm_Ecoli_non_prom.fa`` (the
data CNNProm was published on) and against dinucleotide-shuffled copies of the promoters (our
default background), and prints held-out Sn, Sp, MCC, AUROC and training time. CNNProm (Umarov &
Solovyev 2017, PLoS ONE) reports Sn 0.90, Sp 0.96, CC 0.84 on this data.

Usage: python benchmarks/promoters.py [--epochs 30] [--seed 0] [--threads 2]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from _common import peak_rss_mb, shared, table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--only", choices=["negatives", "shuffle"], default=None)
    args = parser.parse_args()

    import torch

    from mhsa_bio.experiment import TrainInputs, run_training
    from mhsa_bio.models.promoter import PromoterConfig
    from mhsa_bio.training import TrainConfig

    torch.set_num_threads(args.threads)
    prom = shared("motifs", "ecoli_promoters", "CNNProm_Ecoli_prom.fa")
    non = shared("motifs", "ecoli_promoters", "CNNProm_Ecoli_non_prom.fa")
    rows = [{"method": "CNNProm (published)", "background": "non-promoters", "Sn": 0.90,
             "Sp": 0.96, "MCC": 0.84, "AUROC": "-", "epochs": "-", "train s": "-"}]
    setups = [("negatives", non), ("shuffle", None)]
    for name, negatives in setups:
        if args.only and name != args.only:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            m = run_training(TrainInputs(fasta=prom, negatives=negatives), Path(tmp),
                             model_config=PromoterConfig(),
                             train_config=TrainConfig(epochs=args.epochs, seed=args.seed),
                             device=torch.device("cpu"))
            seconds = time.perf_counter() - start
        rows.append({"method": "mhsa-bio default (small)",
                     "background": "non-promoters" if negatives else "dinucleotide shuffles",
                     "Sn": m["sensitivity"], "Sp": m["specificity"], "MCC": m["mcc"],
                     "AUROC": m["auroc"], "epochs": f"{m['best_epoch']}/{m['epochs_run']}",
                     "train s": f"{seconds:.0f}"})
        print(table(rows[-1:]), flush=True)
    print()
    print(f"held-out split: 20% of each class (stratified, seed {args.seed}); "
          f"threads {args.threads}; peak RSS {peak_rss_mb():.0f} MB")
    print(table(rows))


if __name__ == "__main__":
    main()
