"""The train and predict commands end to end, and every bad input they must refuse cleanly."""

import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from conftest import assert_clean_error, invoke, planted_set, random_dna, write_fasta

SMALL = ["--epochs", "1", "--dim", "16", "--heads", "2", "--layers", "1", "--device", "cpu"]


def test_help_does_not_import_torch():
    code = "import sys; from mhsa_bio.cli.main import app; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    out = subprocess.run([sys.executable, "-m", "mhsa_bio", "--help"], capture_output=True,
                         text=True)
    assert out.returncode == 0 and "train" in out.stdout


def test_version():
    result = invoke("--version")
    assert result.exit_code == 0 and result.output.startswith("mhsa-bio ")


def test_train_and_predict_end_to_end(trained_run, tmp_path):
    metrics = json.loads((trained_run / "metrics.json").read_text())
    assert metrics["auroc"] > 0.9
    run = json.loads((trained_run / "run.json").read_text())
    assert run["command"] == "train" and run["params"]["seed"] == 1
    assert "torch" in run["versions"]
    # score sequences twice as long as the training ones (interpolated positions)
    pos, neg = planted_set(20, 120, pos=25, seed=9)
    fa = write_fasta(tmp_path / "long.fa", pos + neg)
    out = tmp_path / "scores.tsv"
    result = invoke("predict", fa, "--model", trained_run / "model.pt", "-o", out,
                    "--device", "cpu")
    assert result.exit_code == 0, result.output
    lines = out.read_text().splitlines()
    assert lines[0].startswith("# mhsa-bio")
    assert lines[1] == "id\tlength\tbackground\tpositive\tcall"
    rows = [line.split("\t") for line in lines[2:]]
    assert [r[0] for r in rows] == [i for i, _ in pos + neg]
    assert all(r[1] == "120" for r in rows)
    assert all(abs(float(r[2]) + float(r[3]) - 1) < 1e-5 for r in rows)


def _predicted(result):
    """(header comment, probabilities of the positive class, calls) of predict's stdout."""
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    rows = [line.split("\t") for line in lines[2:]]
    return lines[0], np.array([float(r[3]) for r in rows]), [r[4] for r in rows]


def test_train_stores_0_5_by_default(trained_run):
    ckpt = torch.load(trained_run / "model.pt", weights_only=True)
    assert ckpt["decision_threshold"] == 0.5
    assert ckpt["metrics"]["threshold_rule"] == "fixed (--threshold)"


def test_threshold_auto_stores_the_one_with_the_best_validation_mcc(planted_fastas, tmp_path):
    from mhsa_bio.checkpoint import load_model
    from mhsa_bio.io.fasta import read_fasta
    from mhsa_bio.metrics import mcc_threshold
    from mhsa_bio.predict import predict_proba

    out = tmp_path / "run"
    result = invoke("train", planted_fastas[0], "--negatives", planted_fastas[1], "--out", out,
                    "--threshold", "auto", *SMALL)
    assert result.exit_code == 0, result.output
    net, ckpt = load_model(out / "model.pt")
    metrics = json.loads((out / "metrics.json").read_text())
    run = json.loads((out / "run.json").read_text())
    cut = ckpt["decision_threshold"]
    assert metrics["decision_threshold"] == cut == run["decision_threshold"]
    assert ckpt["metrics"]["decision_threshold"] == cut
    assert metrics["threshold_rule"] == "max validation MCC"
    # recompute it from the validation records the checkpoint names
    ids = ckpt["provenance"]["split"]["validation_ids"]
    inputs = ckpt["provenance"]["inputs"]
    recs = {r.id: (r, 1) for r in read_fasta(inputs["fasta"]["path"])}
    recs.update({r.id: (r, 0) for r in read_fasta(inputs["negatives"]["path"])})
    val = [recs[i][0] for i in ids]
    labels = np.array([recs[i][1] for i in ids]) == 1
    scores = predict_proba(net, val, device=torch.device("cpu"))[:, 1]
    t, mcc = mcc_threshold(labels, scores)
    assert cut == pytest.approx(t, abs=1e-6)
    assert metrics["at_decision_threshold"]["mcc"] == pytest.approx(mcc, abs=1e-6)


def test_predict_calls_at_the_stored_threshold_or_the_given_one(trained_run, tmp_path):
    from mhsa_bio.checkpoint import read_checkpoint, save_checkpoint

    pos, neg = planted_set(15, 60, seed=5)
    fa = write_fasta(tmp_path / "x.fa", pos + neg)
    _, p, _ = _predicted(invoke("predict", fa, "--model", trained_run / "model.pt"))
    ckpt = read_checkpoint(trained_run / "model.pt")
    cut = float(np.quantile(p, 0.3))  # a cut that calls other records than 0.5 does
    assert np.sum(p >= cut) != np.sum(p >= 0.5)
    save_checkpoint({**ckpt, "decision_threshold": cut}, tmp_path / "cut.pt")
    head, q, calls = _predicted(invoke("predict", fa, "--model", tmp_path / "cut.pt"))
    assert np.allclose(p, q, atol=1e-6)
    assert calls == ["positive" if v >= cut else "background" for v in q]
    assert f">= {cut:.6g} (stored in the checkpoint)" in head
    # --threshold overrides the stored one
    other = float(np.quantile(p, 0.8))
    head, q, calls = _predicted(invoke("predict", fa, "--model", tmp_path / "cut.pt",
                                       "--threshold", str(other)))
    assert calls == ["positive" if v >= other else "background" for v in q]
    assert "(--threshold)" in head
    # a checkpoint written before thresholds were stored calls at 0.5
    old = {k: v for k, v in ckpt.items() if k != "decision_threshold"}
    save_checkpoint(old, tmp_path / "old.pt")
    head, q, calls = _predicted(invoke("predict", fa, "--model", tmp_path / "old.pt"))
    assert calls == ["positive" if v >= 0.5 else "background" for v in q]
    assert ">= 0.5 (none stored in the checkpoint: 0.5)" in head


def test_predict_to_stdout_matches_batch_size_one(trained_run, tmp_path):
    pos, neg = planted_set(6, 60, seed=4)
    fa = write_fasta(tmp_path / "x.fa", pos + neg)
    a = invoke("predict", fa, "--model", trained_run / "model.pt", "--batch-size", "1")
    b = invoke("predict", fa, "--model", trained_run / "model.pt", "--batch-size", "64")
    assert a.exit_code == 0 and b.exit_code == 0
    rows_a = [line.split("\t") for line in a.stdout.splitlines()[2:]]
    rows_b = [line.split("\t") for line in b.stdout.splitlines()[2:]]
    assert len(rows_a) == 12
    for ra, rb in zip(rows_a, rows_b):
        assert ra[0] == rb[0] and abs(float(ra[3]) - float(rb[3])) < 1e-5


def test_default_shuffled_background(tmp_path):
    pos, _ = planted_set(40, 50)
    fa = write_fasta(tmp_path / "pos.fa", pos)
    result = invoke("train", fa, "--out", tmp_path / "run", "--threshold", "0.25", *SMALL)
    assert result.exit_code == 0, result.output
    ckpt = torch.load(tmp_path / "run" / "model.pt", weights_only=True)
    assert ckpt["decision_threshold"] == 0.25  # as given, not chosen
    assert ckpt["metrics"]["threshold_rule"] == "fixed (--threshold)"
    assert ckpt["provenance"]["background"] == "shuffle"
    assert ckpt["provenance"]["inputs"]["fasta"]["sha256"]


def _trained_with(tmp_path, *options):
    """(model, run.json) of a small run on a planted set with ``options``."""
    from mhsa_bio.checkpoint import load_model

    pos, _ = planted_set(40, 50)
    fa = write_fasta(tmp_path / "pos.fa", pos)
    result = invoke("train", fa, "--out", tmp_path / "run", *options, *SMALL)
    assert result.exit_code == 0, result.output
    net, _ = load_model(tmp_path / "run" / "model.pt")
    return net, json.loads((tmp_path / "run" / "run.json").read_text())


def test_min_epochs_auto_is_resolved_recorded_and_kept(tmp_path):
    pos, _ = planted_set(40, 50)
    fa = write_fasta(tmp_path / "pos.fa", pos)
    result = invoke("train", fa, "--out", tmp_path / "run", "--min-epochs", "auto", *SMALL[2:],
                    "--epochs", "7", "--patience", "1")
    assert result.exit_code == 0, result.output
    run = json.loads((tmp_path / "run" / "run.json").read_text())
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert run["train_config"]["min_epochs"] == metrics["min_epochs"] == 3  # ceil(7 / 3)
    assert metrics["epochs_run"] >= 3


def test_stem_activation_is_trained_recorded_and_reloaded(tmp_path):
    net, run = _trained_with(tmp_path, "--stem-activation", "gelu")
    assert net.config.stem_activation == "gelu"
    assert isinstance(net.stem_act, torch.nn.GELU)
    assert run["model_config"]["stem_activation"] == "gelu"


def test_stem_guide_is_trained_recorded_and_reloaded(tmp_path):
    net, run = _trained_with(tmp_path, "--stem-guide", "1")
    assert net.config.stem_guide == 1.0
    assert run["model_config"]["stem_guide"] == 1.0
    torch.manual_seed(run["params"]["seed"])  # the model the run started from
    fresh = type(net)(net.config)
    assert not torch.equal(fresh.stem_head[0].weight, net.stem_head[0].weight)  # it was trained


def test_ensemble_trains_members_and_predict_averages_them(tmp_path):
    net, run = _trained_with(tmp_path, "--ensemble", "2")
    out = tmp_path / "run"
    assert run["params"]["ensemble"] == 2 and run["train_config"]["ensemble"] == 2
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["ensemble"] == 2 and (out / "member2" / "model.pt").exists()
    pos, neg = planted_set(6, 60, seed=4)
    fa = write_fasta(tmp_path / "x.fa", pos + neg)
    _, p, _ = _predicted(invoke("predict", fa, "--model", out / "model.pt"))
    _, p1, _ = _predicted(invoke("predict", fa, "--model", out / "member1" / "model.pt"))
    _, p2, _ = _predicted(invoke("predict", fa, "--model", out / "member2" / "model.pt"))
    assert np.allclose(p, (p1 + p2) / 2, atol=2e-5) and not np.allclose(p1, p2, atol=1e-3)


def test_labels_train_three_classes(tmp_path):
    import numpy as np

    rng = np.random.default_rng(0)
    recs, lines = [], ["id\tclass"]
    for i in range(60):
        cls = ["a", "b", "c"][i % 3]
        motif = {"a": "GGGGGGGG", "b": "TATAAAAT", "c": ""}[cls]
        s = random_dna(rng, 40)
        recs.append((f"s{i}", s[:10] + motif + s[10 + len(motif):]))
        lines.append(f"s{i}\t{cls}")
    fa = write_fasta(tmp_path / "x.fa", recs)
    (tmp_path / "labels.tsv").write_text("\n".join(lines) + "\n")
    result = invoke("train", fa, "--labels", tmp_path / "labels.tsv", "--out", tmp_path / "r",
                    *SMALL)
    assert result.exit_code == 0, result.output
    ckpt = torch.load(tmp_path / "r" / "model.pt", weights_only=True)
    assert ckpt["classes"] == ["a", "b", "c"]
    assert ckpt["model_type"] == "promoter" and ckpt["config"]["n_classes"] == 3


@pytest.mark.parametrize(
    ("content", "needles"),
    [
        (b"", ["empty file"]),
        (b"; only a comment\n", ["no FASTA records"]),
        (b">a\n>b\nACGTACGTACGTACGT\n", ["record 'a'", "empty sequence"]),
        (b">a\nMKVLEEFFPQ\n", ["record 'a'", "protein sequence in a DNA file"]),
        (bytes(range(256)) * 8, ["binary file"]),
        (b">a\nACGTACGTACGTAC\n>a\nACGTACGTACGTAC\n", ["record 'a'", "duplicate id"]),
        (b">a\nACGTACGTACGTAC\n>b\nACGT\n", ["record 'b'", "shorter", "11"]),
    ],
)
def test_bad_fasta_input(tmp_path, content, needles):
    fa = tmp_path / "in.fa"
    fa.write_bytes(content)
    result = invoke("train", fa, "--out", tmp_path / "run", *SMALL)
    assert_clean_error(result, str(fa), *needles)
    assert not (tmp_path / "run").exists()


def test_labels_naming_unknown_ids(tmp_path):
    pos, _ = planted_set(10, 40)
    fa = write_fasta(tmp_path / "x.fa", pos)
    labels = tmp_path / "l.tsv"
    labels.write_text("".join(f"{i}\t{'ab'[k % 2]}\n" for k, (i, _) in enumerate(pos)) +
                      "ghost\ta\n")
    result = invoke("train", fa, "--labels", labels, "--out", tmp_path / "run", *SMALL)
    assert_clean_error(result, str(labels), "ghost", "not in the FASTA")
    assert not (tmp_path / "run").exists()


def test_existing_output_folder_needs_force(planted_fastas, tmp_path):
    pos, neg = planted_fastas
    out = tmp_path / "run"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    result = invoke("train", pos, "--negatives", neg, "--out", out, *SMALL)
    assert_clean_error(result, str(out), "--force")
    assert (out / "keep.txt").exists()
    result = invoke("train", pos, "--negatives", neg, "--out", out, "--force", *SMALL)
    assert result.exit_code == 0, result.output
    assert not (out / "keep.txt").exists() and (out / "model.pt").exists()


def test_checkpoint_that_is_not_ours(tmp_path, planted_fastas):
    bogus = tmp_path / "bogus.pt"
    torch.save({"weights": torch.zeros(3)}, bogus)
    result = invoke("predict", planted_fastas[0], "--model", bogus, "-o", tmp_path / "s.tsv")
    assert_clean_error(result, str(bogus), "not an mhsa-bio checkpoint")
    assert not (tmp_path / "s.tsv").exists()
    text = tmp_path / "text.pt"
    text.write_text("hello")
    result = invoke("predict", planted_fastas[0], "--model", text)
    assert_clean_error(result, str(text), "not a readable mhsa-bio checkpoint")


def test_bad_options(planted_fastas, tmp_path):
    pos, neg = planted_fastas
    result = invoke("train", pos, "--out", tmp_path / "r", "--dim", "30", "--heads", "4")
    assert_clean_error(result, "not divisible")
    result = invoke("train", pos, "--out", tmp_path / "r", "--stem-kernel", "10")
    assert_clean_error(result, "odd")
    result = invoke("train", pos, "--out", tmp_path / "r", "--stem-activation", "tanh")
    assert_clean_error(result, "--stem-activation tanh", "none, gelu, relu")
    result = invoke("train", pos, "--out", tmp_path / "r", "--stem-guide", "-1")
    assert_clean_error(result, "--stem-guide -1")
    result = invoke("train", pos, "--out", tmp_path / "r", "--jitter", "3", "--shift-augment")
    assert_clean_error(result, "--jitter and --shift-augment")
    result = invoke("train", pos, "--out", tmp_path / "r", "--device", "cuda")
    if not torch.cuda.is_available():
        assert_clean_error(result, "no CUDA GPU")
    result = invoke("train", "--out", tmp_path / "r")
    assert_clean_error(result, "no input")
    for bad in ("1.5", "nan", "best"):
        result = invoke("train", pos, "--out", tmp_path / "r", "--threshold", bad)
        assert_clean_error(result, f"--threshold {bad}", "'auto' or a probability")
    for bad in ("-1", "2.5", "third"):
        result = invoke("train", pos, "--out", tmp_path / "r", "--min-epochs", bad)
        assert_clean_error(result, f"--min-epochs {bad}", "'auto' or a whole number")
    assert not (tmp_path / "r").exists()


def _genome(tmp_path, n=40, length=60):
    pos, neg = planted_set(n, length, seed=2)
    genome = tmp_path / "genome.fa"
    chrom = "".join(s for _, s in pos + neg)
    genome.write_text(">chrT\n" + "\n".join(chrom[i:i + 60] for i in range(0, len(chrom), 60))
                      + "\n")
    bed = tmp_path / "peaks.bed"
    bed.write_text("".join(f"chrT\t{i * length}\t{(i + 1) * length}\tpk{i}\t0\t+\n"
                           for i in range(n)))
    return genome, bed, len(chrom)


def test_train_from_bed_and_genome(tmp_path):
    genome, bed, _ = _genome(tmp_path)
    result = invoke("train", "--bed", bed, "--genome", genome, "--out", tmp_path / "run", *SMALL)
    assert result.exit_code == 0, result.output
    ckpt = torch.load(tmp_path / "run" / "model.pt", weights_only=True)
    assert ckpt["provenance"]["inputs"]["bed"]["path"].endswith("peaks.bed")
    assert ckpt["provenance"]["inputs"]["genome"]["path"].endswith("genome.fa")


def test_bed_line_outside_the_genome(tmp_path):
    genome, bed, size = _genome(tmp_path)
    with bed.open("a") as handle:
        handle.write(f"chrT\t{size - 10}\t{size + 50}\tbeyond\t0\t-\n")
    result = invoke("train", "--bed", bed, "--genome", genome, "--out", tmp_path / "run", *SMALL)
    assert_clean_error(result, str(bed), "chrT")
    assert not (tmp_path / "run").exists()


def test_genome_without_write_access_for_its_index(tmp_path, monkeypatch):
    from mhsa_bio.io import genome as genome_mod

    genome, bed, _ = _genome(tmp_path)
    real = genome_mod.os.access
    monkeypatch.setattr(genome_mod.os, "access",
                        lambda p, mode: False if (mode & genome_mod.os.W_OK and
                                                  str(p) == str(genome.parent)) else real(p, mode))
    result = invoke("train", "--bed", bed, "--genome", genome, "--out", tmp_path / "run", *SMALL)
    assert_clean_error(result, str(genome), "cannot write index")
    assert not (tmp_path / "run").exists()


def test_cli_defaults_are_the_library_defaults():
    """`mhsa-bio train` repeats TrainConfig's and PromoterConfig's defaults (the CLI module must
    not import torch to read them): keep both in step."""
    import inspect

    from mhsa_bio.cli.train import train
    from mhsa_bio.models.promoter import PromoterConfig
    from mhsa_bio.training.trainer import TrainConfig

    cli = inspect.signature(train).parameters
    tc, pc = TrainConfig(), PromoterConfig()
    pairs = {"epochs": tc.epochs, "batch_size": tc.batch_size, "lr": tc.lr,
             "weight_decay": tc.weight_decay, "patience": tc.patience,
             "val_fraction": tc.val_fraction, "shuffles": tc.shuffles_per_positive,
             "rc_augment": tc.rc_augment, "shift_augment": tc.shift_augment, "amp": tc.amp, "seed": tc.seed,
             "class_weights": tc.class_weights,
             "stem_kernel": pc.stem_kernel, "dropout": pc.dropout,
             "stem_activation": pc.stem_activation}
    for name, library in pairs.items():
        assert cli[name].default == library, name
    from mhsa_bio.cli.train import _min_epochs

    assert _min_epochs(cli["min_epochs"].default) == tc.min_epochs
