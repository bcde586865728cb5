"""Tiny motifs, MEME text, sequences and a toy attention model for the pairs tests."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace

import numpy as np

from mhsa_bio.alphabet import reverse_complement
from mhsa_bio.io.fasta import Record
from mhsa_bio.io.meme import MemeMotif

# Two sharp, non-palindromic 8 bp motifs and one 6 bp palindrome.
CONSENSUS = {"MA": "TTGACAGT", "MB": "TATAATGC", "PAL": "GATATC"}


def onehot_motif(ident: str, name: str, consensus: str, *, purity: float = 0.94) -> MemeMotif:
    """A motif whose consensus base has probability ``purity`` at every position."""
    probs = np.full((len(consensus), 4), (1 - purity) / 3)
    for k, base in enumerate(consensus):
        probs[k, "ACGT".index(base)] = purity
    return MemeMotif(ident, name, probs, 20)


def motifs(names: tuple[str, ...] = ("MA", "MB")) -> list[MemeMotif]:
    return [onehot_motif(f"M{k + 1}", n, CONSENSUS[n]) for k, n in enumerate(names)]


def meme_text(motif_list: list[MemeMotif]) -> str:
    """MEME minimal format text of ``motif_list``."""
    lines = ["MEME version 4", "", "ALPHABET= ACGT", "", "strands: + -", "",
             "Background letter frequencies", "A 0.25 C 0.25 G 0.25 T 0.25", ""]
    for m in motif_list:
        lines.append(f"MOTIF {m.id} {m.name}")
        lines.append(f"letter-probability matrix: alength= 4 w= {len(m.probs)} nsites= 20 E= 0")
        lines += [" ".join(f"{x:.6f}" for x in row) for row in m.probs]
        lines.append("")
    return "\n".join(lines) + "\n"


def random_seq(rng: np.random.Generator, length: int) -> str:
    return "".join(rng.choice(list("ACGT"), size=length))


def plant(seq: str, site: str, start: int, strand: str = "+") -> str:
    """``seq`` with ``site`` (as the motif reads) written at ``start`` on ``strand``."""
    bases = site if strand == "+" else reverse_complement(site)
    return seq[:start] + bases + seq[start + len(bases):]


def pair_sets(n: int, *, length: int = 60, gap: int = 6, seed: int = 0
              ) -> tuple[list[Record], list[Record]]:
    """Positives: MA then MB, both ``+``, MB starting ``gap`` bases after MA ends, at a random
    place. Negatives: the same motifs, also both ``+``, at random non-overlapping places, never at
    the positive arrangement; so only the spacing tells the classes apart (no strand shortcut)."""
    rng = np.random.default_rng(seed)
    a, b = CONSENSUS["MA"], CONSENSUS["MB"]
    pos, neg = [], []
    for k in range(n):
        seq = random_seq(rng, length)
        start = int(rng.integers(0, length - len(a) - gap - len(b) + 1))
        seq = plant(plant(seq, a, start), b, start + len(a) + gap)
        pos.append(Record(f"p{k}", seq, f"p{k}"))
        while True:
            sa, sb = (int(x) for x in rng.integers(0, [length - len(a) + 1, length - len(b) + 1]))
            if sa + len(a) <= sb or sb + len(b) <= sa:
                if not (sb - sa - len(a) == gap):
                    break
        seq = plant(plant(random_seq(rng, length), a, sa), b, sb)
        neg.append(Record(f"n{k}", seq, f"n{k}"))
    return pos, neg


class ToyAttentionModel:
    """Stands in for PromoterTransformer: returns a fixed attention map per sequence.

    ``maps[seq]`` (a dict) or ``maps(seq)`` (a function, for sequences made on the way such as
    null copies) is (layers * heads, L, L) base-to-base attention; the CLS row/column is 0.
    """

    def __init__(self, maps: dict[str, np.ndarray] | Callable[[str], np.ndarray], *, layers: int,
                 heads: int) -> None:
        self.maps = maps.__getitem__ if isinstance(maps, dict) else maps
        self.config = SimpleNamespace(layers=layers, heads=heads, n_classes=2)

    def eval(self) -> ToyAttentionModel:
        return self

    def __call__(self, tokens, lengths, *, return_attention=False):  # type: ignore[no-untyped-def]
        import torch

        from mhsa_bio.alphabet import decode
        from mhsa_bio.models.promoter import PromoterOutput

        n, width = tokens.shape
        lh = self.config.layers * self.config.heads
        att = torch.zeros(n, lh, width + 1, width + 1)
        for b in range(n):
            seq = decode(tokens[b].numpy())
            m = torch.as_tensor(self.maps(seq), dtype=torch.float32)
            att[b, :, 1:len(seq) + 1, 1:len(seq) + 1] = m
        att = att.reshape(n, self.config.layers, self.config.heads, width + 1, width + 1)
        return PromoterOutput(torch.zeros(n, 2), att if return_attention else None)


def train_tiny(pos: list[Record], neg: list[Record], *, epochs: int = 30, seed: int = 0,
               dim: int = 32, heads: int = 2, layers: int = 2, lr: float = 3e-3):  # type: ignore[no-untyped-def]
    """A small promoter Transformer trained for a few seconds on positives vs negatives."""
    import torch
    from conftest import fit_toy

    from mhsa_bio.models.promoter import PromoterConfig, PromoterTransformer

    torch.manual_seed(seed)
    length = max(len(r.seq) for r in pos + neg)
    model = PromoterTransformer(PromoterConfig(dim=dim, heads=heads, layers=layers, stem_kernel=7,
                                               max_len=length, dropout=0.0))
    return model, fit_toy(model, pos, neg, epochs=epochs, lr=lr, seed=seed)
