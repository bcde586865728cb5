"""The promoter Transformer: conv stem at base resolution, pre-norm MHSA layers, CLS classifier."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from mhsa_bio.alphabet import PAD
from mhsa_bio.models.mhsa import MultiHeadSelfAttention

if TYPE_CHECKING:
    from mhsa_bio.models.kmer import KmerLogistic

#: Pointwise activation after the convolution stem: "none" keeps the stem linear.
STEM_ACTIVATIONS = ("none", "gelu", "relu")
#: Initial scale of the stem guide's standardised per-base bias (``stem_guide`` > 0): at 2 a base
#: two standard deviations above its sequence's mean gets e^4 ≈ 55 times the attention of an average one.
GUIDE_SCALE = 2.0
#: What a checkpoint written before a config key existed meant by leaving it out.
LEGACY_CONFIG: dict[str, Any] = {"stem_activation": "none", "stem_guide": 0.0}


@dataclass(frozen=True)
class PromoterConfig:
    """Size of the promoter model.

    The defaults train in minutes on a laptop CPU for a few thousand 300 bp sequences.
    """

    n_classes: int = 2
    dim: int = 64
    heads: int = 4
    layers: int = 2
    ff_mult: int = 2
    stem_kernel: int = 11
    max_len: int = 300
    dropout: float = 0.3
    stem_activation: str = "none"
    stem_guide: float = 0.0
    #: two classes: the stem guide's per-base score is class 1's minus class 0's (evidence for the
    #: positives), not the top class's minus the mean (evidence for either class); ``train`` sets
    #: it with the guide, and a checkpoint without the key had False
    guide_signed: bool = False

    def __post_init__(self) -> None:
        for name in ("n_classes", "dim", "heads", "layers", "ff_mult", "stem_kernel"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} {value!r}: must be a positive integer")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout {self.dropout}: must lie in [0, 1)")
        if not 0.0 <= self.stem_guide < float("inf"):
            raise ValueError(f"stem_guide {self.stem_guide}: must be a non-negative number")
        if self.stem_activation not in STEM_ACTIVATIONS:
            raise ValueError(
                f"stem_activation {self.stem_activation!r}: must be one of {', '.join(STEM_ACTIVATIONS)}"
            )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PromoterConfig:
        known = set(cls.__dataclass_fields__)
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown model config keys: {sorted(unknown)}")
        return cls(**{**LEGACY_CONFIG, **data})


PRESETS: dict[str, dict[str, int]] = {
    "small": {"dim": 64, "heads": 4, "layers": 2},
    "base": {"dim": 128, "heads": 8, "layers": 4},
    "large": {"dim": 256, "heads": 8, "layers": 6},
}


class PromoterOutput(NamedTuple):
    """What the model returns.

    logits : (N, C)
    attention : (N, layers, H, T, T) with T = L + 1; index 0 is the CLS token and index i + 1 is
        base i. Rows and columns of padded positions are 0. ``None`` unless asked for.
    stem_logits : (N, C), the stem guide's max-pool readout (``stem_guide`` > 0, training mode
        only): what trains the guide; never a prediction
    """

    logits: torch.Tensor
    attention: torch.Tensor | None = None
    stem_logits: torch.Tensor | None = None


class EncoderLayer(nn.Module):
    """Pre-norm Transformer encoder layer: x + MHSA(LN(x)), then x + FF(LN(x))."""

    def __init__(self, config: PromoterConfig) -> None:
        super().__init__()
        d = config.dim
        self.norm1 = nn.LayerNorm(d)
        self.attn = MultiHeadSelfAttention(d, config.heads)
        self.norm2 = nn.LayerNorm(d)
        self.ff = nn.Sequential(nn.Linear(d, config.ff_mult * d), nn.GELU(), nn.Linear(config.ff_mult * d, d))
        self.drop = nn.Dropout(config.dropout)

    def forward(
        self,
        x: torch.Tensor,
        pad: torch.Tensor,
        *,
        need_weights: bool,
        first_row_bias: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        h, w = self.attn(self.norm1(x), pad, need_weights=need_weights, first_row_bias=first_row_bias)
        x = x + self.drop(h)
        x = x + self.drop(self.ff(self.norm2(x)))
        return x, w


class PromoterTransformer(nn.Module):
    """Classifies DNA sequences; attention position i + 1 is base i.

    One-hot input (N as 0.25 everywhere, padding as zeros) → Conv1d stem with 'same' padding, so
    the stem of a padded sequence equals that of the sequence alone → learned absolute position
    embeddings (linearly interpolated for sequences longer than ``max_len``) → CLS token →
    ``layers`` pre-norm encoder layers → LayerNorm → linear head on CLS.
    """

    onehot: torch.Tensor  # buffer (registered in __init__)

    def __init__(self, config: PromoterConfig) -> None:
        super().__init__()
        if config.stem_kernel % 2 == 0:
            raise ValueError("stem_kernel must be odd so that the stem keeps base resolution")
        self.config = config
        d = config.dim
        self.stem = nn.Conv1d(4, d, config.stem_kernel, padding=config.stem_kernel // 2)
        self.stem_act: nn.Module = {"none": nn.Identity(), "gelu": nn.GELU(), "relu": nn.ReLU()}[
            config.stem_activation
        ]
        self.pos = nn.Parameter(torch.zeros(config.max_len, d))
        nn.init.normal_(self.pos, std=0.02)
        self.cls = nn.Parameter(torch.zeros(1, 1, d))
        nn.init.normal_(self.cls, std=0.02)
        self.layers = nn.ModuleList(EncoderLayer(config) for _ in range(config.layers))
        self.norm = nn.LayerNorm(d)
        self.head = nn.Linear(d, config.n_classes)
        # the stem guide: a per-base score from the stem (channels -> ReLU -> classes) whose
        # class-specificity biases the first layer's CLS attention; trained by a max-pool readout
        self.stem_head: nn.Module | None = None
        if config.stem_guide > 0:
            self.stem_head = nn.Sequential(nn.Linear(d, d), nn.ReLU(), nn.Linear(d, config.n_classes))
            self.guide_scale = nn.Parameter(torch.tensor(GUIDE_SCALE))
        # token -> one-hot row (A C G T N PAD)
        onehot = torch.zeros(6, 4)
        onehot[:4] = torch.eye(4)
        onehot[4] = 0.25
        self.register_buffer("onehot", onehot, persistent=False)

    def positions(self, length: int) -> torch.Tensor:
        """Position embeddings (length, D): the learned table, interpolated when longer."""
        if length <= self.config.max_len:
            return self.pos[:length]
        table = self.pos.t()[None]  # (1, D, max_len)
        return F.interpolate(table, size=length, mode="linear", align_corners=True)[0].t()

    def _position_batch(self, lengths: torch.Tensor, width: int) -> torch.Tensor:
        """(N, width, D) position embeddings, each row interpolated to its own length if needed."""
        base = self.positions(min(width, self.config.max_len))
        if width <= self.config.max_len:
            return base[None].expand(lengths.shape[0], -1, -1)
        out = torch.zeros(lengths.shape[0], width, base.shape[1], device=base.device, dtype=base.dtype)
        for length in torch.unique(lengths).tolist():
            rows = lengths == length
            n = max(int(length), 1)
            out[rows, :n] = self.positions(n)
        return out

    def _guide(self, scores: torch.Tensor, pad: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """(N, 1 + L) bias of the first CLS row: each base's class-specificity (top class score
        minus the mean; with ``guide_signed`` and two classes, class 1's score minus class 0's),
        standardised over the sequence's own bases, times a learned scale; 0 for the CLS token
        itself and at padding."""
        if self.config.guide_signed and scores.shape[-1] == 2:
            specific = scores[..., 1] - scores[..., 0]
        else:
            specific = scores.amax(dim=-1) - scores.mean(dim=-1)
        specific = specific.masked_fill(pad, 0.0)  # (N, L)
        n = lengths.clamp(min=1).to(specific.dtype)[:, None]
        mean = specific.sum(dim=1, keepdim=True) / n
        centred = (specific - mean).masked_fill(pad, 0.0)
        std = (centred.square().sum(dim=1, keepdim=True) / n).sqrt().clamp(min=1e-6)
        z = self.guide_scale * centred / std
        return torch.cat([torch.zeros_like(z[:, :1]), z], dim=1)

    def stem_features(
        self, tokens: torch.Tensor, lengths: torch.Tensor, *, inputs: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The convolution stem's output (N, L, D) of a padded batch and its padding mask (N, L).
        Padding enters the stem as zero rows, so a padded sequence's stem is its own; ``inputs``
        as in :meth:`forward`."""
        pad = torch.arange(tokens.shape[1], device=tokens.device)[None, :] >= lengths[:, None]  # (N, L)
        x = self.onehot[tokens.clamp(max=PAD)] if inputs is None else inputs  # (N, L, 4)
        x = x.masked_fill(pad[..., None], 0.0)
        return self.stem_act(self.stem(x.transpose(1, 2))).transpose(1, 2), pad

    def forward(
        self,
        tokens: torch.Tensor,
        lengths: torch.Tensor,
        *,
        return_attention: bool = False,
        inputs: torch.Tensor | None = None,
    ) -> PromoterOutput:
        """Score a padded batch.

        Parameters
        ----------
        tokens : (N, L) int64, 0..4 for A C G T N and ``PAD`` (5) beyond each length
        lengths : (N,) int64
        return_attention : also return every layer's attention weights (slow path)
        inputs : (N, L, 4) float rows to read instead of the tokens' one-hot rows (gradient ×
            input attributions differentiate the logits with respect to them); the tokens still
            mark the padding
        """
        n, width = tokens.shape
        x, pad = self.stem_features(tokens, lengths, inputs=inputs)
        stem_logits = guide = None
        if self.stem_head is not None:
            scores = self.stem_head(x)  # (N, L, C): each base's evidence for each class
            if self.training:  # the max-pool readout that trains the guide
                stem_logits = scores.masked_fill(pad[..., None], float("-inf")).amax(dim=1)
            guide = self._guide(scores, pad, lengths)
        x = x + self._position_batch(lengths, width)
        x = x.masked_fill(pad[..., None], 0.0)
        x = torch.cat([self.cls.expand(n, -1, -1), x], dim=1)  # (N, T, D)
        pad_t = torch.cat([torch.zeros(n, 1, dtype=torch.bool, device=pad.device), pad], dim=1)
        maps = []
        for i, layer in enumerate(self.layers):
            x, w = layer(x, pad_t, need_weights=return_attention, first_row_bias=guide if i == 0 else None)
            if w is not None:
                maps.append(w.masked_fill(pad_t[:, None, :, None], 0.0))
        logits = self.head(self.norm(x[:, 0]))
        attention = torch.stack(maps, dim=1) if return_attention else None
        return PromoterOutput(logits, attention, stem_logits)


class _Mixture(nn.Module):
    """A model made of models that gives class probabilities only (no attention, no input
    attributions: read those from the Transformer it holds), returned as their log so that a
    softmax gives them back."""

    #: Where the attention of this model is read (said by the error when it is asked for).
    attention_from = "its Transformer"

    def probabilities(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """(B, C) float32 class probabilities."""
        raise NotImplementedError

    def forward(
        self,
        tokens: torch.Tensor,
        lengths: torch.Tensor,
        *,
        return_attention: bool = False,
        inputs: torch.Tensor | None = None,
    ) -> PromoterOutput:
        """Score a padded batch (``tokens``, ``lengths`` as :meth:`PromoterTransformer.forward`)."""
        if return_attention or inputs is not None:
            raise ValueError(
                f"{type(self).__name__} gives probabilities only; read attention from {self.attention_from}"
            )
        return PromoterOutput(self.probabilities(tokens, lengths).clamp_min(1e-30).log())


class PromoterEnsemble(_Mixture):
    """The members of one ``train --ensemble K`` run, scored as one model: the mean of their
    class probabilities. Members share the config. Attention and input attributions belong to
    one member: read them from ``members[i]``."""

    attention_from = "one member (members[i])"

    def __init__(self, members: list[PromoterTransformer]) -> None:
        super().__init__()
        self.members = nn.ModuleList(members)

    @property
    def config(self) -> PromoterConfig:
        first: PromoterTransformer = self.members[0]  # type: ignore[assignment]
        return first.config

    def probabilities(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return torch.stack([m(tokens, lengths).logits.float().softmax(dim=-1) for m in self.members]).mean(
            dim=0
        )


class WithKmer(_Mixture):
    """A Transformer (or an ensemble of them) and a k-mer member (``train --kmer-member``) scored
    as one two-class model: P(positive) is ``weight`` × the k-mer member's + (1 − ``weight``) ×
    the Transformer's. Attention and input attributions belong to the Transformer: read them
    from ``net``."""

    attention_from = "its Transformer (net)"

    def __init__(
        self, net: PromoterTransformer | PromoterEnsemble, kmer: KmerLogistic, *, weight: float = 0.5
    ) -> None:
        super().__init__()
        self.net = net
        self.kmer = kmer
        self.weight = weight

    @property
    def config(self) -> PromoterConfig:
        return self.net.config

    def probabilities(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        own = self.net(tokens, lengths).logits.float().softmax(dim=-1)[:, 1]
        p = (1 - self.weight) * own + self.weight * self.kmer(tokens, lengths)
        return torch.stack([1 - p, p], dim=1)


#: What scores sequences: one model, an ensemble of them, either with a k-mer member.
Scorer = PromoterTransformer | PromoterEnsemble | WithKmer
