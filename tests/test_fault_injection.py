"""kill -9 a command at chosen points, then check that ``--out`` holds the old complete results or
the new complete ones, and that the next run goes through.

The command runs in a child process whose ``os.replace`` (every finished output file, and the
swap of the output folder) and folder swap count their calls and SIGKILL the process at the N-th:
so the kill lands after some files are finished and others are not, just before the folder swap,
and just after it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import planted_set, write_fasta

SRC = Path(__file__).resolve().parents[1] / "src"

CHILD = r'''
import atexit, os, signal, sys
from mhsa_bio.io import outputs

kill_at = int(os.environ.get("KILL_AT", "0"))
calls = [0]

def step():
    calls[0] += 1
    if calls[0] == kill_at:
        os.kill(os.getpid(), signal.SIGKILL)

real_replace, real_exchange = os.replace, outputs._exchange

def replace(a, b):
    step()
    return real_replace(a, b)

def exchange(a, b):
    step()  # before the swap
    return real_exchange(a, b)

os.replace = replace
outputs._exchange = exchange
atexit.register(lambda: sys.stderr.write(f"\nSTEPS {calls[0]}\n"))
from mhsa_bio.cli.main import app
sys.argv = ["mhsa-bio", *sys.argv[1:]]
app()
'''


def run_child(tmp_path: Path, args: list[str], kill_at: int = 0) -> subprocess.CompletedProcess:
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    env = {**os.environ, "PYTHONPATH": str(SRC), "KILL_AT": str(kill_at), "MPLBACKEND": "Agg"}
    return subprocess.run([sys.executable, str(script), *map(str, args)], env=env,
                          capture_output=True, text=True, timeout=300)


def content(out: Path) -> dict[str, bytes]:
    """The output folder's files, without what differs between two runs of the same command:
    run.json's time, argv and --out; the seconds column of train_log.tsv; a checkpoint is its
    weights."""
    files = {}
    for p in sorted(out.rglob("*")):
        if not p.is_file():
            continue
        data = p.read_bytes()
        if p.name == "run.json":
            record = json.loads(data)
            record.pop("created"), record.pop("argv"), record["params"].pop("out", None)
            data = json.dumps(record, sort_keys=True).encode()
        elif p.name == "train_log.tsv":
            rows = [line.split("\t") for line in data.decode().splitlines()]
            drop = rows[0].index("seconds")
            data = "\n".join("\t".join(r[:drop] + r[drop + 1:]) for r in rows).encode()
        elif p.suffix == ".pt":
            import torch

            state = torch.load(p, weights_only=True)["state_dict"]
            data = b"".join(k.encode() + v.numpy().tobytes() for k, v in sorted(state.items()))
        files[str(p.relative_to(out))] = data
    return files


def check_kills(tmp_path: Path, args: list[str], out: Path, points: list[int]) -> None:
    """Old results in ``out``; a full run's results in ``new``; kill at each point in turn."""
    assert out.is_dir()
    old = content(out)
    reference = tmp_path / "reference"
    shutil.copytree(out, reference)
    done = run_child(tmp_path, [*args, "--out", reference, "--force"])
    assert done.returncode == 0, done.stderr
    new = content(reference)
    assert new != old
    steps = int(done.stderr.rsplit("STEPS", 1)[1])
    for point in points:
        at = point if point > 0 else steps + point + 1  # -1: the last step
        killed = run_child(tmp_path, [*args, "--out", out, "--force"], kill_at=at)
        assert killed.returncode == -9, (at, killed.stderr)
        now = content(out)
        assert now in (old, new), f"killed at step {at} of {steps}: a mix of old and new"
    again = run_child(tmp_path, [*args, "--out", out, "--force"])
    assert again.returncode == 0, again.stderr
    assert content(out) == new
    assert [p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.")] == []


def test_simulate_killed_anywhere_leaves_old_or_new(tmp_path):
    out = tmp_path / "sim"
    base = ["simulate", "--n", "20", "--length", "40"]
    first = run_child(tmp_path, [*base, "--out", out, "--seed", "1"])
    assert first.returncode == 0, first.stderr
    # steps: promoters.fa, background.fa, truth.tsv, run.json finished; the swap; the clean-up
    check_kills(tmp_path, [*base, "--seed", "2"], out, points=[2, 4, 5, -1])


@pytest.mark.slow
def test_train_killed_anywhere_leaves_old_or_new(tmp_path):
    pos, neg = planted_set(40, 30)
    p = write_fasta(tmp_path / "pos.fa", pos)
    q = write_fasta(tmp_path / "neg.fa", neg)
    base = ["train", p, "--negatives", q, "--epochs", "2", "--dim", "16", "--heads", "2",
            "--layers", "1", "--device", "cpu", "--batch-size", "32", "--threads", "1"]
    out = tmp_path / "run"
    first = run_child(tmp_path, [*base, "--out", out, "--seed", "1"])
    assert first.returncode == 0, first.stderr
    # steps: last.pt and train_log.tsv per epoch, model.pt ... run.json; the swap (-2) and its
    # clean-up (-1) are covered by the simulate test
    check_kills(tmp_path, [*base, "--seed", "2"], out, points=[3, -2])
