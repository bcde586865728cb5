"""Data-parallel training: batch sharding, the torchrun environment, 2 ranks on gloo/CPU giving
the single-process result, and only rank 0 writing."""

from __future__ import annotations

import csv
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import planted_set, write_fasta
from typer.testing import CliRunner

from mhsa_bio.errors import InputError
from mhsa_bio.runtime.distributed import SINGLE, DistContext, context_from_env, shard

pytestmark = pytest.mark.skipif(not torch.distributed.is_available(),
                                reason="torch built without torch.distributed")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_shard_partitions_every_batch():
    idx = np.random.default_rng(0).permutation(23)
    for world in (1, 2, 3, 4):
        parts = [shard(idx, DistContext(r, world, r)) for r in range(world)]
        assert sorted(np.concatenate(parts).tolist()) == sorted(idx.tolist())
        assert sum(p.size for p in parts) == idx.size  # disjoint
        assert max(p.size for p in parts) - min(p.size for p in parts) <= 1
        again = [shard(idx, DistContext(r, world, r)) for r in range(world)]
        assert all(np.array_equal(a, b) for a, b in zip(parts, again))
    assert shard(idx[:1], DistContext(1, 2, 1)).size == 0


def test_context_from_env():
    assert context_from_env({}) == SINGLE and not SINGLE.active and SINGLE.is_main
    ctx = context_from_env({"WORLD_SIZE": "4", "RANK": "3", "LOCAL_RANK": "1"})
    assert ctx == DistContext(3, 4, 1) and ctx.active and not ctx.is_main
    for bad in ({"WORLD_SIZE": "2", "RANK": "2"}, {"WORLD_SIZE": "two"}):
        with pytest.raises(InputError):
            context_from_env(bad)


def _rank(rank: int, world: int, port: int, pos: str, neg: str, root: str) -> None:
    """One rank of a 2-process gloo run; each rank is given its own --out to prove who writes."""
    from mhsa_bio.runtime.distributed import process_group
    from mhsa_bio.training.run import TrainInputs, run_training

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), WORLD_SIZE=str(world),
                      RANK=str(rank), LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    ctx = context_from_env()
    cpu = torch.device("cpu")
    with process_group(ctx, cpu):
        metrics = run_training(TrainInputs(fasta=Path(pos), negatives=Path(neg)),
                               Path(root) / f"rank{rank}", model_config=_model_config(),
                               train_config=_train_config(), device=cpu, dist=ctx)
    (Path(root) / f"returned{rank}.json").write_text(json.dumps(metrics))


def _model_config():  # type: ignore[no-untyped-def]
    from mhsa_bio.models.promoter import PromoterConfig

    # no dropout: the two runs then differ only by the order of floating-point sums
    return PromoterConfig(dim=16, heads=2, layers=1, dropout=0.0, max_len=0)


def _train_config():  # type: ignore[no-untyped-def]
    from mhsa_bio.training.trainer import TrainConfig

    # 190 training rows in batches of 15: the last batch has 10 rows, split 5 / 5
    return TrainConfig(epochs=3, batch_size=15, lr=3e-3, seed=2, patience=10)


def read_log(path: Path) -> list[dict[str, float]]:
    with open(path) as handle:
        return [{k: float(v) for k, v in row.items()}
                for row in csv.DictReader(handle, delimiter="\t")]


def test_two_ranks_give_the_single_process_result_and_only_rank0_writes(tmp_path):
    import torch.multiprocessing as mp

    from mhsa_bio.training.run import TrainInputs, run_training

    pos, neg = planted_set(120, 50, seed=3)
    p = write_fasta(tmp_path / "pos.fa", pos)
    q = write_fasta(tmp_path / "neg.fa", neg)
    mp.spawn(_rank, args=(2, free_port(), str(p), str(q), str(tmp_path)), nprocs=2, join=True)
    assert not (tmp_path / "rank1").exists()  # rank 1 wrote nothing at all
    written = {f.name for f in (tmp_path / "rank0").iterdir()}
    assert written == {"model.pt", "last.pt", "train_log.tsv", "metrics.json",
                       "learning_curve.png", "run.json"}
    run = json.loads((tmp_path / "rank0" / "run.json").read_text())
    assert run["distributed"] == {"world_size": 2, "backend": "gloo"}
    returned = [json.loads((tmp_path / f"returned{r}.json").read_text()) for r in (0, 1)]
    assert returned[0] == returned[1]  # every rank saw rank 0's evaluation

    torch.set_num_threads(1)
    single = run_training(TrainInputs(fasta=p, negatives=q), tmp_path / "single",
                          model_config=_model_config(), train_config=_train_config(),
                          device=torch.device("cpu"))
    ddp_log = read_log(tmp_path / "rank0" / "train_log.tsv")
    one_log = read_log(tmp_path / "single" / "train_log.tsv")
    assert len(ddp_log) == len(one_log) == 3
    for a, b in zip(ddp_log, one_log):
        assert abs(a["train_loss"] - b["train_loss"]) < 1e-3, (a, b)
        assert abs(a["val_loss"] - b["val_loss"]) < 1e-3, (a, b)
        assert abs(a["val_auroc"] - b["val_auroc"]) < 0.02, (a, b)
        assert a["lr"] == pytest.approx(b["lr"])  # the same number of optimiser steps
    assert ddp_log[-1]["train_loss"] < ddp_log[0]["train_loss"]  # it trains
    for key in ("auroc", "auprc"):
        assert abs(returned[0][key] - single[key]) < 0.02


def test_torchrun_cli_only_rank0_writes(tmp_path):
    """`mhsa-bio train` under torchrun, unchanged: 2 processes, gloo, CPU."""
    from mhsa_bio.cli.main import app

    pos, neg = planted_set(120, 50, seed=4)
    p = write_fasta(tmp_path / "pos.fa", pos)
    q = write_fasta(tmp_path / "neg.fa", neg)
    args = [str(p), "--negatives", str(q), "--epochs", "4", "--dim", "16", "--heads", "2",
            "--layers", "1", "--lr", "3e-3", "--batch-size", "16", "--device", "cpu",
            "--threads", "1", "--seed", "1"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
           "--master_addr", "127.0.0.1", "--master_port", str(free_port()),
           "-m", "mhsa_bio", "train", *args, "--out", str(tmp_path / "ddp")]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stderr.count("wrote ") == 1  # one rank speaks
    ddp = tmp_path / "ddp"
    assert {f.name for f in ddp.iterdir()} == {"model.pt", "last.pt", "train_log.tsv",
                                              "metrics.json", "learning_curve.png", "run.json"}
    run = json.loads((ddp / "run.json").read_text())
    assert run["params"]["world_size"] == 2 and run["distributed"]["world_size"] == 2
    result = CliRunner().invoke(app, ["train", *args, "--out", str(tmp_path / "one")])
    assert result.exit_code == 0, result.output
    a = json.loads((ddp / "metrics.json").read_text())
    b = json.loads((tmp_path / "one" / "metrics.json").read_text())
    assert a["n_train"] == b["n_train"] and a["n_validation"] == b["n_validation"]
    assert abs(a["auroc"] - b["auroc"]) < 0.1  # dropout masks differ between the runs
    # the checkpoint has plain keys (no DDP 'module.' prefix) and loads as usual
    from mhsa_bio.checkpoint import load_model

    model, ckpt = load_model(ddp / "model.pt")
    assert not any(k.startswith("module.") for k in ckpt["state_dict"])
