"""``train --kmer-member``: the k-mer logistic regression stored beside the Transformer and averaged
with it by predict and --folds."""

import csv
import itertools
import json
import re

import numpy as np
import pytest
import torch
from conftest import assert_clean_error, invoke, planted_set, write_fasta

SMALL = ["--epochs", "1", "--dim", "16", "--heads", "2", "--layers", "1", "--device", "cpu"]


def _naive_frequencies(seq: str) -> np.ndarray:
    out = []
    for k in (3, 4, 5, 6):
        index = {"".join(p): i for i, p in enumerate(itertools.product("ACGT", repeat=k))}
        counts = np.zeros(4**k)
        for i in range(len(seq) - k + 1):
            word = seq[i:i + k]
            if word in index:  # k-mers holding N are not counted
                counts[index[word]] += 1
        out.append(counts)
    return np.concatenate(out) / len(seq)


def test_kmer_frequencies_count_every_kmer_and_skip_n_and_padding():
    from mhsa_bio.alphabet import encode_batch
    from mhsa_bio.models.kmer import N_FEATURES, kmer_frequencies
    from mhsa_bio.training.kmer import features

    rng = np.random.default_rng(0)
    seqs = ["".join(rng.choice(list("ACGTN"), p=[0.24, 0.24, 0.24, 0.24, 0.04], size=n))
            for n in (5, 17, 40)] + ["ACG", "AC"]
    tokens, lengths = encode_batch(seqs)  # padded to 40
    got = kmer_frequencies(torch.from_numpy(tokens), torch.from_numpy(lengths), dtype=torch.float64)
    assert got.shape == (len(seqs), N_FEATURES)
    for row, seq in zip(got.numpy(), seqs):
        np.testing.assert_allclose(row, _naive_frequencies(seq), atol=1e-12)
    assert got[4].sum() == 0  # "AC" holds no 3-mer
    np.testing.assert_allclose(features(seqs, chunk=2).numpy(), got.numpy(), atol=1e-12)  # chunked


def _composition_set(n: int, seed: int) -> tuple[list[str], np.ndarray]:
    """Positives rich in CGCG, negatives uniform: a k-mer task."""
    rng = np.random.default_rng(seed)
    seqs, labels = [], []
    for i in range(n):
        s = list(rng.choice(list("ACGT"), size=60))
        if i % 2:
            for at in rng.choice(55, size=3, replace=False):
                s[at:at + 4] = list("CGCG")
        seqs.append("".join(s)[:60])
        labels.append(i % 2)
    return seqs, np.array(labels, dtype=np.int64)


def test_fit_separates_a_composition_task_and_the_loaded_member_scores_as_fitted():
    from mhsa_bio.metrics import auroc
    from mhsa_bio.training.kmer import L2_GRID, fit_kmer_member, proba

    tr, ytr = _composition_set(200, 1)
    va, yva = _composition_set(60, 2)
    te, yte = _composition_set(100, 3)
    fit = fit_kmer_member(tr, ytr, va, yva)
    assert fit.l2 in L2_GRID and fit.val_scores.shape == (60,)
    assert auroc(yte == 1, proba(fit.model, te)) > 0.95
    _assert_loads_as_fitted(fit, te)


def _assert_loads_as_fitted(fit, seqs: list[str]):
    """Through the checkpoint entry (float32) and the module's forward: the same probabilities
    as the fitted (float64) member. Returns the loaded member."""
    from mhsa_bio.alphabet import encode_batch
    from mhsa_bio.models.kmer import KmerLogistic
    from mhsa_bio.training.kmer import proba

    loaded = KmerLogistic.from_checkpoint(fit.model.to_checkpoint(l2=fit.l2, average_weight=0.5))
    tokens, lengths = encode_batch(seqs)
    got = loaded(torch.from_numpy(tokens), torch.from_numpy(lengths)).numpy()
    np.testing.assert_allclose(got, proba(fit.model, seqs), atol=1e-4)
    return loaded


@pytest.fixture(scope="module")
def kmer_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("kmer")
    pos, neg = planted_set(80, 60, seed=3)
    fa, nf = write_fasta(tmp / "pos.fa", pos), write_fasta(tmp / "neg.fa", neg)
    out = tmp / "run"
    result = invoke("train", fa, "--negatives", nf, "--out", out, "--kmer-member", "--seed", "2", *SMALL)
    assert result.exit_code == 0, result.output
    assert "k-mer member" in result.output
    return fa, nf, out


def _predict_and_parts(out, records, tmp_path):
    """``predict`` on ``records`` with the checkpoint in ``out``: its result, its P(positive), and
    the Transformer's and the k-mer member's own P(positive), computed apart (the member from its
    features and buffers, not through its forward)."""
    from mhsa_bio.checkpoint import load_model, read_checkpoint
    from mhsa_bio.models.kmer import KmerLogistic
    from mhsa_bio.predict import predict_proba
    from mhsa_bio.training.kmer import features

    member = KmerLogistic.from_checkpoint(read_checkpoint(out / "model.pt")["kmer_member"])
    net, _ = load_model(out / "model.pt")  # the Transformer alone
    p_net = predict_proba(net, records, device=torch.device("cpu"))[:, 1]
    z = (features([r.seq for r in records], width=member.width, bin_width=member.bin_width,
                  frames=member.frames).float() - member.mean) / member.scale
    p_kmer = torch.sigmoid(z @ member.weight + member.bias).numpy()
    both = write_fasta(tmp_path / "both.fa", [(r.id, r.seq) for r in records])
    result = invoke("predict", both, "--model", out / "model.pt", "--device", "cpu")
    assert result.exit_code == 0, result.output
    got = np.array([float(line.split("\t")[3]) for line in result.stdout.splitlines()[2:]])
    return result, got, p_net, p_kmer


def test_predict_averages_the_transformer_and_the_member(kmer_run, tmp_path):
    from mhsa_bio.checkpoint import read_checkpoint
    from mhsa_bio.io.fasta import read_fasta

    fa, nf, out = kmer_run
    assert read_checkpoint(out / "model.pt")["kmer_member"]["average_weight"] == 0.5
    result, got, p_net, p_kmer = _predict_and_parts(out, read_fasta(fa) + read_fasta(nf), tmp_path)
    assert "k-mer member's averaged 0.5:0.5" in result.stdout.splitlines()[0]
    np.testing.assert_allclose(got, (p_net + p_kmer) / 2, atol=2e-5)
    assert np.abs(got - p_net).max() > 1e-3  # the member is really in the average


def test_metrics_are_the_averaged_models_with_the_transformers_beside(kmer_run):
    _, _, out = kmer_run
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics["kmer_member"]) == {"l2", "average_weight", "positional_width", "positional_bin",
                                           "frames", "val_auroc", "val_auprc"}
    assert metrics["kmer_member"]["positional_width"] == metrics["kmer_member"]["positional_bin"] == 0
    assert metrics["kmer_member"]["frames"] is False
    assert "auroc" in metrics["transformer"] and "decision_threshold" in metrics["transformer"]
    assert metrics["auroc"] != metrics["transformer"]["auroc"]


def test_motifs_read_the_transformer_of_a_model_with_a_member(kmer_run):
    from mhsa_bio.checkpoint import load_model, load_predictor
    from mhsa_bio.models.promoter import PromoterTransformer
    from mhsa_bio.motifs.run import model_auroc

    net, ckpt = load_model(kmer_run[2] / "model.pt")
    assert isinstance(net, PromoterTransformer) and "kmer_member" in ckpt
    # "nothing learned" is judged on the Transformer's AUROC, not the average's
    assert model_auroc(ckpt) == ckpt["metrics"]["transformer"]["auroc"] != ckpt["metrics"]["auroc"]
    both, _ = load_predictor(kmer_run[2] / "model.pt")
    tokens, lengths = torch.zeros(1, 30, dtype=torch.int64), torch.tensor([30])
    with pytest.raises(ValueError, match="read attention from its Transformer"):
        both(tokens, lengths, return_attention=True)


def test_folds_and_ensemble_carry_the_member(tmp_path):
    from mhsa_bio.checkpoint import read_checkpoint

    pos, neg = planted_set(40, 60, seed=4)
    fa, nf = write_fasta(tmp_path / "p.fa", pos), write_fasta(tmp_path / "n.fa", neg)
    out = tmp_path / "cv"
    result = invoke("train", fa, "--negatives", nf, "--out", out, "--folds", "2", "--kmer-member", *SMALL)
    assert result.exit_code == 0, result.output
    assert all("kmer_member" in read_checkpoint(out / f"fold{k}" / "model.pt") for k in (0, 1))
    with open(out / "cv_metrics.tsv") as handle:
        assert [r["fold"] for r in csv.DictReader(handle, delimiter="\t")] == ["0", "1", "mean", "sd"]
    out = tmp_path / "ens"
    result = invoke("train", fa, "--negatives", nf, "--out", out, "--ensemble", "2", "--kmer-member", *SMALL)
    assert result.exit_code == 0, result.output
    assert "kmer_member" in read_checkpoint(out / "model.pt")
    assert "kmer_member" not in read_checkpoint(out / "member1" / "model.pt")  # fitted once, on top


def test_a_damaged_member_is_refused_in_one_line(kmer_run, tmp_path):
    from mhsa_bio.checkpoint import read_checkpoint, save_checkpoint

    ckpt = read_checkpoint(kmer_run[2] / "model.pt")
    ckpt["kmer_member"]["weight"] = ckpt["kmer_member"]["weight"][:10]
    bad = tmp_path / "bad.pt"
    save_checkpoint(ckpt, bad)
    result = invoke("predict", kmer_run[0], "--model", bad)
    assert_clean_error(result, str(bad), "weight")


def test_kmer_member_needs_two_classes(tmp_path):
    pos, neg = planted_set(30, 60, seed=6)
    fa = write_fasta(tmp_path / "all.fa", pos + neg)
    labels = tmp_path / "labels.tsv"
    labels.write_text("".join(f"{rid}\t{'abc'[i % 3]}\n" for i, (rid, _) in enumerate(pos + neg)))
    result = invoke("train", fa, "--labels", labels, "--out", tmp_path / "o", "--kmer-member", *SMALL)
    assert_clean_error(result, "--kmer-member", "3 classes")
    assert not (tmp_path / "o" / "model.pt").exists()


def test_benchmark_inner_scores_are_the_ones_train_scored(kmer_run, monkeypatch):
    """benchmarks/promoters.py scores a --kmer-member candidate's inner split as train does: the
    member by its fit without that split, not by the refit that saw it."""
    from pathlib import Path

    from mhsa_bio.checkpoint import load_predictor
    from mhsa_bio.io.fasta import read_fasta
    from mhsa_bio.metrics import auroc
    from mhsa_bio.predict import predict_proba
    from mhsa_bio.training.split import make_split
    from mhsa_bio.training.trainer import TrainConfig

    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from promoters import inner_scores

    fa, nf, out = kmer_run
    net, ckpt = load_predictor(out / "model.pt")
    config = TrainConfig(**ckpt["provenance"]["train_config"])
    split = make_split(read_fasta(fa), negatives=read_fasta(nf), config=config)
    scores = inner_scores(net, split, config, torch.device("cpu"))
    metrics = json.loads((out / "metrics.json").read_text())
    y = split.val.labels == 1
    assert auroc(y, scores) == pytest.approx(metrics["auroc"], abs=1e-6)
    refit = predict_proba(net, split.val.records, device=torch.device("cpu"))[:, 1]
    assert np.abs(refit - scores).max() > 1e-4


def test_scan_scores_windows_with_the_member(kmer_run, tmp_path):
    from mhsa_bio.checkpoint import load_predictor
    from mhsa_bio.io.fasta import Record
    from mhsa_bio.predict import predict_proba

    rng = np.random.default_rng(8)
    chrom = "".join(rng.choice(list("ACGT"), size=600))
    genome = tmp_path / "g.fa"
    genome.write_text(f">chr1\n{chrom}\n")
    out = tmp_path / "scan"
    result = invoke("scan", genome, "--model", kmer_run[2] / "model.pt", "--out", out, "--device", "cpu",
                    "--window", "60", "--step", "60", "--strand", "+")
    assert result.exit_code == 0, result.output
    rows = [line.split("\t") for line in (out / "scores.bedGraph").read_text().splitlines()
            if line.startswith("chr1")]
    starts = [int(r[1]) for r in rows]
    assert starts == list(range(0, 600, 60)) and all(int(r[2]) - int(r[1]) == 60 for r in rows)
    net, _ = load_predictor(kmer_run[2] / "model.pt")
    windows = [Record(f"w{s}", chrom[s:s + 60]) for s in starts]
    expect = predict_proba(net, windows, device=torch.device("cpu"))[:, 1]
    np.testing.assert_allclose([float(r[3]) for r in rows], expect, atol=1e-4)


# --kmer-positional: the one-hot 1- to 3-mers at each position


def _naive_positional(seq: str, width: int, bin_width: int = 0) -> np.ndarray:
    out = []  # the exact block: bins of one position
    for k, per in [(1, 1), (2, 1), (3, 1)] + ([(3, bin_width), (4, bin_width)] if bin_width else []):
        index = {"".join(p): i for i, p in enumerate(itertools.product("ACGT", repeat=k))}
        block = np.zeros((-(-max(width - k + 1, 0) // per), 4**k))
        for i in range(width - k + 1):
            word = seq[i:i + k]
            if len(word) == k and word in index:
                block[i // per, index[word]] = 1
        out.append(block.ravel())
    return np.concatenate(out)


def test_positional_kmers_mark_each_position_and_skip_n_padding_and_overhang():
    from mhsa_bio.alphabet import encode_batch
    from mhsa_bio.models.kmer import n_positional, positional_kmers

    seqs = ["ACGTTGCA", "ACNTA", "GG", "TTTTACGTACGT"]  # padded to 12; the last runs past width 8
    tokens, _ = encode_batch(seqs)
    got = positional_kmers(torch.from_numpy(tokens), 8, dtype=torch.float64).numpy()
    assert got.shape == (4, n_positional(8)) == (4, 8 * 4 + 7 * 16 + 6 * 64)
    for row, seq in zip(got, seqs):
        np.testing.assert_array_equal(row, _naive_positional(seq, 8))
    assert got[0, :32].sum() == 8 and got[2].sum() == 2 + 1  # "GG": two bases, one dinucleotide
    assert positional_kmers(torch.from_numpy(tokens), 2).shape == (4, 2 * 4 + 16)


def test_binned_kmers_mark_each_word_once_per_bin_wherever_it_starts_there():
    from mhsa_bio.alphabet import encode_batch
    from mhsa_bio.models.kmer import n_positional, positional_kmers

    # AAA starts at 0, 1, 2 (bin 0) and 3 (bin 1); ACG at 5 (bin 1). The last sequence runs
    # past width 10; the second holds an N and is shorter than the width.
    seqs = ["AAAAAACGTT", "TTANCAT", "TATAATGGGC", "GTATAATCCCAAA"]
    tokens, _ = encode_batch(seqs)
    got = positional_kmers(torch.from_numpy(tokens), 10, 3, dtype=torch.float64).numpy()
    exact = 10 * 4 + 9 * 16 + 8 * 64
    # 3-mers start at 0 … 7 (bins 0-2, 3-5, 6-7), 4-mers at 0 … 6 (bins 0-2, 3-5, 6)
    assert got.shape == (4, n_positional(10, 3)) == (4, exact + 3 * 64 + 3 * 256)
    for row, seq in zip(got, seqs):
        np.testing.assert_array_equal(row, _naive_positional(seq, 10, 3))
    acg = 0 * 16 + 1 * 4 + 2  # lexicographic indices
    assert [got[0, exact + b * 64] for b in range(3)] == [1, 1, 0]  # AAA: once a bin, however often
    assert [got[0, exact + b * 64 + acg] for b in range(3)] == [0, 1, 0]
    assert got[0, exact:exact + 3 * 64].sum() == 1 + 3 + 2  # 8 starts, 6 words a bin holds
    # TATAAT one base later still shares the bin of its 3-mer TAT (start 0 and 1: bin 0)
    tat = 3 * 16 + 0 * 4 + 3
    assert got[2, exact + tat] == got[3, exact + tat] == 1
    np.testing.assert_array_equal(positional_kmers(torch.from_numpy(tokens), 10, dtype=torch.float64).numpy(),
                                  got[:, :exact])


def _position_set(n: int, seed: int) -> tuple[list[str], np.ndarray]:
    """TATAAT at position 20 in positives, at a random other position in negatives: the same
    composition, so only a positional member tells them apart."""
    rng = np.random.default_rng(seed)
    seqs, labels = [], []
    for i in range(n):
        s = list(rng.choice(list("ACGT"), size=60))
        at = 20 if i % 2 else int(rng.choice([*range(0, 12), *range(30, 54)]))
        s[at:at + 6] = list("TATAAT")
        seqs.append("".join(s))
        labels.append(i % 2)
    return seqs, np.array(labels, dtype=np.int64)


def _three_sets(make, n_train: int) -> tuple:
    """Training (``n_train``), validation (80) and test (200) sequences and labels from one
    generator, seeds 1, 2 and 3."""
    return (*make(n_train, 1), *make(80, 2), *make(200, 3))


def test_the_positional_member_reads_where_a_word_sits_and_loads_as_fitted():
    from mhsa_bio.metrics import auroc
    from mhsa_bio.models.kmer import KmerLogistic
    from mhsa_bio.training.kmer import POSITIONAL_L2_GRID, fit_kmer_member, proba

    tr, ytr, va, yva, te, yte = _three_sets(_position_set, 300)
    counts = fit_kmer_member(tr, ytr, va, yva)
    positional = fit_kmer_member(tr, ytr, va, yva, width=60, bin_width=3)
    assert positional.l2 in POSITIONAL_L2_GRID and positional.model.width == 60
    assert positional.model.bin_width == 3 and counts.model.bin_width == 0
    assert auroc(yte == 1, proba(counts.model, te)) < 0.75
    assert auroc(yte == 1, proba(positional.model, te)) > 0.95
    assert _assert_loads_as_fitted(positional, te).width == 60
    entry = positional.model.to_checkpoint(l2=positional.l2, average_weight=0.5)
    # an entry written before the positional block existed has no width: plain k-mers
    plain = counts.model.to_checkpoint(l2=counts.l2, average_weight=0.5)
    del plain["positional_width"]
    assert KmerLogistic.from_checkpoint(plain).width == 0
    with pytest.raises(ValueError, match="positional_width"):
        KmerLogistic.from_checkpoint({**entry, "positional_width": -3})
    # an entry written before the binned part existed has no bin width: the exact block alone
    exact = fit_kmer_member(tr, ytr, va, yva, width=60)
    assert exact.model.bin_width == 0
    old = exact.model.to_checkpoint(l2=exact.l2, average_weight=0.5)
    del old["positional_bin"]
    member = KmerLogistic.from_checkpoint(old)
    assert (member.width, member.bin_width) == (60, 0)
    np.testing.assert_allclose(proba(member.double(), te), proba(exact.model, te), atol=1e-5)
    for bad in (-1, 61, True, 2.5):
        with pytest.raises(ValueError, match="positional_bin"):
            KmerLogistic.from_checkpoint({**entry, "positional_bin": bad})
    with pytest.raises(ValueError, match="not a tensor of shape"):  # buffers of another bin width
        KmerLogistic.from_checkpoint({**entry, "positional_bin": 4})
    with pytest.raises(ValueError, match="not a tensor of shape"):  # buffers of another width
        KmerLogistic.from_checkpoint({**entry, "positional_width": 59})


def test_train_with_a_positional_member_end_to_end(tmp_path):
    from mhsa_bio.checkpoint import read_checkpoint
    from mhsa_bio.io.fasta import read_fasta

    pos, neg = planted_set(80, 60, seed=5)
    fa, nf = write_fasta(tmp_path / "pos.fa", pos), write_fasta(tmp_path / "neg.fa", neg)
    out = tmp_path / "run"
    args = ("train", fa, "--negatives", nf, "--out", out, "--kmer-member", "--kmer-positional",
            "--kmer-bins", "3", *SMALL)
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    assert "position-specific over 60 bp, 3- and 4-mers in bins of 3" in " ".join(result.output.split())
    ckpt = read_checkpoint(out / "model.pt")
    assert ckpt["kmer_member"]["positional_width"] == 60 and ckpt["kmer_member"]["positional_bin"] == 3
    assert ckpt["kmer_member"]["weight"].numel() == 5440 + 60 * 4 + 59 * 16 + 58 * 64 + 20 * 64 + 19 * 256
    assert ckpt["provenance"]["train_config"]["kmer_positional"] is True
    assert ckpt["provenance"]["train_config"]["kmer_bins"] == 3
    member = json.loads((out / "metrics.json").read_text())["kmer_member"]
    assert (member["positional_width"], member["positional_bin"]) == (60, 3)
    records = read_fasta(fa) + read_fasta(nf)
    result, got, p_net, p_kmer = _predict_and_parts(out, records, tmp_path)
    np.testing.assert_allclose(got, (p_net + p_kmer) / 2, atol=2e-5)
    assert "position-specific" not in result.output  # every sequence is 60 bp: no warning
    other = write_fasta(tmp_path / "other.fa", [("short", records[0].seq[:50]), ("same", records[1].seq)])
    result = invoke("predict", other, "--model", out / "model.pt", "--device", "cpu")
    assert result.exit_code == 0, result.output
    assert "1 of 2 sequences are not 60 bp long" in " ".join(result.output.split())
    genome = tmp_path / "g.fa"
    genome.write_text(">chr1\n" + "".join(r.seq for r in records[:6]) + "\n")
    for window, warned in (("60", False), ("50", True)):
        result = invoke("scan", genome, "--model", out / "model.pt", "--out", tmp_path / f"scan{window}",
                        "--device", "cpu", "--window", window, "--strand", "+")
        assert result.exit_code == 0, result.output
        assert ("fitted on 60 bp windows" in " ".join(result.output.split())) is warned


def test_kmer_positional_is_refused_without_the_member_or_past_its_width(tmp_path):
    pos, neg = planted_set(30, 60, seed=6)
    fa, nf = write_fasta(tmp_path / "pos.fa", pos), write_fasta(tmp_path / "neg.fa", neg)
    result = invoke("train", fa, "--negatives", nf, "--out", tmp_path / "a", "--kmer-positional", *SMALL)
    assert_clean_error(result, "--kmer-positional", "--kmer-member")
    long = write_fasta(tmp_path / "long.fa", [*neg[:-1], ("far", "ACGT" * 260)])
    result = invoke("train", fa, "--negatives", long, "--out", tmp_path / "b", "--kmer-member",
                    "--kmer-positional", *SMALL)
    assert_clean_error(result, "long.fa", "'far'", "1040 bp", "1000 bp")
    result = invoke("train", fa, "--negatives", nf, "--out", tmp_path / "c", "--kmer-member",
                    "--kmer-bins", "3", *SMALL)
    assert_clean_error(result, "--kmer-bins", "--kmer-positional")
    for bad in ("-1", "101"):
        result = invoke("train", fa, "--negatives", nf, "--out", tmp_path / "d", "--kmer-member",
                        "--kmer-positional", "--kmer-bins", bad, *SMALL)
        assert_clean_error(result, f"--kmer-bins {bad}", "0 (off)")
    assert not (tmp_path / "a" / "model.pt").exists() and not (tmp_path / "b" / "model.pt").exists()


def _naive_frames(seq: str) -> np.ndarray:
    """The reading-frame block of one sequence, from strings."""
    from mhsa_bio.alphabet import reverse_complement

    codons = ["".join(p) for p in itertools.product("ACGT", repeat=3)]
    out = []
    for strand in (seq, reverse_complement(seq)):
        frames = []
        for f in range(3):
            words = [strand[i:i + 3] for i in range(f, len(strand) - 2, 3)]
            words = [w for w in words if set(w) <= set("ACGT")]  # codons holding N are not counted
            usage = np.array([words.count(c) for c in codons], dtype=float) / max(len(words), 1)
            frames.append((sum(w in ("TAA", "TAG", "TGA") for w in words), usage))
        fewest = min(n for n, _ in frames)
        out += [sorted(n for n, _ in frames), np.mean([u for n, u in frames if n == fewest], axis=0)]
    for base in "ACGT":
        at = [sum(seq[i] == base for i in range(f, len(seq), 3)) for f in range(3)]
        out.append([(max(at) - min(at)) * 3 / len(seq)])
    return np.concatenate(out)


def test_frame_features_read_stops_codon_usage_and_asymmetry_on_both_strands():
    from mhsa_bio.alphabet import encode_batch
    from mhsa_bio.models.kmer import N_FEATURES, N_FRAME_FEATURES, frame_features
    from mhsa_bio.training.kmer import features

    rng = np.random.default_rng(1)
    seqs = ["".join(rng.choice(list("ACGTN"), p=[0.24, 0.24, 0.24, 0.24, 0.04], size=n))
            for n in (7, 31, 45, 46)] + ["ATGAAATAGTGACCC", "TAA", "AC"]
    tokens, lengths = encode_batch(seqs)  # padded to 46
    got = frame_features(torch.from_numpy(tokens), torch.from_numpy(lengths), dtype=torch.float64)
    assert got.shape == (len(seqs), N_FRAME_FEATURES)
    for row, seq in zip(got.numpy(), seqs):
        np.testing.assert_allclose(row, _naive_frames(seq), atol=1e-12)
    # ATG AAA TAG TGA CCC: two stops in frame 0, one (TGA AAT ...) in frame 1, none in frame 2;
    # its reverse complement GGG TCA CTA TTT CAT none in any frame
    row = got[4].numpy()
    assert list(row[:3]) == [0, 1, 2] and list(row[67:70]) == [0, 0, 0]
    whole = features(seqs, frames=True, chunk=3).numpy()  # the block follows the frequencies
    assert whole.shape == (len(seqs), N_FEATURES + N_FRAME_FEATURES)
    np.testing.assert_allclose(whole[:, N_FEATURES:], got.numpy(), atol=1e-12)


_STOP = re.compile(r"(?=(TAA|TAG|TGA))")


def _stop_set(n: int, seed: int) -> tuple[list[str], np.ndarray]:
    """150 bp with no stop codon but 15 planted ones: in every frame in positives, in two of
    the three frames in negatives (one frame stays open). The same words in both classes at the
    same rate, so only where the stops sit in the frames tells them apart."""
    rng = np.random.default_rng(seed)
    seqs, labels = [], []
    for i in range(n):
        s = list(rng.choice(list("ACGT"), size=150))
        while hits := [m.start() for m in _STOP.finditer("".join(s))]:
            for at in hits:
                s[at + 1] = str(rng.choice(list("CG")))
        frames = {0, 1, 2} - ({int(rng.integers(3))} if i % 2 == 0 else set())
        starts = [p for p in range(3, 144) if p % 3 in frames]
        for at in rng.choice(starts, size=15, replace=False):
            s[at:at + 3] = list(str(rng.choice(["TAA", "TAG", "TGA"])))
        seqs.append("".join(s))
        labels.append(i % 2)
    return seqs, np.array(labels, dtype=np.int64)


def test_the_frames_member_tells_an_open_frame_from_stops_in_every_frame():
    from mhsa_bio.metrics import auroc
    from mhsa_bio.models.kmer import KmerLogistic
    from mhsa_bio.training.kmer import fit_kmer_member, proba

    tr, ytr, va, yva, te, yte = _three_sets(_stop_set, 600)
    plain = fit_kmer_member(tr, ytr, va, yva)
    frames = fit_kmer_member(tr, ytr, va, yva, frames=True)
    assert frames.model.frames and not plain.model.frames
    assert auroc(yte == 1, proba(plain.model, te)) < 0.65
    assert auroc(yte == 1, proba(frames.model, te)) > 0.75
    assert _assert_loads_as_fitted(frames, te).frames
    # an entry written before the reading-frame block existed has none
    old = plain.model.to_checkpoint(l2=plain.l2, average_weight=0.5)
    del old["frames"]
    assert not KmerLogistic.from_checkpoint(old).frames
    entry = frames.model.to_checkpoint(l2=frames.l2, average_weight=0.5)
    with pytest.raises(ValueError, match="frames"):
        KmerLogistic.from_checkpoint({**entry, "frames": 1})
    with pytest.raises(ValueError, match="not a tensor of shape"):  # buffers with the block
        KmerLogistic.from_checkpoint({**entry, "frames": False})


def test_train_with_a_frames_member_end_to_end(tmp_path):
    from mhsa_bio.checkpoint import read_checkpoint
    from mhsa_bio.io.fasta import read_fasta

    pos, neg = planted_set(80, 60, seed=7)
    fa, nf = write_fasta(tmp_path / "pos.fa", pos), write_fasta(tmp_path / "neg.fa", neg)
    out = tmp_path / "run"
    result = invoke("train", fa, "--negatives", nf, "--out", out, "--kmer-member", "--kmer-frames", *SMALL)
    assert result.exit_code == 0, result.output
    assert "reading frames" in " ".join(result.output.split())
    ckpt = read_checkpoint(out / "model.pt")
    assert ckpt["kmer_member"]["frames"] is True and ckpt["kmer_member"]["positional_width"] == 0
    assert ckpt["kmer_member"]["weight"].numel() == 5440 + 2 * (3 + 64) + 4
    assert ckpt["provenance"]["train_config"]["kmer_frames"] is True
    assert json.loads((out / "metrics.json").read_text())["kmer_member"]["frames"] is True
    records = read_fasta(fa) + read_fasta(nf)
    _, got, p_net, p_kmer = _predict_and_parts(out, records, tmp_path)
    np.testing.assert_allclose(got, (p_net + p_kmer) / 2, atol=2e-5)
    result = invoke("train", fa, "--negatives", nf, "--out", tmp_path / "no", "--kmer-frames", *SMALL)
    assert_clean_error(result, "--kmer-frames", "--kmer-member")
    assert not (tmp_path / "no" / "model.pt").exists()
