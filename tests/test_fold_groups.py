"""Cross-validation folds that keep overlapping records together (``train --group-kmer``)."""

import json

import numpy as np
import pytest
from conftest import invoke, write_fasta

from mhsa_bio.errors import InputError
from mhsa_bio.io.fasta import Record
from mhsa_bio.training.crossval import assign_folds, stratified_folds
from mhsa_bio.training.groups import DEFAULT_GROUP_KMER, kmer_codes, overlap_groups

COMPLEMENT = str.maketrans("ACGT", "TGCA")


def revcomp(seq):
    return seq.translate(COMPLEMENT)[::-1]


def random_dna(rng, n):
    return "".join(rng.choice(list("ACGT"), n))


def codes_of(seq, k):
    """The canonical k-mer codes of one sequence."""
    return kmer_codes([seq], k)[0]


def reference_codes(seq, k):
    """The canonical codes of one sequence's k-mers of A, C, G, T, window by window (the oracle)."""
    out = []
    for i in range(len(seq) - k + 1):
        word = seq[i:i + k].upper()
        if set(word) <= set("ACGT"):
            code = int("".join(str("ACGT".index(b)) for b in word), 4)
            back = int("".join(str(3 - "ACGT".index(b)) for b in reversed(word)), 4)
            out.append(min(code, back))
    return out


def test_kmer_codes_are_canonical_and_skip_other_letters():
    seq = "ACGTTGCAAGGCTTAC"
    assert np.array_equal(np.sort(codes_of(seq, 5)), np.sort(codes_of(revcomp(seq), 5)))
    assert codes_of("ACGNACGTAC", 4).size == 3  # the windows touching N are left out
    assert codes_of("ACG", 4).size == 0
    # AAAA and its reverse complement TTTT are one k-mer, coded as AAAA = 0
    assert codes_of("TTTT", 4).tolist() == [0] and codes_of("aaaa", 4).tolist() == [0]
    # the code is the 2-bit number of the smaller strand: ACGT reads 0·64 + 1·16 + 2·4 + 3
    assert codes_of("ACGT", 4).tolist() == [27]


def test_overlapping_windows_are_linked_through_chains_and_either_strand():
    rng = np.random.default_rng(0)
    genome = random_dna(rng, 400)
    windows = [genome[0:80], genome[50:130], genome[100:180],  # a chain: 0–1 and 1–2 overlap by 30
               revcomp(genome[160:240]),  # overlaps window 2 by 20 bases, on the other strand
               genome[300:380],  # alone: no 20-mer in common with any other window
               genome[300:319] + random_dna(rng, 61),  # shares only 19 bases with the one before
               "ACGT" * 4]  # shorter than k
    groups = overlap_groups(windows, 20)
    assert groups.tolist() == [0, 0, 0, 0, 1, 2, 3]
    assert overlap_groups(windows, 19).tolist() == [0, 0, 0, 0, 1, 1, 2]
    assert overlap_groups([], 20).size == 0
    # read in chunks of a few records and sorted in several passes: the same groups
    for pass_bases in (100, 250):
        assert overlap_groups(windows, 20, pass_bases=pass_bases).tolist() == groups.tolist()


def test_the_joined_records_give_each_record_its_own_kmer_codes():
    rng = np.random.default_rng(3)
    seqs = [random_dna(rng, 30), "ACGTNacgtaCGTAGGT", "", "ACG", random_dna(rng, 25).lower(), "AC?GTACGGA"]
    for k in (1, 5, 20):
        codes, owner = kmer_codes(seqs, k, first=7)
        for i, seq in enumerate(seqs):
            assert sorted(codes[owner == 7 + i].tolist()) == sorted(reference_codes(seq, k)), (k, i)
        assert set(owner.tolist()) <= set(range(7, 7 + len(seqs)))
    with pytest.raises(ValueError, match="expected 1 to 31"):
        kmer_codes(seqs, 32)


def test_grouping_in_passes_matches_one_pass_on_a_larger_set():
    rng = np.random.default_rng(6)
    seqs, _ = _grouped_set(rng, 80)
    seqs = [revcomp(s) if i % 4 == 1 else s for i, s in enumerate(seqs)]
    one = overlap_groups(seqs, 20)
    assert one.max() + 1 < len(seqs)  # some records are linked
    assert np.array_equal(overlap_groups(seqs, 20, pass_bases=1_000), one)
    assert np.array_equal(overlap_groups(seqs, 20, pass_bases=7_000), one)


def _grouped_set(rng, n_groups=60):
    """Records of two classes in overlap groups of 1–6 windows each, every group one class."""
    seqs, labels = [], []
    for g in range(n_groups):
        source = random_dna(rng, 200)
        size = int(rng.integers(1, 7))
        for w in range(size):
            start = int(rng.integers(0, 120))
            seqs.append(source[start:start + 80] if w else source[:80])
            labels.append(int(g % 3 == 0))
    return seqs, np.array(labels)


def test_grouped_folds_keep_every_group_whole_balanced_and_seeded():
    rng = np.random.default_rng(1)
    seqs, labels = _grouped_set(rng)
    groups = overlap_groups(seqs, 20)
    assert 1 < groups.max() + 1 < len(seqs)  # some windows overlap, some groups differ
    fold = stratified_folds(labels, folds=4, seed=5, groups=groups)
    for g in np.unique(groups):
        assert len(set(fold[groups == g].tolist())) == 1, g
    for c in (0, 1):
        counts = np.bincount(fold[labels == c], minlength=4)
        assert counts.min() > 0
        assert counts.max() - counts.min() <= 6, (c, counts)  # at most one group's size apart
    assert np.array_equal(fold, stratified_folds(labels, folds=4, seed=5, groups=groups))
    assert not np.array_equal(fold, stratified_folds(labels, folds=4, seed=6, groups=groups))
    # groups of one record each: as even as dealing one by one
    single = stratified_folds(labels, folds=4, seed=5, groups=np.arange(labels.size))
    for c in (0, 1):
        counts = np.bincount(single[labels == c], minlength=4)
        assert counts.max() - counts.min() <= 1


def test_a_group_too_large_for_the_folds_is_refused():
    labels = np.r_[np.ones(4), np.zeros(10)].astype(int)
    groups = np.r_[np.zeros(3), 1, np.arange(2, 12)].astype(int)  # three of four positives linked
    with pytest.raises(InputError, match="--folds 3: fold .* no record of one class.*--group-kmer"):
        stratified_folds(labels, folds=3, seed=0, groups=groups)


def test_assign_folds_without_groups_is_the_one_by_one_deal():
    rng = np.random.default_rng(2)
    seqs, labels = _grouped_set(rng, 30)
    pos = [Record(f"p{i}", s) for i, s in enumerate(np.array(seqs)[labels == 1])]
    neg = [Record(f"n{i}", s) for i, s in enumerate(np.array(seqs)[labels == 0])]
    data = (pos, neg, None, None)
    y = np.r_[np.ones(len(pos)), np.zeros(len(neg))].astype(int)
    plain = assign_folds(data, folds=3, seed=4, group_kmer=0)
    assert np.array_equal(plain.of, stratified_folds(y, folds=3, seed=4))
    assert plain.groups == y.size and plain.group_kmer == 0
    grouped = assign_folds(data, folds=3, seed=4, group_kmer=20)
    groups = overlap_groups([r.seq for r in pos + neg], 20)
    assert grouped.groups == groups.max() + 1 < y.size
    assert np.array_equal(grouped.of, stratified_folds(y, folds=3, seed=4, groups=groups))
    with pytest.raises(InputError, match="--group-kmer 40"):
        assign_folds(data, folds=3, seed=4, group_kmer=40)


def test_train_folds_never_hold_out_a_record_that_overlaps_training(tmp_path):
    from typer.main import get_command

    from mhsa_bio.cli.main import app

    rng = np.random.default_rng(3)
    seqs, labels = _grouped_set(rng, 30)
    pos = [Record(f"p{i}", s) for i, s in enumerate(np.array(seqs)[labels == 1])]
    neg = [Record(f"n{i}", s) for i, s in enumerate(np.array(seqs)[labels == 0])]
    out = tmp_path / "cv"
    result = invoke("train", write_fasta(tmp_path / "pos.fa", [(r.id, r.seq) for r in pos]),
                    "--negatives", write_fasta(tmp_path / "neg.fa", [(r.id, r.seq) for r in neg]),
                    "--out", out, "--folds", 3,
                    "--epochs", 1, "--dim", 16, "--heads", 2, "--layers", 1, "--threads", 1)
    assert result.exit_code == 0, result.output
    seq_of = {r.id: r.seq for r in pos + neg}
    held = {}
    for k in range(3):
        rows = (out / f"fold{k}" / "heldout_predictions.tsv").read_text().splitlines()[1:]
        held[k] = [line.split("\t")[0] for line in rows]
    for k in range(3):
        kept = {code for other in range(3) if other != k for rid in held[other]
                for code in codes_of(seq_of[rid], DEFAULT_GROUP_KMER).tolist()}
        for rid in held[k]:
            assert not kept & set(codes_of(seq_of[rid], DEFAULT_GROUP_KMER).tolist()), rid
    run = json.loads((out / "run.json").read_text())
    assert run["group_kmer"] == DEFAULT_GROUP_KMER
    assert run["fold_groups"] == overlap_groups([r.seq for r in pos + neg]).max() + 1
    said = " ".join(result.output.split())
    assert f"{len(pos + neg)} records in {run['fold_groups']} groups" in said, said
    assert "held out together" in said
    # the option's default is the library's
    option = next(p for p in get_command(app).commands["train"].params if p.name == "group_kmer")
    assert option.default == DEFAULT_GROUP_KMER


def test_grouped_validation_split_keeps_overlapping_records_on_one_side():
    from mhsa_bio.training.split import make_split, stratified_split
    from mhsa_bio.training.trainer import TrainConfig

    rng = np.random.default_rng(4)
    seqs, labels = _grouped_set(rng, 80)
    groups = overlap_groups(seqs, 20)
    train, val = stratified_split(labels, fraction=0.2, seed=3, groups=groups)
    assert sorted(train.tolist() + val.tolist()) == list(range(labels.size))
    assert not set(groups[train].tolist()) & set(groups[val].tolist())
    for c in (0, 1):
        share = (labels[val] == c).sum() / (labels == c).sum()
        assert 0.12 < share < 0.28, (c, share)
    pos = [Record(f"p{i}", s) for i, s in enumerate(np.array(seqs)[labels == 1])]
    neg = [Record(f"n{i}", s) for i, s in enumerate(np.array(seqs)[labels == 0])]
    split = make_split(pos, negatives=neg, config=TrainConfig(seed=3))  # grouped by default
    held = {c for r in split.val.records for c in codes_of(r.seq, 20).tolist()}
    assert not any(held & set(codes_of(r.seq, 20).tolist()) for r in split.train.records)
    sizes = np.bincount(groups)
    assert split.linked == int((sizes[groups] > 1).sum()) > 0
    # 0 splits records one by one: overlapping windows then fall on both sides
    plain = make_split(pos, negatives=neg, config=TrainConfig(seed=3, val_group_kmer=0))
    held = {c for r in plain.val.records for c in codes_of(r.seq, 20).tolist()}
    assert any(held & set(codes_of(r.seq, 20).tolist()) for r in plain.train.records)
    assert plain.linked == 0


def test_records_that_do_not_overlap_are_split_as_without_groups():
    from mhsa_bio.training.split import make_split
    from mhsa_bio.training.trainer import TrainConfig

    rng = np.random.default_rng(8)
    pos = [Record(f"p{i}", random_dna(rng, 60)) for i in range(50)]
    neg = [Record(f"n{i}", random_dna(rng, 60)) for i in range(70)]
    for negatives in (neg, None):
        grouped = make_split(pos, negatives=negatives, config=TrainConfig(seed=2))
        plain = make_split(pos, negatives=negatives, config=TrainConfig(seed=2, val_group_kmer=0))
        assert [r.id for r in grouped.val.records] == [r.id for r in plain.val.records]
        assert [r.id for r in grouped.train.records] == [r.id for r in plain.train.records]
        assert grouped.linked == 0


def test_a_run_recorded_before_the_validation_grouping_resumes_only_as_it_was_split(tmp_path):
    from mhsa_bio.errors import InputError
    from mhsa_bio.models.promoter import PromoterConfig
    from mhsa_bio.training.run import check_resumable
    from mhsa_bio.training.trainer import TrainConfig

    def prov(config):
        return {"inputs": {"fasta": "x"}, "train_config": config}

    old = TrainConfig().to_dict()
    del old["val_group_kmer"]  # written before the setting existed: split one by one
    saved = {"config": PromoterConfig().to_dict(), "provenance": prov(old)}
    check_resumable(saved, prov(TrainConfig(val_group_kmer=0).to_dict()), PromoterConfig().to_dict(),
                    path=tmp_path / "last.pt")
    with pytest.raises(InputError, match="--val-group-kmer 0 -> 20"):
        check_resumable(saved, prov(TrainConfig().to_dict()), PromoterConfig().to_dict(),
                        path=tmp_path / "last.pt")


def test_train_keeps_overlaps_out_of_validation_by_default_and_refuses_a_one_sided_split(tmp_path):
    from conftest import assert_clean_error

    rng = np.random.default_rng(5)
    seqs, labels = _grouped_set(rng, 40)
    pos = [(f"p{i}", s) for i, s in enumerate(np.array(seqs)[labels == 1])]
    neg = [(f"n{i}", s) for i, s in enumerate(np.array(seqs)[labels == 0])]
    pos_fa, neg_fa = write_fasta(tmp_path / "pos.fa", pos), write_fasta(tmp_path / "neg.fa", neg)
    out = tmp_path / "run"
    result = invoke("train", pos_fa, "--negatives", neg_fa, "--out", out,
                    "--epochs", 1, "--dim", 16, "--heads", 2, "--layers", 1, "--threads", 1)
    assert result.exit_code == 0, result.output
    run = json.loads((out / "run.json").read_text())
    assert run["train_config"]["val_group_kmer"] == 20  # the default
    linked = json.loads((out / "metrics.json").read_text())["linked_records"]
    assert linked > 0 and f"validation split: {linked:,} records overlap another" in result.output
    import torch

    ckpt = torch.load(out / "model.pt", weights_only=True)
    held = set(ckpt["provenance"]["split"]["validation_ids"])
    seq_of = dict(pos + neg)
    val_codes = {c for i in held for c in codes_of(seq_of[i], 20).tolist()}
    assert held and all(not val_codes & set(codes_of(s, 20).tolist())
                        for i, s in seq_of.items() if i not in held)
    # every positive one overlap group: no split can hold positives on both sides
    chain = random_dna(rng, 300)
    linked = [(f"q{i}", chain[10 * i:10 * i + 80]) for i in range(12)]
    one = write_fasta(tmp_path / "linked.fa", linked)
    bad = tmp_path / "bad"
    result = invoke("train", one, "--negatives", neg_fa, "--out", bad,
                    "--epochs", 1, "--dim", 16, "--heads", 2, "--layers", 1, "--threads", 1)
    assert_clean_error(result, "--val-group-kmer")
    assert not bad.exists()
    result = invoke("train", one, "--negatives", neg_fa, "--out", bad, "--val-group-kmer", 0,
                    "--group-kmer", 0, "--epochs", 1, "--dim", 16, "--heads", 2, "--layers", 1,
                    "--threads", 1)
    assert result.exit_code == 0, result.output
    assert "records overlap another" not in result.output
    # --group-kmer without --folds: said to have no effect, the split named
    assert "--group-kmer 0 is for --folds and has no effect here" in " ".join(result.output.split())


def test_benchmark_reads_only_logged_rows_of_the_same_fold_grouping(tmp_path, monkeypatch):
    from pathlib import Path

    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from promoters import logged_rows

    log = tmp_path / "rows.jsonl"
    rows = [{"model": "kmer-lr", "fold": 0}, {"model": "kmer-lr", "fold": 0, "group_kmer": 20},
            {"model": "cnnprom", "fold": 1, "group_kmer": 0},
            {"model": "cnnprom", "fold": 1, "group_kmer": 20, "val_group_kmer": 20}]
    log.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n")
    assert logged_rows([log], group_kmer=20, val_group_kmer=0) == [{**rows[1], "val_group_kmer": 0}]
    assert logged_rows([log], group_kmer=20, val_group_kmer=20) == [rows[3]]
    assert logged_rows([log], group_kmer=0, val_group_kmer=0) == [
        {**rows[0], "group_kmer": 0, "val_group_kmer": 0}, {**rows[2], "val_group_kmer": 0}]


def test_benchmark_reads_only_logged_rows_of_the_sets_seeds_and_folds_it_runs(tmp_path, monkeypatch):
    """Rows of other sets in a --from-log file would otherwise enter the tuning rule's means."""
    from pathlib import Path

    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from promoters import logged_rows

    log = tmp_path / "rows.jsonl"
    base = {"model": "mhsa-bio", "group_kmer": 20, "val_group_kmer": 20}
    rows = [{**base, "dataset": d, "background": b, "seed": s, "fold": k}
            for d, b, s, k in [("ecoli", "shuffle", 0, 0), ("mouse-tata", "shuffle", 0, 0),
                               ("ecoli", "negatives", 0, 0), ("ecoli", "shuffle", 1, 0),
                               ("ecoli", "shuffle", 0, 3)]]
    log.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    assert len(logged_rows([log], group_kmer=20, val_group_kmer=20)) == 5
    assert logged_rows([log], group_kmer=20, val_group_kmer=20, datasets=["ecoli"],
                       backgrounds=["shuffle"], seeds=[0], folds=[0, 1, 2]) == [rows[0]]
    assert logged_rows([log], group_kmer=20, val_group_kmer=20, datasets=["ecoli", "mouse-tata"],
                       backgrounds=["shuffle"], seeds=[0, 1], folds=[0]) == rows[:2] + [rows[3]]
