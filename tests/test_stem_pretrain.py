"""Stem pretraining: the stem trained alone as a max-pool CNN, then the stem guide's scorer."""

import json
import re

import numpy as np
import pytest
import torch
from conftest import assert_clean_error, invoke, random_dna, write_fasta

from mhsa_bio.alphabet import encode_batch
from mhsa_bio.io.fasta import Record
from mhsa_bio.models.promoter import PromoterConfig, PromoterTransformer
from mhsa_bio.training.split import make_split
from mhsa_bio.training.stem import pretrain_stem
from mhsa_bio.training.trainer import TrainConfig, Trainer, TrainState

MOTIF = "CCACTAGGGGGC"  # CTCF's core: no reverse-complement palindrome
SMALL = ["--epochs", "1", "--dim", "16", "--heads", "2", "--layers", "1", "--device", "cpu"]


def _reverse_complement(s: str) -> str:
    return s[::-1].translate(str.maketrans("ACGT", "TGCA"))


def _long_set(n: int, length: int, *, seed: int = 0) -> tuple[list[Record], list[int]]:
    """Positives carrying MOTIF once, on either strand, at a random place; where it starts."""
    rng = np.random.default_rng(seed)
    records, starts = [], []
    for i in range(n):
        s = random_dna(rng, length)
        at = int(rng.integers(0, length - len(MOTIF)))
        site = MOTIF if i % 2 else _reverse_complement(MOTIF)
        records.append(Record(f"p{i}", s[:at] + site + s[at + len(MOTIF) :]))
        starts.append(at)
    return records, starts


def _pretrained(seed: int = 1) -> tuple[PromoterTransformer, dict, list[Record], list[int]]:
    records, starts = _long_set(160, 240)
    config = TrainConfig(seed=seed, stem_pretrain=30, batch_size=32)
    split = make_split(records, negatives=None, config=config)
    torch.manual_seed(seed)
    model = PromoterTransformer(
        PromoterConfig(dim=16, heads=2, layers=1, max_len=240, stem_guide=1.0, guide_signed=True)
    )
    summary = pretrain_stem(model, split, config, torch.device("cpu"))
    return model, summary, records, starts


def test_pretraining_learns_the_motif_and_points_the_guide_at_its_sites():
    model, summary, records, starts = _pretrained()
    assert summary["val_auroc"] > 0.9  # a single motif at a random place, either strand
    assert 1 <= summary["best_epoch"] <= summary["epochs_run"] <= 30
    first = model.stem_head[0]
    assert torch.equal(first.weight, torch.eye(16)) and not first.bias.any()
    # the guide alone (the first layer's CLS bias) puts most of that row's attention on the site
    model.eval()
    tokens, lengths = encode_batch([r.seq for r in records])
    x, n = torch.from_numpy(tokens), torch.from_numpy(lengths)
    with torch.no_grad():
        stem = model.stem(model.onehot[x].transpose(1, 2)).transpose(1, 2)
        weights = model._guide(model.stem_head(stem), x >= 5, n)[:, 1:].softmax(dim=1)
    flank = 5
    mass = [float(weights[i, max(0, s - flank) : s + len(MOTIF) + flank].sum()) for i, s in enumerate(starts)]
    uniform = (len(MOTIF) + 2 * flank) / 240
    assert np.mean(mass) > 4 * uniform  # 0.60 against 0.09 (the unsigned score gives 0.05)


def test_pretraining_is_seeded_and_needs_the_guide():
    a, *_ = _pretrained(seed=2)
    b, *_ = _pretrained(seed=2)
    assert torch.equal(a.stem.weight, b.stem.weight)
    assert torch.equal(a.stem_head[2].weight, b.stem_head[2].weight)
    records, _ = _long_set(20, 60)
    config = TrainConfig(stem_pretrain=2)
    split = make_split(records, negatives=None, config=config)
    with pytest.raises(ValueError, match="stem guide"):
        unguided = PromoterTransformer(PromoterConfig(dim=16, heads=2, layers=1))
        pretrain_stem(unguided, split, config, torch.device("cpu"))


def test_trainer_pretrains_unless_resuming_and_the_state_keeps_what_it_did():
    records, _ = _long_set(40, 80)
    config = TrainConfig(seed=1, stem_pretrain=3, epochs=1)
    split = make_split(records, negatives=None, config=config)
    model_config = PromoterConfig(dim=16, heads=2, layers=1, max_len=80, stem_guide=1.0)
    cpu = torch.device("cpu")
    fresh = Trainer(split, model_config=model_config, config=config, device=cpu)
    assert fresh.state.stem_pretrain["epochs_run"] >= 1
    resumed = Trainer(split, model_config=model_config, config=config, device=cpu, pretrain=False)
    assert resumed.state.stem_pretrain == {}
    assert not torch.equal(fresh.model.stem.weight, resumed.model.stem.weight)
    saved = fresh.state.to_dict()
    assert TrainState.from_dict(saved, best_state=None).stem_pretrain == fresh.state.stem_pretrain
    del saved["stem_pretrain"]  # a last.pt written before the field existed
    assert TrainState.from_dict(saved, best_state=None).stem_pretrain == {}


def test_auto_stem_guide_turns_on_from_300_bp():
    from mhsa_bio.training.plan import auto_stem_guide

    assert auto_stem_guide([Record("a", "A" * 300), Record("b", "A" * 400), Record("c", "A" * 60)]) == 1.0
    assert auto_stem_guide([Record("a", "A" * 299), Record("b", "A" * 300), Record("c", "A" * 60)]) == 0.0
    assert auto_stem_guide([]) == 0.0


def test_train_on_long_sequences_pretrains_by_default_and_records_it(tmp_path):
    records, _ = _long_set(30, 300)
    fa = write_fasta(tmp_path / "pos.fa", [(r.id, r.seq) for r in records])
    result = invoke("train", fa, "--out", tmp_path / "run", "--stem-pretrain", "2", *SMALL)
    assert result.exit_code == 0, result.output
    assert "stem pretraining: validation AUROC" in result.output
    run = json.loads((tmp_path / "run" / "run.json").read_text())
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert run["model_config"]["stem_guide"] == 1.0 and run["train_config"]["stem_pretrain"] == 2
    assert 1 <= metrics["stem_pretrain"]["epochs_run"] <= 2
    off = invoke("train", fa, "--out", tmp_path / "off", "--stem-guide", "0", *SMALL)
    assert off.exit_code == 0, off.output
    run = json.loads((tmp_path / "off" / "run.json").read_text())
    assert run["model_config"]["stem_guide"] == 0.0 and run["train_config"]["stem_pretrain"] == 0
    assert "stem_pretrain" not in json.loads((tmp_path / "off" / "metrics.json").read_text())


def test_train_on_short_sequences_keeps_the_guide_off(tmp_path):
    records, _ = _long_set(30, 100)
    fa = write_fasta(tmp_path / "pos.fa", [(r.id, r.seq) for r in records])
    result = invoke("train", fa, "--out", tmp_path / "run", *SMALL)
    assert result.exit_code == 0, result.output
    run = json.loads((tmp_path / "run" / "run.json").read_text())
    assert run["model_config"]["stem_guide"] == 0.0 and run["train_config"]["stem_pretrain"] == 0
    bad = invoke("train", fa, "--out", tmp_path / "bad", "--stem-pretrain", "5", *SMALL)
    assert_clean_error(bad, "--stem-pretrain trains the stem guide's scorer")
    assert not (tmp_path / "bad").exists()
    neg = invoke("train", fa, "--out", tmp_path / "neg", "--stem-guide", "1", "--stem-pretrain", "-1", *SMALL)
    assert_clean_error(neg, "--stem-pretrain -1")


def test_every_ensemble_member_pretrains_and_the_summary_lists_them(tmp_path):
    records, _ = _long_set(30, 300)
    fa = write_fasta(tmp_path / "pos.fa", [(r.id, r.seq) for r in records])
    result = invoke("train", fa, "--out", tmp_path / "run", "--ensemble", "2", "--stem-pretrain", "2", *SMALL)
    assert result.exit_code == 0, result.output
    members = json.loads((tmp_path / "run" / "metrics.json").read_text())["members"]
    assert [1 <= m["stem_pretrain"]["epochs_run"] <= 2 for m in members] == [True, True]
    text = " ".join(result.output.split())
    run = r"[\d.]+ \(epoch \d of \d\)"
    assert re.search(rf"stem pretraining: validation AUROC {run}, {run}", text)
