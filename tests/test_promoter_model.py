import pytest
import torch

from mhsa_bio.models.mhsa import MultiHeadSelfAttention
from mhsa_bio.models.promoter import PromoterConfig, PromoterTransformer


def test_fast_and_weights_paths_agree():
    torch.manual_seed(0)
    attn = MultiHeadSelfAttention(32, 4).eval()
    x = torch.randn(3, 17, 32)
    pad = torch.zeros(3, 17, dtype=torch.bool)
    pad[1, 10:] = True
    fast, none = attn(x, pad)
    slow, weights = attn(x, pad, need_weights=True)
    assert none is None
    assert torch.allclose(fast, slow, atol=1e-5)
    assert weights.shape == (3, 4, 17, 17)
    assert torch.allclose(weights.sum(-1), torch.ones(3, 4, 17), atol=1e-5)
    assert weights[1, :, :, 10:].abs().max() == 0  # padded keys get no attention


def _model(**kw):
    torch.manual_seed(0)
    return PromoterTransformer(PromoterConfig(dim=32, heads=4, layers=2, max_len=50, **kw)).eval()


@pytest.mark.parametrize("guide", [0.0, 1.0])
def test_model_paths_agree_and_attention_shape(guide):
    model = _model(stem_guide=guide)
    tokens = torch.randint(0, 5, (4, 50))
    lengths = torch.full((4,), 50)
    fast = model(tokens, lengths)
    slow = model(tokens, lengths, return_attention=True)
    assert fast.attention is None
    assert torch.allclose(fast.logits, slow.logits, atol=1e-5)
    assert slow.attention.shape == (4, 2, 4, 51, 51)


@pytest.mark.parametrize(("act", "guide"), [("none", 0.0), ("gelu", 0.0), ("relu", 0.0), ("none", 1.0)])
def test_padding_changes_nothing(act, guide):
    model = _model(stem_activation=act, stem_guide=guide)
    torch.manual_seed(1)
    lengths = torch.tensor([50, 31, 12])
    tokens = torch.randint(0, 5, (3, 50))
    for i, n in enumerate(lengths):
        tokens[i, n:] = 5
    batch = model(tokens, lengths, return_attention=True)
    for i, n in enumerate(lengths.tolist()):
        alone = model(tokens[i : i + 1, :n], lengths[i : i + 1], return_attention=True)
        assert torch.allclose(alone.logits, batch.logits[i], atol=1e-5)
        assert torch.allclose(alone.attention[0], batch.attention[i, :, :, : n + 1, : n + 1], atol=1e-5)
        assert batch.attention[i, :, :, n + 1 :, :].abs().sum() == 0
        assert batch.attention[i, :, :, :, n + 1 :].abs().sum() == 0


def test_batch_size_invariance():
    model = _model()
    tokens = torch.randint(0, 5, (8, 40))
    lengths = torch.full((8,), 40)
    full = model(tokens, lengths).logits
    ones = torch.cat([model(tokens[i : i + 1], lengths[i : i + 1]).logits for i in range(8)])
    assert torch.allclose(full, ones, atol=1e-5)


def test_longer_inputs_use_interpolated_positions():
    model = _model()
    assert torch.equal(model.positions(50), model.pos)
    long = model.positions(100)
    assert long.shape == (100, 32)
    assert torch.allclose(long[0], model.pos[0]) and torch.allclose(long[-1], model.pos[-1])
    tokens = torch.randint(0, 4, (2, 100))
    out = model(tokens, torch.tensor([100, 100]))
    assert out.logits.shape == (2, 2) and torch.isfinite(out.logits).all()


def test_even_stem_kernel_is_refused():
    with pytest.raises(ValueError, match="odd"):
        PromoterTransformer(PromoterConfig(stem_kernel=10))


def test_stem_activation_is_applied_and_checked():
    linear, gelu = _model(), _model(stem_activation="gelu")
    gelu.load_state_dict(linear.state_dict())  # same weights: only the activation differs
    tokens = torch.randint(0, 4, (2, 30))
    lengths = torch.tensor([30, 30])
    assert not torch.allclose(linear(tokens, lengths).logits, gelu(tokens, lengths).logits)
    with pytest.raises(ValueError, match="stem_activation 'tanh'"):
        PromoterConfig(stem_activation="tanh")


def test_config_without_stem_activation_reads_as_linear():
    data = PromoterConfig(stem_activation="gelu").to_dict()
    del data["stem_activation"]  # a checkpoint written before the option existed
    assert PromoterConfig.from_dict(data).stem_activation == "none"


def test_stem_guide_biases_the_first_cls_row_and_trains_by_max_pool():
    model = _model(stem_guide=1.0)
    tokens = torch.randint(0, 4, (3, 50))
    lengths = torch.tensor([50, 40, 20])
    for i, n in enumerate(lengths.tolist()):
        tokens[i, n:] = 5
    assert model(tokens, lengths).stem_logits is None  # eval: no training readout
    with torch.no_grad():
        model.guide_scale.zero_()
    plain = model(tokens, lengths, return_attention=True).attention
    with torch.no_grad():
        model.guide_scale.fill_(2.0)
    guided = model(tokens, lengths, return_attention=True).attention
    # in the first layer only the CLS row moves
    assert not torch.allclose(plain[:, 0, :, 0], guided[:, 0, :, 0])
    assert torch.allclose(plain[:, 0, :, 1:], guided[:, 0, :, 1:])
    # the bias is each base's class-specificity, standardised over its sequence: log attention
    # moves by 2 z (up to the softmax's constant), and padding still gets none
    x = model.stem(model.onehot[tokens.clamp(max=5)].masked_fill(tokens[..., None] == 5, 0).transpose(1, 2))
    scores = model.stem_head(x.transpose(1, 2))
    for i, n in enumerate(lengths.tolist()):
        specific = scores[i, :n].amax(-1) - scores[i, :n].mean(-1)
        z = (specific - specific.mean()) / specific.std(unbiased=False)
        shift = (guided[i, 0, :, 0, 1 : n + 1] / plain[i, 0, :, 0, 1 : n + 1]).log() - 2 * z
        assert torch.allclose(shift, shift[:, :1].expand_as(shift), atol=1e-4)
        assert guided[i, 0, :, 0, n + 1 :].abs().sum() == 0
    model.train()
    for layer in model.layers:
        layer.drop.p = 0.0
    out = model(tokens, lengths)
    assert out.stem_logits.shape == (3, 2)
    # the readout is the max of each sequence's own bases: the padding never wins
    assert torch.allclose(out.stem_logits[2], scores[2, :20].amax(0))


def test_stem_guide_is_checked_and_absent_by_default():
    with pytest.raises(ValueError, match="stem_guide -1"):
        PromoterConfig(stem_guide=-1.0)
    with pytest.raises(ValueError, match="stem_guide nan"):
        PromoterConfig(stem_guide=float("nan"))
    plain = _model()
    assert not any(k.startswith(("stem_head", "guide_scale")) for k in plain.state_dict())
    data = PromoterConfig(stem_guide=0.5).to_dict()
    del data["stem_guide"]  # a checkpoint written before the option existed
    assert PromoterConfig.from_dict(data).stem_guide == 0.0
