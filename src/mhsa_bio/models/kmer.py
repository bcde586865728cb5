"""The k-mer member of a two-class promoter model (``train --kmer-member``): a logistic regression
on the frequencies of every k-mer, k = 3 … 6, with ``train --kmer-frames`` on how much the
window reads like coding sequence (stop codons and codon usage in each strand's frames, each
base's position asymmetry), with ``train --kmer-positional`` on which 1-, 2- and 3-mer sits at
each position, and with ``--kmer-bins N`` on which 3- and 4-mers start in each bin of N
positions, standardised with the training part's mean and standard deviation. Fitted by
:func:`mhsa_bio.training.kmer.fit_kmer_member`; its probability is averaged with the Transformer's
by :class:`mhsa_bio.models.promoter.WithKmer`.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

#: k-mer lengths counted; 4³ + 4⁴ + 4⁵ + 4⁶ = 5,440 features.
KMER_SIZES = (3, 4, 5, 6)
N_FEATURES = sum(4**k for k in KMER_SIZES)
#: Features of the reading-frame block (``train --kmer-frames``, :func:`frame_features`): on each
#: strand the stop-codon counts of its three frames and the 64 codon frequencies of the frame with
#: the fewest stops, then each base's position asymmetry.
N_FRAME_FEATURES = 2 * (3 + 64) + 4
#: The stop codons as lexicographic ACGT codes of 3-mers (TAA 48, TAG 50, TGA 56).
STOP_CODES = tuple(int(word.translate(str.maketrans("ACGT", "0123")), 4) for word in ("TAA", "TAG", "TGA"))
#: k-mer lengths of the position-specific block (``train --kmer-positional``).
POSITIONAL_SIZES = (1, 2, 3)
#: k-mer lengths of the binned part of the position-specific block (``train --kmer-bins N``):
#: which of them start anywhere in each bin of N positions.
BINNED_SIZES = (3, 4)
#: The most positions a bin of the binned part may span.
MAX_POSITIONAL_BIN = 100
#: The longest window the position-specific block is built for (84 features a position, and
#: 320 a bin).
MAX_POSITIONAL_WIDTH = 1000


def _n_bins(width: int, k: int, bin_width: int) -> int:
    """Bins of ``bin_width`` positions over the start positions 0 … width − k of a k-mer."""
    return -(-max(width - k + 1, 0) // bin_width)


def n_positional(width: int, bin_width: int = 0) -> int:
    """Features of the position-specific block over ``width`` positions: one per k-mer and start
    position, k = 1 … 3 (84 a position), and with ``bin_width`` > 0 one per 3- or 4-mer and bin
    of ``bin_width`` start positions (320 a bin); 0 for ``width`` 0 (no block)."""
    exact = sum(_n_bins(width, k, 1) * 4**k for k in POSITIONAL_SIZES)
    return exact + (sum(_n_bins(width, k, bin_width) * 4**k for k in BINNED_SIZES) if bin_width else 0)


def n_member_features(width: int = 0, bin_width: int = 0, frames: bool = False) -> int:
    """The member's inputs: the k-mer frequencies, the reading-frame block with ``frames``, and
    the position-specific block over ``width`` positions (``n_positional``)."""
    return N_FEATURES + (N_FRAME_FEATURES if frames else 0) + n_positional(width, bin_width)


def _kmer_codes(tokens: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, L − k + 1) lexicographic ACGT index of the k-mer starting at each position, and
    whether it holds only A, C, G, T (no N, no padding)."""
    n = tokens.shape[1] - k + 1
    code = torch.zeros(tokens.shape[0], n, dtype=torch.int64, device=tokens.device)
    ok = torch.ones(tokens.shape[0], n, dtype=torch.bool, device=tokens.device)
    for j in range(k):
        part = tokens[:, j : j + n]
        code = code * 4 + part.clamp(max=3)
        ok &= part < 4
    return code, ok


def kmer_frequencies(
    tokens: torch.Tensor, lengths: torch.Tensor, *, dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    """(B, 5,440) counts of every k-mer (k = 3 … 6, each block in lexicographic ACGT order)
    divided by each sequence's length; k-mers holding N or padding are not counted.

    tokens : (B, L) int64 (``alphabet.encode_batch``: A C G T = 0 … 3, N = 4, padding 5)
    lengths : (B,) int64
    """
    b, width = tokens.shape
    blocks = []
    for k in KMER_SIZES:
        counts = torch.zeros(b, 4**k, dtype=dtype, device=tokens.device)
        if width - k + 1 > 0:
            code, ok = _kmer_codes(tokens, k)
            counts.scatter_add_(1, code, ok.to(dtype))
        blocks.append(counts)
    return torch.cat(blocks, dim=1) / lengths.clamp(min=1).to(dtype)[:, None]


def _reverse_complement(tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Each row's reverse complement within its own length (A C G T = 0 … 3 complement to
    3 … 0; N and padding kept), padding after it."""
    width = tokens.shape[1]
    source = lengths[:, None] - 1 - torch.arange(width, device=tokens.device)[None, :]
    rc = torch.gather(tokens, 1, source.clamp(min=0))
    rc = torch.where(rc < 4, 3 - rc, rc)
    return torch.where(source >= 0, rc, torch.full_like(rc, 5))


def frame_features(
    tokens: torch.Tensor, lengths: torch.Tensor, *, dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    """(B, ``N_FRAME_FEATURES``) how much each window reads like coding sequence, whatever its
    frame: for the sequence and then its reverse complement, the number of stop codons (TAA, TAG,
    TGA) in each of the three frames from its first base, in increasing order, and the
    frequencies of the 64 codons (lexicographic ACGT order) in the frame with the fewest stops
    (averaged over the frames that tie); then for A, C, G and T the position asymmetry (Fickett's
    TESTCODE): the most minus the fewest occurrences over the three codon positions, per codon
    (three times over the length). Codons holding N or padding are not counted.

    tokens : (B, L) int64 (``alphabet.encode_batch``: A C G T = 0 … 3, N = 4, padding 5)
    lengths : (B,) int64
    """
    b, width = tokens.shape
    device = tokens.device
    per_strand = []
    for t in (tokens, _reverse_complement(tokens, lengths)):
        if width < 3:
            per_strand.append(torch.zeros(b, 3 + 64, dtype=dtype, device=device))
            continue
        code, ok = _kmer_codes(t, 3)
        stop = ok & torch.isin(code, torch.tensor(STOP_CODES, device=device))
        phase = torch.arange(code.shape[1], device=device) % 3
        stops = torch.stack([(stop & (phase == f)).sum(1) for f in range(3)], 1).to(dtype)
        usage = torch.zeros(b, 3, 64, dtype=dtype, device=device)
        usage.view(b, 3 * 64).scatter_add_(1, phase * 64 + code, ok.to(dtype))
        usage = usage / usage.sum(2, keepdim=True).clamp(min=1)
        fewest = (stops == stops.min(1, keepdim=True).values).to(dtype)
        best = (usage * (fewest / fewest.sum(1, keepdim=True))[:, :, None]).sum(1)
        per_strand.append(torch.cat([stops.sort(1).values, best], 1))
    phase = torch.arange(width, device=device) % 3
    counts = torch.stack(
        [torch.stack([((tokens == base) & (phase == f)).sum(1) for f in range(3)], 1) for base in range(4)], 1
    ).to(dtype)  # (B, 4 bases, 3 codon positions)
    asymmetry = (counts.max(2).values - counts.min(2).values) * 3 / lengths.clamp(min=1).to(dtype)[:, None]
    return torch.cat([*per_strand, asymmetry], 1)


def positional_kmers(
    tokens: torch.Tensor, width: int, bin_width: int = 0, *, dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    """(B, ``n_positional(width, bin_width)``) one-hot of the k-mer (k = 1, 2, 3) starting at
    each position 0 … width − k, counted from each sequence's 5′ end: block k holds position p's
    k-mer at column p·4^k + its lexicographic ACGT index. With ``bin_width`` > 0, then for
    k = 3, 4 whether each k-mer starts anywhere in each bin of start positions
    [b·bin_width, (b + 1)·bin_width): column b·4^k + its index (1 however often it occurs
    there), so a word that moves by a base or two between windows still sets the same feature.
    Positions past a sequence's end, or k-mers holding N or padding, are all zero; bases past
    ``width`` are not read.

    tokens : (B, L) int64 (``alphabet.encode_batch``: A C G T = 0 … 3, N = 4, padding 5)
    """
    b = tokens.shape[0]
    t = tokens[:, :width]
    if t.shape[1] < width:
        t = torch.cat([t, t.new_full((b, width - t.shape[1]), 5)], dim=1)
    codes: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}  # each k-mer length's, once
    blocks = []
    # the exact block is the binned one with bins of one position
    for k, per in [(k, 1) for k in POSITIONAL_SIZES] + [(k, bin_width) for k in BINNED_SIZES if bin_width]:
        n = width - k + 1
        if n <= 0:
            continue
        if k not in codes:
            codes[k] = _kmer_codes(t, k)
        code, ok = codes[k]
        column = torch.arange(n, device=tokens.device) // per * 4**k + code
        block = torch.zeros(b, _n_bins(width, k, per) * 4**k, dtype=dtype, device=tokens.device)
        block.scatter_reduce_(1, column, ok.to(dtype), reduce="amax")  # present in the bin: 1
        blocks.append(block)
    return torch.cat(blocks, dim=1) if blocks else torch.zeros(b, 0, dtype=dtype, device=tokens.device)


def member_features(
    tokens: torch.Tensor,
    lengths: torch.Tensor,
    width: int,
    bin_width: int = 0,
    *,
    frames: bool = False,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """The member's inputs: k-mer frequencies, then (``frames``) the reading-frame block, then
    (``width`` > 0) the position-specific block."""
    blocks = [kmer_frequencies(tokens, lengths, dtype=dtype)]
    if frames:
        blocks.append(frame_features(tokens, lengths, dtype=dtype))
    if width:
        blocks.append(positional_kmers(tokens, width, bin_width, dtype=dtype))
    return torch.cat(blocks, dim=1) if len(blocks) > 1 else blocks[0]


class KmerLogistic(nn.Module):
    """P(positive) = σ(w · (f − mean) / scale + bias) for the member's features f: the k-mer
    frequencies, with ``frames`` the reading-frame block, with ``width`` > 0 the
    position-specific 1- to 3-mers over that many positions, with ``bin_width`` > 0 the 3- and
    4-mers in bins of that many positions too (:func:`member_features`).

    Every parameter is a buffer (fitted once, never trained by gradient): mean, scale and weight
    (``n_member_features(width, bin_width, frames)``,), bias ().
    """

    mean: torch.Tensor
    scale: torch.Tensor
    weight: torch.Tensor
    bias: torch.Tensor

    def __init__(self, width: int = 0, bin_width: int = 0, frames: bool = False) -> None:
        super().__init__()
        self.width, self.bin_width, self.frames = width, bin_width, frames
        n = n_member_features(width, bin_width, frames)
        for name in ("mean", "weight"):
            self.register_buffer(name, torch.zeros(n))
        self.register_buffer("scale", torch.ones(n))
        self.register_buffer("bias", torch.zeros(()))

    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """(B,) P(positive) in the buffers' precision (float32 as loaded), outside any
        mixed-precision region."""
        with torch.autocast(tokens.device.type, enabled=False):
            x = member_features(
                tokens, lengths, self.width, self.bin_width, frames=self.frames, dtype=self.mean.dtype
            )
            x = (x - self.mean) / self.scale
            return torch.sigmoid(x @ self.weight + self.bias)

    def to_checkpoint(self, **info: Any) -> dict[str, Any]:
        """The checkpoint's ``kmer_member`` entry: the buffers (float32, CPU), the width of the
        position-specific block (``positional_width``, 0 for none), the positions per bin of its
        binned part (``positional_bin``, 0 for none), whether it reads the reading-frame block
        (``frames``) and ``info`` (plain values:
        ``l2``, the penalty chosen; ``average_weight``, the member's weight in the average with
        the Transformer)."""
        return {
            "sizes": list(KMER_SIZES),
            "positional_width": self.width,
            "positional_bin": self.bin_width,
            "frames": self.frames,
            **{n: getattr(self, n).detach().float().cpu() for n in ("mean", "scale", "weight", "bias")},
            **info,
        }

    @classmethod
    def from_checkpoint(cls, entry: dict[str, Any]) -> KmerLogistic:
        """Rebuild from a ``kmer_member`` entry; ``ValueError`` names what does not fit."""
        if not isinstance(entry, dict):
            raise ValueError("'kmer_member' is not a table")
        if list(entry.get("sizes", ())) != list(KMER_SIZES):
            raise ValueError(f"k-mer sizes {entry.get('sizes')!r}, this version reads {list(KMER_SIZES)}")
        share = entry.get("average_weight")
        if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 <= share <= 1:
            raise ValueError(f"k-mer member's average_weight {share!r} is not a weight in [0, 1]")
        width = entry.get("positional_width", 0)
        if isinstance(width, bool) or not isinstance(width, int) or not 0 <= width <= MAX_POSITIONAL_WIDTH:
            raise ValueError(
                f"k-mer member's positional_width {width!r} is not a width in 0 … {MAX_POSITIONAL_WIDTH}"
            )
        # an entry written before the binned part existed has none
        bin_width = entry.get("positional_bin", 0)
        if isinstance(bin_width, bool) or not isinstance(bin_width, int) or not 0 <= bin_width <= width:
            raise ValueError(f"k-mer member's positional_bin {bin_width!r} is not a bin width in 0 … {width}")
        # nor one written before the reading-frame block existed
        frames = entry.get("frames", False)
        if not isinstance(frames, bool):
            raise ValueError(f"k-mer member's frames {frames!r} is not true or false")
        model = cls(width, bin_width, frames)
        n = n_member_features(width, bin_width, frames)
        for name, shape in (
            ("mean", (n,)),
            ("scale", (n,)),
            ("weight", (n,)),
            ("bias", ()),
        ):
            value = entry.get(name)
            if not isinstance(value, torch.Tensor) or tuple(value.shape) != shape:
                raise ValueError(f"k-mer member's '{name}' is not a tensor of shape {shape}")
            if not bool(torch.isfinite(value).all()) or (name == "scale" and bool((value <= 0).any())):
                raise ValueError(f"k-mer member's '{name}' holds values it cannot use")
            getattr(model, name).copy_(value.float())
        return model
