"""What a failed, interrupted or concurrent run leaves behind: the old results, whole, and one line.

Every test here is a regression for a way a command used to lose or half-write results, or to
answer a user error with a traceback or an "internal error".
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import assert_clean_error, invoke, planted_set, write_fasta

SMALL = ["--epochs", "1", "--dim", "16", "--heads", "2", "--layers", "1", "--device", "cpu",
         "--batch-size", "32"]


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` with its bytes."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def hidden_leftovers(out: Path) -> list[str]:
    """Names beside ``out`` that a run of it may leave (its lock, temporary or old folder)."""
    return sorted(p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}."))


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One finished 1-epoch training run (a few seconds) and its inputs."""
    root = tmp_path_factory.mktemp("failures")
    pos, neg = planted_set(60, 40)
    files = {"pos": write_fasta(root / "pos.fa", pos), "neg": write_fasta(root / "neg.fa", neg)}
    out = root / "run"
    result = invoke("train", files["pos"], "--negatives", files["neg"], "--out", out, *SMALL)
    assert result.exit_code == 0, result.output
    return {**files, "out": out, "root": root}


def copy_run(trained: dict[str, Path], tmp_path: Path) -> tuple[Path, dict[str, bytes]]:
    import shutil

    out = tmp_path / "run"
    shutil.copytree(trained["out"], out)
    return out, snapshot(out)


# --- 1. the output transaction -------------------------------------------------------------

@pytest.mark.parametrize("bad", [["--lr", "-1"], ["--weight-decay", "-5"], ["--dim", "0"],
                                 ["--layers", "0"], ["--heads", "0"]])
def test_train_force_with_a_bad_option_keeps_the_old_results(trained, tmp_path, bad):
    out, before = copy_run(trained, tmp_path)
    result = invoke("train", trained["pos"], "--negatives", trained["neg"], "--out", out,
                    "--force", *SMALL, *bad)
    assert_clean_error(result, bad[0])
    assert "internal error" not in result.output
    assert snapshot(out) == before and hidden_leftovers(out) == []


def test_train_force_with_a_bad_fasta_keeps_the_old_results(trained, tmp_path):
    out, before = copy_run(trained, tmp_path)
    bad = tmp_path / "bad.fa"
    bad.write_text(">a\nACGTACGTACGTXXACGT\n")
    result = invoke("train", bad, "--out", out, "--force", *SMALL)
    assert_clean_error(result, str(bad), "record 'a'")
    assert snapshot(out) == before and hidden_leftovers(out) == []


def test_contacts_force_with_a_bad_msa_keeps_the_old_results(tmp_path):
    out = tmp_path / "contacts"
    out.mkdir()
    (out / "contacts.tsv").write_text("old\n")
    bad = tmp_path / "ragged.fasta"
    bad.write_text(">a\nACDE\n>b\nACD\n")
    result = invoke("contacts", bad, "--out", out, "--force", "--device", "cpu")
    assert_clean_error(result, str(bad), "aligned length")
    assert snapshot(out) == {"contacts.tsv": b"old\n"} and hidden_leftovers(out) == []
    fresh = tmp_path / "fresh"
    result = invoke("contacts", bad, "--out", fresh, "--device", "cpu")
    assert result.exit_code != 0 and not fresh.exists() and hidden_leftovers(fresh) == []


def test_ctrl_c_during_a_forced_train_keeps_the_old_results_and_the_run_resumes(
        trained, tmp_path, monkeypatch):
    import mhsa_bio.experiment as experiment

    out, before = copy_run(trained, tmp_path)
    real = experiment.write_train_log
    calls = {"n": 0}

    def interrupt_after_first_epoch(path, history):  # type: ignore[no-untyped-def]
        real(path, history)
        calls["n"] += 1
        if calls["n"] == 1:
            raise KeyboardInterrupt

    monkeypatch.setattr(experiment, "write_train_log", interrupt_after_first_epoch)
    args = ["train", trained["pos"], "--negatives", trained["neg"], "--out", out, *SMALL,
            "--epochs", "2"]
    result = invoke(*args, "--force")
    assert result.exit_code == 130
    assert_clean_error(result, "interrupted", ".run.incomplete", "--resume")
    assert snapshot(out) == before  # the old, complete run is still there
    partial = tmp_path / ".run.incomplete"
    assert (partial / "last.pt").is_file() and not (partial / "model.pt").exists()
    monkeypatch.setattr(experiment, "write_train_log", real)
    resumed = invoke(*args, "--resume")
    assert resumed.exit_code == 0, resumed.output
    log = (out / "train_log.tsv").read_text().splitlines()
    assert len(log) == 3 and log[1].startswith("1\t") and log[2].startswith("2\t")
    assert hidden_leftovers(out) == [] and (out / "model.pt").is_file()


def test_a_second_run_on_the_same_out_is_refused(tmp_path):
    from mhsa_bio.io.outputs import Output

    out = tmp_path / "sim"
    holder = Output(out, force=False)
    holder.start()  # another run is writing OUT
    try:
        result = invoke("simulate", "--out", out, "--n", "5", "--length", "40")
        assert_clean_error(result, str(out), "another mhsa-bio run", ".sim.lock")
    finally:
        holder.abort()
    assert not out.exists() and hidden_leftovers(out) == []
    result = invoke("simulate", "--out", out, "--n", "5", "--length", "40")
    assert result.exit_code == 0, result.output
    assert hidden_leftovers(out) == []


def test_a_killed_runs_leftovers_are_cleaned_and_do_not_block_the_next_run(tmp_path):
    out = tmp_path / "sim"
    stale = tmp_path / ".sim.incomplete"
    stale.mkdir()
    (stale / "promoters.fa").write_text(">half\nAC")
    (tmp_path / ".sim.lock").write_text("12345\n")  # a lock file whose holder is dead
    result = invoke("simulate", "--out", out, "--n", "5", "--length", "40")
    assert result.exit_code == 0, result.output
    assert ">half" not in (out / "promoters.fa").read_text()
    assert hidden_leftovers(out) == []


def test_predict_output_file(trained, tmp_path):
    folder = tmp_path / "scores"
    folder.mkdir()
    seqs = trained["pos"]
    result = invoke("predict", seqs, "--model", trained["out"] / "model.pt", "-o", folder,
                    "--force", "--device", "cpu")
    assert_clean_error(result, str(folder), "is a folder")
    assert "internal error" not in result.output
    target = tmp_path / "scores.tsv"
    stale = tmp_path / ".scores.tsv.abcd1234.part"  # what a killed run left
    stale.write_text("half")
    result = invoke("predict", seqs, "--model", trained["out"] / "model.pt", "-o", target,
                    "--device", "cpu")
    assert result.exit_code == 0, result.output
    assert target.read_text().count("\n") == 62 and hidden_leftovers(target) == []


# --- 2. rich markup in user strings --------------------------------------------------------

def test_brackets_in_ids_and_paths_are_printed_as_they_are(tmp_path):
    bad = tmp_path / "reads[rep2].fa"
    bad.write_text(">chr[/1]\nACGTACGTACGTACGTZZ\n")
    result = invoke("train", bad, "--out", tmp_path / "o", *SMALL)
    assert_clean_error(result, "reads[rep2].fa", "chr[/1]")
    assert "MarkupError" not in result.output and "internal error" not in result.output
    missing = invoke("predict", tmp_path / "[bold]x[/].fa", "--model", tmp_path / "m[1].pt",
                     "--device", "cpu")
    assert_clean_error(missing, "m[1].pt")


def test_the_esm_install_hint_keeps_its_brackets(tmp_path):
    import importlib.util

    if importlib.util.find_spec("esm") is not None:
        pytest.skip("fair-esm is installed: no install hint to print")
    seq = tmp_path / "one.fasta"
    seq.write_text(">q\nMKTAYIAKQRQISFVKSHFSRQ\n")
    model = tmp_path / "esm.pt"
    model.write_bytes(b"x")
    result = invoke("contacts", seq, "--model", model, "--out", tmp_path / "o", "--device", "cpu")
    assert_clean_error(result, "pip install 'mhsa-bio[esm]'")


def test_usage_errors_are_one_line():
    result = invoke("train", "x.fa", "--threads", "many")
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and "--threads" in lines[0]
    assert "╭" not in result.output


# --- 3. --resume with other settings -------------------------------------------------------

@pytest.mark.parametrize(("option", "value"), [("--lr", "0.01"), ("--seed", "7"),
                                               ("--val-fraction", "0.3"), ("--epochs", "3")])
def test_resume_refuses_changed_training_settings(trained, tmp_path, option, value):
    out, before = copy_run(trained, tmp_path)
    args = ["train", trained["pos"], "--negatives", trained["neg"], "--out", out, *SMALL]
    result = invoke(*args, "--resume", option, value)
    assert_clean_error(result, "last.pt", option, value)
    assert snapshot(out) == before and hidden_leftovers(out) == []


# --- 4. inputs recorded in the checkpoint --------------------------------------------------

@pytest.mark.parametrize("command", ["motifs", "pairs"])
def test_a_training_file_changed_since_training_is_refused(trained, tmp_path, command):
    import shutil

    import torch

    from mhsa_bio.checkpoint import save_checkpoint

    pos = tmp_path / "pos.fa"
    shutil.copy(trained["pos"], pos)
    ckpt = torch.load(trained["out"] / "model.pt", weights_only=True)
    ckpt["provenance"]["inputs"]["fasta"]["path"] = str(pos)  # same bytes, same sha256
    ckpt["provenance"]["inputs"].pop("negatives")
    model = tmp_path / "model.pt"
    save_checkpoint(ckpt, model)
    pos.write_text(pos.read_text().replace("A", "C", 1))
    meme = tmp_path / "m.meme"
    meme.write_text("MEME version 4\n\nALPHABET= ACGT\n\nstrands: + -\n\nMOTIF M1\n"
                    "letter-probability matrix: alength= 4 w= 3\n"
                    "1 0 0 0\n0 1 0 0\n0 0 1 0\n")
    extra = ["--motifs", meme] if command == "pairs" else ["--no-match"]
    out = tmp_path / "out"
    result = invoke(command, "--model", model, "--out", out, "--device", "cpu", *extra)
    assert_clean_error(result, str(pos), "changed since the model was trained")
    assert not out.exists()


# --- 6. threads ----------------------------------------------------------------------------

def test_threads_beyond_the_cores_are_capped(trained, tmp_path):
    import torch

    before = torch.get_num_threads()
    try:
        result = invoke("predict", trained["pos"], "--model", trained["out"] / "model.pt",
                        "--device", "cpu", "--threads", "100000", "-o", tmp_path / "p.tsv", "-v")
        assert result.exit_code == 0, result.output
        text = " ".join(result.output.split())
        assert "--threads 100000" in text and "CPU threads" in text
    finally:
        torch.set_num_threads(before)


def test_run_json_of_a_forced_run_is_the_new_one(trained, tmp_path):
    out, _ = copy_run(trained, tmp_path)
    result = invoke("train", trained["pos"], "--negatives", trained["neg"], "--out", out,
                    "--force", *SMALL, "--seed", "3")
    assert result.exit_code == 0, result.output
    assert json.loads((out / "run.json").read_text())["params"]["seed"] == 3
    assert hidden_leftovers(out) == []
