import json
from dataclasses import replace

import numpy as np
import pytest
import torch
from conftest import planted_set, write_fasta

from mhsa_bio.io.fasta import Record
from mhsa_bio.models.promoter import PromoterConfig
from mhsa_bio.training.run import TrainInputs, run_training
from mhsa_bio.training.split import epoch_training_set, make_split, stratified_split
from mhsa_bio.training.trainer import TrainConfig


def test_stratified_split_keeps_class_shares_and_is_seeded():
    labels = np.r_[np.zeros(80), np.ones(20)].astype(int)
    tr, va = stratified_split(labels, fraction=0.25, seed=3)
    assert len(np.intersect1d(tr, va)) == 0 and len(tr) + len(va) == 100
    assert np.bincount(labels[va]).tolist() == [20, 5]
    assert np.array_equal(va, stratified_split(labels, fraction=0.25, seed=3)[1])
    assert not np.array_equal(va, stratified_split(labels, fraction=0.25, seed=4)[1])


def test_shuffle_background_is_fresh_each_epoch_and_has_no_leak():
    pos = [Record(f"p{i}", s) for i, (_, s) in enumerate(planted_set(40, 50)[0])]
    config = TrainConfig(seed=1, val_fraction=0.25)
    split = make_split(pos, negatives=None, config=config)
    assert split.background == "shuffle"
    e1 = epoch_training_set(split, epoch=1, config=config)
    e2 = epoch_training_set(split, epoch=2, config=config)
    assert np.bincount(e1.labels).tolist() == [30, 30]
    neg1 = [r.seq for r, y in zip(e1.records, e1.labels) if y == 0]
    neg2 = [r.seq for r, y in zip(e2.records, e2.labels) if y == 0]
    assert neg1 != neg2
    train_ids = {r.id for r in split.train.records}
    val_sources = {r.id.rsplit("_shuf", 1)[0] for r in split.val.records}
    assert not train_ids & val_sources


def _train(tmp_path, name, epochs=3, resume=False, stop_after=None, stop_at_call=None, **train_kw):
    pos, neg = planted_set(80, 40)
    inputs = TrainInputs(fasta=write_fasta(tmp_path / "pos.fa", pos),
                         negatives=write_fasta(tmp_path / "neg.fa", neg))
    out = tmp_path / name
    out.mkdir(exist_ok=True)

    calls = []

    def on_epoch(row, state):
        calls.append(row.epoch)
        if stop_after is not None and row.epoch >= stop_after or len(calls) == stop_at_call:
            raise KeyboardInterrupt

    torch.manual_seed(0)
    return run_training(inputs, out, model_config=PromoterConfig(dim=16, heads=2, layers=1),
                        train_config=TrainConfig(epochs=epochs, batch_size=32, seed=5, lr=3e-3,
                                                 patience=10, **train_kw),
                        device=torch.device("cpu"), resume=resume, on_epoch=on_epoch), out


def test_training_learns_and_is_reproducible(tmp_path):
    m1, out = _train(tmp_path, "a")
    m2, _ = _train(tmp_path, "b")
    assert m1 == m2
    assert m1["auroc"] > 0.8
    for name in ("model.pt", "last.pt", "train_log.tsv", "metrics.json", "learning_curve.png",
                 "run.json"):
        assert (out / name).exists(), name
    assert json.loads((out / "metrics.json").read_text())["auroc"] == m1["auroc"]
    assert len((out / "train_log.tsv").read_text().splitlines()) == 4


def test_rotate_tokens_turns_each_row_within_its_length():
    from mhsa_bio.training.batches import rotate_tokens

    tokens = np.array([[0, 1, 2, 3, 4], [0, 1, 2, 5, 5], [3, 5, 5, 5, 5]])
    lengths = np.array([5, 3, 1])
    out = rotate_tokens(tokens, lengths, np.array([1, 4, 7]))
    assert out.tolist() == [[4, 0, 1, 2, 3], [2, 0, 1, 5, 5], [3, 5, 5, 5, 5]]  # 4 = 1 mod 3
    same = rotate_tokens(tokens, lengths, np.array([5, 3, 0]))
    assert same.tolist() == tokens.tolist()


def test_shift_augment_trains_reproducibly_and_changes_the_fit(tmp_path):
    plain, _ = _train(tmp_path, "plain")
    m1, out = _train(tmp_path, "a", shift_augment=True)
    m2, _ = _train(tmp_path, "b", shift_augment=True)
    assert m1 == m2 and m1 != plain
    assert json.loads((out / "run.json").read_text())["train_config"]["shift_augment"] is True


def test_jitter_draws_small_offsets_and_shift_augment_any():
    from mhsa_bio.training.batches import augment_draws

    rng = np.random.default_rng(0)
    rc, shift = augment_draws(rng, 5000, TrainConfig(jitter=3))
    assert rc is None and shift is not None
    assert sorted(set(shift.tolist())) == [-3, -2, -1, 0, 1, 2, 3]
    _, wide = augment_draws(rng, 200, TrainConfig(shift_augment=True, jitter=3))
    assert wide is not None and wide.max() > 1000
    assert augment_draws(rng, 10, TrainConfig()) == (None, None)
    rc, shift = augment_draws(rng, 10, TrainConfig(rc_augment=True))
    assert rc is not None and rc.dtype == bool and shift is None


def test_jitter_trains_reproducibly_and_changes_the_fit(tmp_path):
    plain, _ = _train(tmp_path, "plain")
    m1, out = _train(tmp_path, "a", jitter=2)
    m2, _ = _train(tmp_path, "b", jitter=2)
    assert m1 == m2 and m1 != plain
    assert json.loads((out / "run.json").read_text())["train_config"]["jitter"] == 2


def test_interrupted_run_resumes_to_the_uninterrupted_result(tmp_path):
    full, _ = _train(tmp_path, "full", epochs=4)
    with pytest.raises(KeyboardInterrupt):
        _train(tmp_path, "part", epochs=4, stop_after=2)
    assert not (tmp_path / "part" / "model.pt").exists()
    resumed, out = _train(tmp_path, "part", epochs=4, resume=True)
    assert len((out / "train_log.tsv").read_text().splitlines()) == 5
    assert resumed == full


def test_ensemble_averages_members_that_share_the_split(tmp_path):
    from mhsa_bio.checkpoint import ensemble_size, load_model, load_predictor
    from mhsa_bio.metrics import multiclass_metrics
    from mhsa_bio.models.promoter import PromoterEnsemble
    from mhsa_bio.predict import predict_proba

    single, _ = _train(tmp_path, "single", epochs=3)
    metrics, out = _train(tmp_path, "ens", epochs=3, ensemble=2)
    assert metrics["ensemble"] == 2 and len(metrics["members"]) == 2
    # member 1 is the single model; member 2 starts elsewhere but holds out the same records
    first = json.loads((out / "member1" / "metrics.json").read_text())
    assert first["auroc"] == single["auroc"]
    m1, c1 = load_model(out / "member1" / "model.pt")
    m2, c2 = load_model(out / "member2" / "model.pt")
    assert c1["provenance"]["split"]["validation_ids"] == c2["provenance"]["split"]["validation_ids"]
    assert not torch.equal(m1.stem.weight, m2.stem.weight)
    net, ckpt = load_predictor(out / "model.pt")
    assert isinstance(net, PromoterEnsemble) and ensemble_size(ckpt) == 2
    first_member, _ = load_model(out / "model.pt")
    assert torch.equal(first_member.stem.weight, m1.stem.weight)
    val = [Record(i, "") for i in ckpt["provenance"]["split"]["validation_ids"]]
    seqs = dict(planted_set(80, 40)[0] + planted_set(80, 40)[1])
    val = [Record(r.id, seqs[r.id]) for r in val]
    mean = (predict_proba(m1, val, device="cpu") + predict_proba(m2, val, device="cpu")) / 2
    probs = predict_proba(net, val, device="cpu")
    assert np.allclose(probs, mean, atol=1e-6)
    labels = np.array([1 if r.id in dict(planted_set(80, 40)[0]) else 0 for r in val])
    assert multiclass_metrics(labels, probs)["auroc"] == pytest.approx(metrics["auroc"], abs=1e-9)
    assert json.loads((out / "run.json").read_text())["train_config"]["ensemble"] == 2
    with pytest.raises(ValueError, match="one member"):
        net(torch.zeros(1, 30, dtype=torch.long), torch.tensor([30]), return_attention=True)


def test_interrupted_ensemble_keeps_finished_members_and_resumes(tmp_path):
    full, _ = _train(tmp_path, "full", epochs=3, ensemble=2)
    with pytest.raises(KeyboardInterrupt):  # in the second epoch of the second member
        _train(tmp_path, "part", epochs=3, stop_at_call=5, ensemble=2)
    part = tmp_path / "part"
    assert (part / "member1" / "model.pt").exists() and (part / "member2" / "last.pt").exists()
    assert not (part / "member2" / "model.pt").exists() and not (part / "model.pt").exists()
    done = (part / "member1" / "model.pt").stat().st_mtime_ns
    resumed, _ = _train(tmp_path, "part", epochs=3, resume=True, ensemble=2)
    assert resumed == full
    assert (part / "member1" / "model.pt").stat().st_mtime_ns == done  # kept, not retrained


def test_auto_epochs_keeps_large_sets_and_gives_small_sets_the_same_steps() -> None:
    from mhsa_bio.training.epochs import auto_epochs

    assert auto_epochs(2000) == auto_epochs(50_000) == 30
    assert auto_epochs(634) == 95  # ~400 ChIP-seq peaks: 317 training positives + shuffles
    assert auto_epochs(1999) == 31 and auto_epochs(10) == 150
    for n in (400, 634, 1000, 1999):  # about as many optimiser steps as 30 epochs of 2,000
        assert 30 * 2000 <= auto_epochs(n) * n < 30 * 2000 + n


def test_auto_epochs_give_long_sequences_proportionally_more():
    from mhsa_bio.training.epochs import auto_epochs

    assert auto_epochs(1600, 300) == auto_epochs(1600) == 38
    assert auto_epochs(1600, 500) == 64  # ceil(38 * 500 / 300)
    assert auto_epochs(2000, 600) == 60 and auto_epochs(100, 1000) == 150


def test_early_stopping_waits_while_the_model_is_at_chance(monkeypatch):
    from mhsa_bio.training.trainer import CHANCE_AUROC, Trainer

    pos = [Record(f"p{i}", s) for i, (_, s) in enumerate(planted_set(40, 50)[0])]
    config = TrainConfig(epochs=12, patience=2, seed=1)
    trainer = Trainer(make_split(pos, negatives=None, config=config), config=config,
                      model_config=PromoterConfig(dim=16, heads=2, layers=1), device=torch.device("cpu"))
    auroc = [0.5] * 5 + [0.7] * 7  # on the plateau for five epochs, then learning
    auprc = [0.5, 0.4, 0.45, 0.4, 0.4, 0.8, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7]
    scripted = iter(zip(auroc, auprc))
    monkeypatch.setattr(trainer, "train_epoch", lambda epoch, on_step: 0.0)
    monkeypatch.setattr(trainer, "evaluate", lambda: (0.0, dict(zip(("auroc", "auprc"), next(scripted)))))
    state = trainer.run()
    assert max(auroc[:5]) < CHANCE_AUROC
    # counting every epoch it would stop at epoch 3 (best AUPRC at 1, then two worse)
    assert state.best_epoch == 6 and state.epoch == 8


def test_min_epochs_keeps_an_early_best_epoch_from_ending_the_fit(monkeypatch):
    from mhsa_bio.training.trainer import Trainer

    pos = [Record(f"p{i}", s) for i, (_, s) in enumerate(planted_set(40, 50)[0])]

    def run(min_epochs):
        config = TrainConfig(epochs=12, patience=2, seed=1, min_epochs=min_epochs)
        trainer = Trainer(make_split(pos, negatives=None, config=config), config=config,
                          model_config=PromoterConfig(dim=16, heads=2, layers=1),
                          device=torch.device("cpu"))
        # best early (epoch 1), worse until epoch 6, better again at 7
        auprc = iter([0.8, 0.7, 0.7, 0.7, 0.7, 0.7, 0.9, 0.85, 0.85, 0.85, 0.85, 0.85])
        monkeypatch.setattr(trainer, "train_epoch", lambda epoch, on_step: 0.0)
        monkeypatch.setattr(trainer, "evaluate", lambda: (0.0, {"auroc": 0.9, "auprc": next(auprc)}))
        state = trainer.run()
        return trainer.config.min_epochs, state.best_epoch, state.epoch

    assert run(0) == (0, 1, 3)  # patience alone: stops two epochs after the first
    assert run(None) == (4, 1, 4)  # a third of 12: not before epoch 4, then stops (3 bad epochs)
    assert run(7) == (7, 7, 9)  # reaches the better epoch 7, then patience again


def test_resolve_epochs_counts_the_split_and_train_records_the_rule(tmp_path):
    from mhsa_bio.training.epochs import epochs_rule, resolve_epochs

    rng = np.random.default_rng(0)
    pos = [Record(f"p{i}", "".join(rng.choice(list("ACGT"), 60))) for i in range(1000)]
    config = TrainConfig(seed=1, val_fraction=0.2)
    split = make_split(pos, negatives=None, config=config)  # 800 training positives + shuffles
    assert resolve_epochs(split, config).epochs == 38  # ceil(60000 / 1600)
    assert resolve_epochs(split, replace(config, shuffles_per_positive=2)).epochs == 30  # 2,400
    assert epochs_rule(split, config) == "by data size: 1600 training sequences (background included)"
    assert resolve_epochs(split, TrainConfig(epochs=7)).epochs == 7
    assert resolve_epochs(split, replace(config, min_epochs=None)).min_epochs == 13  # ceil(38 / 3)
    assert resolve_epochs(split, TrainConfig(epochs=7, min_epochs=None)).min_epochs == 3
    assert resolve_epochs(split, TrainConfig(epochs=7, min_epochs=5)).min_epochs == 5
    assert epochs_rule(split, TrainConfig(epochs=7)) == "--epochs"
    long = [Record(f"p{i}", "".join(rng.choice(list("ACGT"), 500))) for i in range(1000)]
    split = make_split(long, negatives=None, config=config)
    assert resolve_epochs(split, config).epochs == 64
    assert epochs_rule(split, config).endswith("(background included), median length 500 bp")

    pos, neg = planted_set(60, 40)
    inputs = TrainInputs(fasta=write_fasta(tmp_path / "pos.fa", pos),
                         negatives=write_fasta(tmp_path / "neg.fa", neg))
    run_training(inputs, tmp_path / "auto", model_config=PromoterConfig(dim=16, heads=2, layers=1),
                 train_config=TrainConfig(epochs=0, batch_size=32, seed=5, patience=1),
                 device=torch.device("cpu"))
    metrics = json.loads((tmp_path / "auto" / "metrics.json").read_text())
    run = json.loads((tmp_path / "auto" / "run.json").read_text())
    assert metrics["max_epochs"] == run["max_epochs"] == run["train_config"]["epochs"] == 150
    assert metrics["epochs_rule"] == run["epochs_rule"] == (
        "by data size: 96 training sequences (background included)")
    assert metrics["epochs_run"] < 150  # early stopping still applies


def test_resume_reads_settings_an_older_version_lacked_as_their_defaults(tmp_path):
    from mhsa_bio.errors import InputError
    from mhsa_bio.training.run import check_resumable

    model = PromoterConfig(dim=16, heads=2, layers=1).to_dict()
    prov = {"inputs": {}, "train_config": TrainConfig(epochs=3).to_dict()}
    old_model = {k: v for k, v in model.items() if k not in ("stem_activation", "stem_guide")}
    old_train = {k: v for k, v in prov["train_config"].items() if k != "shift_augment"}
    saved = {"config": old_model, "provenance": {"inputs": {}, "train_config": old_train}}
    check_resumable(saved, prov, model, path=tmp_path / "last.pt")  # defaults: nothing differs
    shifted = {**prov, "train_config": {**prov["train_config"], "shift_augment": True}}
    with pytest.raises(InputError, match="--shift-augment False -> True"):
        check_resumable(saved, shifted, model, path=tmp_path / "last.pt")
    guided = {**model, "stem_guide": 1.0}
    with pytest.raises(InputError, match="stem.guide"):
        check_resumable(saved, prov, guided, path=tmp_path / "last.pt")
    # a run from before --min-epochs stopped by patience alone: resumable with 0, not with more
    resolved = {"inputs": {}, "train_config": TrainConfig(epochs=30, min_epochs=10).to_dict()}
    before = {k: v for k, v in resolved["train_config"].items() if k != "min_epochs"}
    saved = {"config": model, "provenance": {"inputs": {}, "train_config": before}}
    with pytest.raises(InputError, match="--min-epochs 0 -> 10"):
        check_resumable(saved, resolved, model, path=tmp_path / "last.pt")
    alone = {"inputs": {}, "train_config": TrainConfig(epochs=30, min_epochs=0).to_dict()}
    check_resumable(saved, alone, model, path=tmp_path / "last.pt")
