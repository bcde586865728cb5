import pickle

import pytest
import torch

from mhsa_bio.checkpoint import (
    FORMAT_VERSION,
    decision_threshold,
    load_model,
    make_checkpoint,
    read_checkpoint,
    save_checkpoint,
)
from mhsa_bio.errors import InputError
from mhsa_bio.models.promoter import PromoterConfig, PromoterTransformer


def _ckpt(model=None):
    config = PromoterConfig(dim=16, heads=2, layers=1, max_len=30)
    model = model or PromoterTransformer(config)
    return model, make_checkpoint(model, model_type="promoter", config=config.to_dict(),
                                  alphabet="ACGTN", classes=["background", "positive"],
                                  provenance={"seed": 0}, metrics={"auroc": 0.5})


def test_round_trip_restores_identical_model(tmp_path):
    model, ckpt = _ckpt()
    save_checkpoint(ckpt, tmp_path / "m.pt")
    loaded, meta = load_model(tmp_path / "m.pt")
    tokens = torch.randint(0, 4, (2, 30))
    lengths = torch.tensor([30, 20])
    model.eval()
    assert torch.equal(loaded(tokens, lengths).logits, model(tokens, lengths).logits)
    assert meta["format_version"] == FORMAT_VERSION
    assert meta["classes"] == ["background", "positive"]


def test_truncated_and_corrupt_files(tmp_path):
    _, ckpt = _ckpt()
    save_checkpoint(ckpt, tmp_path / "m.pt")
    data = (tmp_path / "m.pt").read_bytes()
    (tmp_path / "trunc.pt").write_bytes(data[: len(data) // 2])
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint at all")
    for name in ("trunc.pt", "junk.pt"):
        with pytest.raises(InputError, match="not a readable mhsa-bio checkpoint"):
            read_checkpoint(tmp_path / name)


def test_foreign_and_newer_checkpoints(tmp_path):
    torch.save({"state_dict": {}}, tmp_path / "foreign.pt")
    with pytest.raises(InputError, match="not an mhsa-bio checkpoint"):
        read_checkpoint(tmp_path / "foreign.pt")
    _, ckpt = _ckpt()
    ckpt["format_version"] = FORMAT_VERSION + 1
    torch.save(ckpt, tmp_path / "newer.pt")
    with pytest.raises(InputError, match="newer"):
        read_checkpoint(tmp_path / "newer.pt")


class Exploit:
    def __reduce__(self):
        return (open, ("/tmp/mhsa_bio_pwned", "w"))


def test_loading_never_executes_code(tmp_path):
    _, ckpt = _ckpt()
    ckpt["payload"] = Exploit()
    with open(tmp_path / "evil.pt", "wb") as handle:
        torch.save(ckpt, handle, pickle_module=pickle)
    with pytest.raises(InputError, match="objects other than tensors"):
        read_checkpoint(tmp_path / "evil.pt")


def test_mismatched_weights_are_an_input_error(tmp_path):
    _, ckpt = _ckpt()
    ckpt["state_dict"].pop("head.bias")
    save_checkpoint(ckpt, tmp_path / "m.pt")
    with pytest.raises(InputError, match="does not match"):
        load_model(tmp_path / "m.pt")


def test_the_same_checkpoint_gives_the_same_bytes_whatever_the_file_name(tmp_path):
    _, ckpt = _ckpt()
    save_checkpoint(ckpt, tmp_path / "a.pt")
    save_checkpoint(ckpt, tmp_path / "other_name.pt")
    assert (tmp_path / "a.pt").read_bytes() == (tmp_path / "other_name.pt").read_bytes()


def test_random_bytes_and_unknown_keys_are_named(tmp_path):
    (tmp_path / "r.pt").write_bytes(bytes(range(256)) * 4)
    with pytest.raises(InputError, match="not a PyTorch file"):
        read_checkpoint(tmp_path / "r.pt")
    _, ckpt = _ckpt()
    ckpt["extra_key"] = 1
    save_checkpoint(ckpt, tmp_path / "x.pt")
    with pytest.raises(InputError, match="unknown key 'extra_key'"):
        read_checkpoint(tmp_path / "x.pt")


def test_decision_threshold_round_trip_and_older_checkpoints(tmp_path):
    _, ckpt = _ckpt()
    save_checkpoint({**ckpt, "decision_threshold": 0.3125}, tmp_path / "t.pt")
    assert decision_threshold(load_model(tmp_path / "t.pt")[1]) == 0.3125
    save_checkpoint(ckpt, tmp_path / "old.pt")  # written before the key existed
    meta = load_model(tmp_path / "old.pt")[1]
    assert "decision_threshold" not in meta and decision_threshold(meta) == 0.5
    assert decision_threshold({**meta, "classes": ["a", "b", "c"]}) is None
    for bad in (1.5, "0.3", True):
        save_checkpoint({**ckpt, "decision_threshold": bad}, tmp_path / "bad.pt")
        with pytest.raises(InputError, match="decision_threshold .* is not a probability"):
            read_checkpoint(tmp_path / "bad.pt")


def test_ensemble_members_round_trip_and_bad_members_are_named(tmp_path):
    from mhsa_bio.checkpoint import ensemble_size, load_predictor
    from mhsa_bio.models.promoter import PromoterEnsemble

    first, ckpt = _ckpt()
    torch.manual_seed(1)
    second, _ = _ckpt()
    ckpt["members"] = [{k: v.clone() for k, v in second.state_dict().items()}]
    save_checkpoint(ckpt, tmp_path / "e.pt")
    net, meta = load_predictor(tmp_path / "e.pt")
    assert isinstance(net, PromoterEnsemble) and ensemble_size(meta) == 2
    tokens, lengths = torch.randint(0, 4, (3, 30)), torch.tensor([30, 25, 21])
    first.eval(), second.eval()
    mean = (first(tokens, lengths).logits.softmax(-1) + second(tokens, lengths).logits.softmax(-1)) / 2
    assert torch.allclose(net(tokens, lengths).logits.softmax(-1), mean, atol=1e-6)
    plain, _ = load_model(tmp_path / "e.pt")  # the first member
    assert torch.equal(plain(tokens, lengths).logits, first(tokens, lengths).logits)
    ckpt["members"] = [{"head.bias": torch.zeros(2)}]
    save_checkpoint(ckpt, tmp_path / "partial.pt")
    with pytest.raises(InputError, match="does not match"):
        load_predictor(tmp_path / "partial.pt")
    ckpt["members"] = "weights"
    save_checkpoint(ckpt, tmp_path / "bad.pt")
    with pytest.raises(InputError, match="'members' is not a list"):
        read_checkpoint(tmp_path / "bad.pt")
