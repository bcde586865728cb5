"""The GPU paths from the command line: `--device cuda` (mixed precision on by default) in train,
predict, motifs and contacts, checked against the CPU. Skipped cleanly where torch sees no CUDA
GPU; the scan's CUDA test lives in test_scan.py, the 2-GPU NCCL run in test_distributed.py."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import invoke, planted_set, write_fasta

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")

ROOT = Path(__file__).resolve().parents[1]
TINY_MSA = ROOT / "workflows" / "example" / "tiny_family.fasta"


def ok(*args) -> None:
    result = invoke(*args)
    assert result.exit_code == 0, result.output


def scores(path: Path) -> np.ndarray:
    """The last class's probability column of a `predict` TSV."""
    lines = [line.split("\t") for line in path.read_text().splitlines() if not line.startswith("#")]
    return np.array([float(row[-1]) for row in lines[1:]])


@pytest.fixture(scope="module")
def cuda_run(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("cuda")
    pos, neg = planted_set()
    p = write_fasta(root / "pos.fa", pos)
    q = write_fasta(root / "neg.fa", neg)
    ok("train", p, "--negatives", q, "--out", root / "run", "--epochs", "6", "--dim", "32",
           "--heads", "2", "--lr", "3e-3", "--batch-size", "16", "--device", "cuda", "--seed", "1")
    return root / "run", p


def test_train_on_cuda_learns_and_predict_agrees_with_cpu(cuda_run, tmp_path):
    run, fasta = cuda_run
    metrics = json.loads((run / "metrics.json").read_text())
    assert "cuda" in json.dumps(json.loads((run / "run.json").read_text()))
    assert metrics["auroc"] > 0.8
    out = {}
    for n, device in enumerate(("cpu", "cuda")):
        out[device] = tmp_path / f"scores{n}.tsv"
        ok("predict", fasta, "--model", run / "model.pt", "--device", device,
               "--output", out[device])
    # bfloat16/float16 autocast on the GPU against float32 on the CPU
    np.testing.assert_allclose(scores(out["cuda"]), scores(out["cpu"]), atol=3e-2)


def test_motifs_on_cuda_runs_and_records_the_device(cuda_run, tmp_path):
    run, fasta = cuda_run
    ok("motifs", fasta, "--model", run / "model.pt", "--out", tmp_path / "m",
           "--device", "cuda", "--no-match")
    assert (tmp_path / "m" / "heads.tsv").is_file()
    assert "cuda" in (tmp_path / "m" / "run.json").read_text()


def test_contacts_on_cuda_match_the_cpu_ranking(tmp_path):
    maps = {}
    for n, device in enumerate(("cpu", "cuda")):
        ok("contacts", TINY_MSA, "--out", tmp_path / f"c{n}", "--device", device,
               "--steps", "50", "--seed", "3")
        maps[device] = np.load(tmp_path / f"c{n}" / "contact_map.npy")
    upper = np.triu_indices_from(maps["cpu"], k=6)
    r = np.corrcoef(maps["cpu"][upper], maps["cuda"][upper])[0, 1]
    assert r > 0.9
