"""benchmarks/motif_panel.py passes a candidate's ``--train-args`` to every model it trains: the
motif sets' and the pair cases' alike, so a candidate default is measured on both tuning halves."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import motif_panel as mp  # noqa: E402


class _Stop(Exception):
    pass


def _recording_sh(calls: list[list[str]]) -> Any:
    def sh(cmd: list[str], log: Path) -> float:
        calls.append([str(c) for c in cmd])
        raise _Stop  # the command line is all the test needs

    return sh


def _one_sim_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[list[list[str]], Any]:
    """The panel's first simulated set, built as a one-record FASTA; commands recorded, not run."""
    calls: list[list[str]] = []
    monkeypatch.setattr(mp, "sh", _recording_sh(calls))
    pos = tmp_path / "pos.fa"
    pos.write_text(">a\nACGT\n")
    monkeypatch.setattr(mp, "build", lambda s, d, runs: (pos, None, {}))
    return calls, next(s for s in mp.PANEL if s.kind == "sim")


@pytest.mark.parametrize("train_args", [(), ("--dropout", "0.1")])
def test_pair_cases_train_with_the_candidates_arguments(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, train_args: tuple[str, ...]
) -> None:
    calls: list[list[str]] = []
    monkeypatch.setattr(mp, "sh", _recording_sh(calls))
    monkeypatch.setattr(mp, "pair_inputs", lambda c, runs: (tmp_path / "pos.fa", tmp_path / "neg.fa", None))
    case = mp.PAIRS[0]
    with pytest.raises(_Stop):
        mp.run_pair_case(case, tmp_path, threads=1, train_args=train_args)
    (cmd,) = calls
    assert "train" in cmd and "--negatives" in cmd
    assert ("--dropout" in cmd) == bool(train_args)
    if train_args:
        assert cmd[-2:] == list(train_args)


def test_motif_sets_train_with_the_candidates_arguments(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls, sim = _one_sim_set(tmp_path, monkeypatch)
    with pytest.raises(_Stop):
        mp.run_set(sim, tmp_path, quick=False, threads=1, train_args=("--dropout", "0.1"))
    (cmd,) = calls
    assert "train" in cmd and cmd[-2:] == ["--dropout", "0.1"]


def test_motif_sets_run_motifs_with_the_candidates_arguments(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--motif-args`` reaches the ``motifs`` command of a set whose model is already there."""
    calls, sim = _one_sim_set(tmp_path, monkeypatch)
    (tmp_path / sim.name / "model").mkdir(parents=True)
    (tmp_path / sim.name / "model" / "model.pt").write_bytes(b"")
    with pytest.raises(_Stop):
        mp.run_set(sim, tmp_path, quick=False, threads=1, motif_args=("--seqlet-fdr", "0.1"))
    (cmd,) = calls
    assert "motifs" in cmd and "train" not in cmd
    assert cmd[cmd.index("--seqlet-fdr") + 1] == "0.1"
