import csv
import json

import numpy as np
import pytest
import torch
from conftest import assert_clean_error, invoke, planted_set, write_fasta

from mhsa_bio.errors import InputError
from mhsa_bio.io.fasta import Record
from mhsa_bio.metrics import binary_metrics
from mhsa_bio.training.crossval import split_fold, stratified_folds

TINY = ("--epochs", 2, "--dim", 16, "--heads", 2, "--layers", 1, "--batch-size", 32,
        "--threads", 1)


def test_folds_are_stratified_disjoint_covering_and_seeded():
    labels = np.r_[np.zeros(53), np.ones(17), np.full(11, 2)].astype(int)
    fold = stratified_folds(labels, folds=5, seed=3)
    assert fold.shape == labels.shape and set(fold.tolist()) == set(range(5))  # each record once
    for c in range(3):
        counts = np.bincount(fold[labels == c], minlength=5)
        assert counts.max() - counts.min() <= 1, (c, counts)
    sizes = np.bincount(fold, minlength=5)
    assert sizes.max() - sizes.min() <= 1
    assert np.array_equal(fold, stratified_folds(labels, folds=5, seed=3))
    assert not np.array_equal(fold, stratified_folds(labels, folds=5, seed=4))


@pytest.mark.parametrize("folds", [1, 12])
def test_impossible_fold_counts(folds):
    with pytest.raises(InputError, match="--folds"):
        stratified_folds(np.r_[np.zeros(30), np.ones(11)].astype(int), folds=folds, seed=0)


def _records(prefix, n):
    return [Record(f"{prefix}{i}", "ACGTTGCAAGCTTACG" * 3) for i in range(n)]


def test_fold_parts_are_disjoint_and_cover_every_record():
    pos, neg = _records("p", 20), _records("n", 45)
    data = (pos, neg, None, None)
    fold = stratified_folds(np.r_[np.ones(20), np.zeros(45)].astype(int), folds=4, seed=0)
    seen = []
    for k in range(4):
        part = split_fold(data, fold, k)
        train_ids = {r.id for r in part.train[0] + part.train[1]}
        held = [r.id for r in part.heldout]
        assert not train_ids & set(held)
        assert len(train_ids) + len(held) == 65
        assert part.heldout_labels.tolist() == [1 if i.startswith("p") else 0 for i in held]
        seen += held
    assert sorted(seen) == sorted(r.id for r in pos + neg)


def test_shuffled_background_of_a_fold_comes_from_its_own_positives():
    pos = _records("p", 30)
    fold = stratified_folds(np.ones(30, dtype=int), folds=3, seed=1)
    part = split_fold((pos, None, None, None), fold, 2, shuffles_per_positive=2, seed=1)
    held_pos = {r.id for r, y in zip(part.heldout, part.heldout_labels) if y == 1}
    sources = {r.id.rsplit("_shuf", 1)[0] for r, y in zip(part.heldout, part.heldout_labels)
               if y == 0}
    assert sources == held_pos and len(part.heldout) == 3 * len(held_pos)
    assert not held_pos & {r.id for r in part.train[0]}


def _rows(path):
    with open(path) as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


@pytest.fixture(scope="module")
def cv_inputs(tmp_path_factory):
    root = tmp_path_factory.mktemp("cv")
    pos, neg = planted_set(45, 40)
    return write_fasta(root / "pos.fa", pos), write_fasta(root / "neg.fa", neg[:36])


def test_train_folds_writes_one_run_per_fold_and_the_cv_table(cv_inputs, tmp_path, monkeypatch):
    import mhsa_bio.training.trainer as training

    seen = []  # (training ids, early-stopping ids) of every Trainer built
    init = training.Trainer.__init__

    def spy(self, split, **kwargs):
        seen.append(({r.id for r in split.train.records}, {r.id for r in split.val.records}))
        init(self, split, **kwargs)

    monkeypatch.setattr(training.Trainer, "__init__", spy)
    pos, neg = cv_inputs
    out = tmp_path / "cv"
    result = invoke("train", pos, "--negatives", neg, "--out", out, "--folds", 3, "--seed", 2,
                    "--threshold", "auto", *TINY)
    assert result.exit_code == 0, result.output
    rows = _rows(out / "cv_metrics.tsv")
    assert [r["fold"] for r in rows] == ["0", "1", "2", "mean", "sd"]
    for col in ("mcc", "auroc", "sensitivity", "seconds"):
        values = [float(r[col]) for r in rows[:3]]
        assert float(rows[3][col]) == pytest.approx(np.mean(values), rel=1e-5)
        assert float(rows[4][col]) == pytest.approx(np.std(values, ddof=1), rel=1e-4, abs=1e-6)
    assert sum(int(r["n"]) for r in rows[:3]) == 81
    held_all = []
    for k in range(3):
        fold_dir = out / f"fold{k}"
        assert (fold_dir / "model.pt").exists() and (fold_dir / "run.json").exists()
        # Sn and MCC of the table are at the fold model's stored threshold, from its predictions
        cut = torch.load(fold_dir / "model.pt", weights_only=True)["decision_threshold"]
        assert float(rows[k]["threshold"]) == pytest.approx(cut, rel=1e-5)
        pred = _rows(fold_dir / "heldout_predictions.tsv")
        m = binary_metrics(np.array([r["class"] == "positive" for r in pred]),
                           np.array([float(r["positive"]) for r in pred]), threshold=cut)
        assert float(rows[k]["mcc"]) == pytest.approx(m["mcc"], rel=1e-4, abs=1e-6)
        assert float(rows[k]["sensitivity"]) == pytest.approx(m["sensitivity"], rel=1e-4)
        held = [line.split("\t")[0] for line in
                (fold_dir / "heldout_predictions.tsv").read_text().splitlines()[1:]]
        train_ids, stop_ids = seen[k]
        assert not set(held) & train_ids and not set(held) & stop_ids
        assert len(held) + len(train_ids) + len(stop_ids) == 81
        assert json.loads((fold_dir / "run.json").read_text())["params"]["fold"] == k
        held_all += held
    assert len(held_all) == len(set(held_all)) == 81  # every record held out exactly once
    run = json.loads((out / "run.json").read_text())
    assert run["folds"] == 3 and run["fold_seed"] == 2 and sum(run["fold_sizes"]) == 81

    again = tmp_path / "again"
    assert invoke("train", pos, "--negatives", neg, "--out", again, "--folds", 3, "--seed", 2,
                  "--threshold", "auto", *TINY).exit_code == 0
    same = _rows(again / "cv_metrics.tsv")
    for a, b in zip(rows[:3], same[:3]):
        assert {k: v for k, v in a.items() if k != "seconds"} == \
            {k: v for k, v in b.items() if k != "seconds"}


def test_train_folds_with_an_ensemble_scores_each_fold_by_all_its_members(cv_inputs, tmp_path):
    from mhsa_bio.checkpoint import load_model
    from mhsa_bio.io.fasta import read_fasta
    from mhsa_bio.predict import predict_proba

    pos, neg = cv_inputs
    out = tmp_path / "cv"
    result = invoke("train", pos, "--negatives", neg, "--out", out, "--folds", 2, "--ensemble", 2, *TINY)
    assert result.exit_code == 0, result.output
    fold = out / "fold1"
    pred = _rows(fold / "heldout_predictions.tsv")
    records = {r.id: r for r in read_fasta(pos) + read_fasta(neg)}
    held = [records[r["id"]] for r in pred]
    members = [load_model(fold / f"member{k}" / "model.pt")[0] for k in (1, 2)]
    mean = sum(predict_proba(m, held, device="cpu")[:, 1] for m in members) / 2
    assert np.allclose([float(r["positive"]) for r in pred], mean, atol=1e-5)
    # the table gives an ensemble's best epoch and epochs run as the mean over its members
    table = {r["fold"]: r for r in _rows(out / "cv_metrics.tsv")}
    fitted = json.loads((fold / "metrics.json").read_text())["members"]
    for key in ("best_epoch", "epochs_run"):
        assert float(table["1"][key]) == pytest.approx(np.mean([m[key] for m in fitted]))
        assert table["mean"][key] != "NA"


def test_train_folds_with_shuffled_background(cv_inputs, tmp_path):
    out = tmp_path / "cv"
    result = invoke("train", cv_inputs[0], "--out", out, "--folds", 2, *TINY)
    assert result.exit_code == 0, result.output
    rows = _rows(out / "cv_metrics.tsv")
    assert [int(r["n"]) for r in rows[:2]] == [46, 44] and [r["n_positive"] for r in rows[:2]] \
        == ["23", "22"]


@pytest.mark.parametrize("extra, needle", [(("--folds", 1), "at least 2 folds"),
                                           (("--folds", 40), "smallest class has only 36"),
                                           (("--folds", 3, "--resume"), "--resume")])
def test_train_folds_refusals_write_nothing(cv_inputs, tmp_path, extra, needle):
    out = tmp_path / "cv"
    result = invoke("train", cv_inputs[0], "--negatives", cv_inputs[1], "--out", out, *extra,
                    *TINY)
    assert_clean_error(result, needle)
    assert not out.exists()


def test_train_folds_with_labels_reports_multiclass_columns(tmp_path):
    rng = np.random.default_rng(0)
    recs, lines = [], ["id\tclass"]
    for i in range(36):
        cls = "abc"[i % 3]
        recs.append((f"s{i}", "".join(rng.choice(list("ACGT"), size=30))))
        lines.append(f"s{i}\t{cls}")
    fa = write_fasta(tmp_path / "x.fa", recs)
    (tmp_path / "labels.tsv").write_text("\n".join(lines) + "\n")
    out = tmp_path / "cv"
    result = invoke("train", fa, "--labels", tmp_path / "labels.tsv", "--out", out, "--folds", 3,
                    *TINY)
    assert result.exit_code == 0, result.output
    rows = _rows(out / "cv_metrics.tsv")
    assert [r["n"] for r in rows[:3]] == ["12", "12", "12"]
    assert all(r["mcc"] == "NA" and r["sensitivity"] == "NA" for r in rows)
    assert all(0 <= float(r["auroc"]) <= 1 for r in rows[:4])
    header = (out / "fold0" / "heldout_predictions.tsv").read_text().splitlines()[0]
    assert header == "id\tclass\ta\tb\tc"
