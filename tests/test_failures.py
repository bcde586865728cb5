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
    import mhsa_bio.training.run as experiment

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


# --- 5 and 7. user errors that were "internal errors" or accepted silently -----------------

def _checkpoint_with(trained, tmp_path, change) -> Path:  # type: ignore[no-untyped-def]
    import torch

    from mhsa_bio.checkpoint import save_checkpoint

    ckpt = torch.load(trained["out"] / "model.pt", weights_only=True)
    change(ckpt)
    path = tmp_path / "changed.pt"
    save_checkpoint(ckpt, path)
    return path


MEME = ("MEME version 4\n\nALPHABET= ACGT\n\nstrands: + -\n\nMOTIF M1\n"
        "letter-probability matrix: alength= 4 w= 3\n1 0 0 0\n0 1 0 0\n0 0 1 0\n")


@pytest.mark.parametrize("command", ["motifs", "pairs"])
def test_bad_checkpoints_are_named_in_one_line(trained, tmp_path, command):
    (tmp_path / "m.meme").write_text(MEME)
    extra = (["--motifs", tmp_path / "m.meme", "--sequences", trained["pos"]]
             if command == "pairs" else [trained["pos"], "--no-match"])
    cases = [
        (lambda c: c["config"].update(layers=0), ["layers 0"]),
        (lambda c: c.update(surprise=1), ["unknown key 'surprise'"]),
    ]
    for change, needles in cases:
        model = _checkpoint_with(trained, tmp_path, change)
        result = invoke(command, "--model", model, "--out", tmp_path / "o", "--device", "cpu",
                        *extra)
        assert_clean_error(result, str(model), *needles)
        assert "internal error" not in result.output and not (tmp_path / "o").exists()
    junk = tmp_path / "junk.pt"
    junk.write_bytes(bytes(range(256)) * 20)
    result = invoke(command, "--model", junk, "--out", tmp_path / "o", "--device", "cpu",
                    *extra)
    assert_clean_error(result, str(junk), "not a PyTorch file")


def test_one_very_long_sequence_is_refused_not_allocated(trained, tmp_path):
    from mhsa_bio.attention import physical_memory

    length = 300_000  # 1 layer x 2 heads x L² x 4 bytes = 720 GB of attention
    if physical_memory() // 2 > 8 * length**2:
        pytest.skip("this machine has the memory for it")
    long = write_fasta(tmp_path / "long.fa", [("big", "ACGT" * (length // 4))])
    result = invoke("motifs", long, "--model", trained["out"] / "model.pt", "--out",
                    tmp_path / "o", "--device", "cpu", "--no-match")
    assert_clean_error(result, "record 'big'", "GiB", "windows")


def test_attention_size_check_names_the_record():
    from mhsa_bio.attention import check_attention_size
    from mhsa_bio.errors import InputError
    from mhsa_bio.io.fasta import Record
    from mhsa_bio.models.promoter import PromoterConfig, PromoterTransformer

    model = PromoterTransformer(PromoterConfig(dim=16, heads=2, layers=1))
    records = [Record("short", "A" * 100), Record("long", "A" * 1000)]
    check_attention_size(model, records, source="x.fa", limit=8 * 1001**2)
    with pytest.raises(InputError, match="x.fa: record 'long' of 1,000 bp.*windows"):
        check_attention_size(model, records, source="x.fa", limit=8 * 1001**2 - 1)
    with pytest.raises(InputError, match="in a batch of 2.*--batch-size 1 or less"):
        check_attention_size(model, records, source="x.fa", batch_size=64,
                             limit=8 * 1001**2 + 5)


def test_options_out_of_range_are_refused(trained, tmp_path):
    model = trained["out"] / "model.pt"
    result = invoke("motifs", trained["pos"], "--model", model, "--out", tmp_path / "o",
                    "--device", "cpu", "--no-match", "--window", "1000000")
    assert_clean_error(result, "--window 1000000", "longest sequence")
    (tmp_path / "m.meme").write_text(MEME)
    tiny = write_fasta(tmp_path / "tiny.fa", [("one", "A")])
    result = invoke("pairs", "--model", model, "--motifs", tmp_path / "m.meme", "--sequences",
                    tiny, "--out", tmp_path / "o", "--device", "cpu")
    assert_clean_error(result, str(tiny), "record 'one'", "shorter")
    assert not (tmp_path / "o").exists()


def _msa(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


@pytest.mark.parametrize(("name", "content", "args", "needles"), [
    ("cut.sto", "# STOCKHOLM 1.0\nq ACDEFGHIKL\nr ACDEFGHIKM\n", [], ["closing '//'"]),
    ("dna.fasta", ">q\nACGTACGTACGTAC\n>r\nACGTACGTACGTAA\n", [], ["DNA or RNA", "protein"]),
    ("bad.fasta", b">q\xe9\nACDEFGHIKL\n>r\nACDEFGHIKM\n", [], ["line 1", "0xe9", "UTF-8"]),
    ("ok.fasta", ">q\nACDEFGHIKL\n>r\nACDEFGHIKM\n", ["--lr", "0"], ["--lr 0"]),
])
def test_contacts_bad_inputs_are_one_line_and_write_nothing(tmp_path, name, content, args,
                                                            needles):
    msa = _msa(tmp_path, name, content)
    out = tmp_path / "o"
    result = invoke("contacts", msa, "--out", out, "--device", "cpu", *args)
    assert_clean_error(result, *needles)
    assert not out.exists() and hidden_leftovers(out) == []


def test_a_byte_order_mark_is_accepted(tmp_path):
    from mhsa_bio.io.fasta import read_fasta
    from mhsa_bio.io.genome import read_bed
    from mhsa_bio.io.meme import read_meme
    from mhsa_bio.io.msa import read_msa

    bom = "\ufeff"
    fa = _msa(tmp_path, "x.fa", bom + ">a\nACGT\n")
    assert [r.id for r in read_fasta(fa)] == ["a"]
    bed = _msa(tmp_path, "x.bed", bom + "chr1\t0\t10\n")
    assert [r.chrom for r in read_bed(bed)] == ["chr1"]
    meme = _msa(tmp_path, "x.meme", bom + MEME)
    assert [m.id for m in read_meme(meme)] == ["M1"]
    sto = _msa(tmp_path, "x.sto", bom + "# STOCKHOLM 1.0\nq ACDEFGHIKL\nr ACDEFGHIKM\n//\n")
    assert read_msa(sto).format == "stockholm"


def test_a_non_utf8_byte_names_its_line(tmp_path):
    from mhsa_bio.errors import InputError
    from mhsa_bio.io.genome import read_bed

    bed = _msa(tmp_path, "x.bed", b"chr1\t0\t10\nchr1\t5\t9\tname\x96x\n")
    with pytest.raises(InputError, match="x.bed: line 2: byte 0x96 is not UTF-8"):
        read_bed(bed)


def test_scan_errors_name_the_genome_file(trained, tmp_path):
    from Bio import bgzf

    model = trained["out"] / "model.pt"
    bad = tmp_path / "letters.fa"
    bad.write_text(">chr1\n" + "ACGT" * 30 + "JJ" + "ACGT" * 30 + "\n")
    result = invoke("scan", bad, "--model", model, "--out", tmp_path / "o", "--device", "cpu")
    assert_clean_error(result, str(bad), "chromosome 'chr1'", "invalid DNA letter 'J'")
    packed = tmp_path / "g.fa.gz"
    with bgzf.BgzfWriter(str(packed), "wb") as handle:
        handle.write(b">chr1\n" + b"\n".join([b"ACGTTGCA" * 8] * 2000) + b"\n")
    data = packed.read_bytes()
    cut = tmp_path / "cut.fa.gz"
    cut.write_bytes(data[: len(data) // 2])
    result = invoke("scan", cut, "--model", model, "--out", tmp_path / "o", "--device", "cpu")
    assert_clean_error(result, str(cut), "truncated or corrupt")
    assert "internal error" not in result.output and not (tmp_path / "o").exists()


def test_a_stale_fai_is_rebuilt(tmp_path):
    import os

    from mhsa_bio.io.genome import open_genome

    genome = tmp_path / "g.fa"
    genome.write_text(">chr1 first\n" + "ACGT" * 50 + "\n>chr2\n" + "AC" * 70 + "\n")
    open_genome(genome).close()
    index = tmp_path / "g.fa.fai"
    assert index.exists()
    genome.write_text(">chr1\n" + "ACGT" * 20 + "\n>chrX\n" + "AC" * 70 + "\n")
    old = index.stat().st_mtime - 100
    os.utime(genome, (old, old))  # older than its (now wrong) index
    fasta = open_genome(genome)
    assert list(fasta.keys()) == ["chr1", "chrX"] and len(fasta["chr1"]) == 80
    fasta.close()


def test_a_full_disk_is_one_line_and_leaves_nothing(tmp_path, monkeypatch):
    import errno

    import mhsa_bio.io.fasta as fasta

    def full(handle, records):  # type: ignore[no-untyped-def]
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "x"))

    monkeypatch.setattr(fasta, "write_fasta", full)
    out = tmp_path / "sim"
    result = invoke("simulate", "--out", out, "--n", "5", "--length", "40")
    assert_clean_error(result, "No space left on device")
    assert "internal error" not in result.output
    assert not out.exists() and hidden_leftovers(out) == []
