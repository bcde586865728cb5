"""Windows of the genome scan along one chromosome: their layout, read a chunk at a time and
scored on each strand.

A chromosome of length C is cut into windows of ``window`` bp every ``step`` bp, starting at 0;
when the last regular window stops short of the end, one more window ends exactly at C, so every
base is inside some window. A chromosome shorter than the window is scored as one window of its
own length (the model interpolates its positions for any length). Windows made only of N are
skipped.

Windows are read chunk by chunk through pyfaidx (``chunk_windows`` windows at a time), encoded
and scored in batches of ``batch_size``; nothing longer than one chunk of sequence is ever held,
so memory does not grow with the chromosome; chunk and batch size change only the last float
bits of the probabilities (tested).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from mhsa_bio.alphabet import COMPLEMENT_TOKENS, N_TOKEN, encode_dna
from mhsa_bio.errors import InputError

if TYPE_CHECKING:
    import torch

    from mhsa_bio.genome_scan import ScanConfig
    from mhsa_bio.models.promoter import Scorer


class Windows(NamedTuple):
    """The window layout of one chromosome, computed arithmetically (no per-window arrays).

    n : number of windows
    n_regular : windows at ``k × step``; when ``n > n_regular`` the last one ends at the
        chromosome's end
    width : bp per window (the chromosome's length when it is shorter than the window)
    """

    length: int
    width: int
    step: int
    n: int
    n_regular: int

    def starts(self, k: np.ndarray) -> np.ndarray:
        """Start of windows ``k`` (int64)."""
        k = np.asarray(k, dtype=np.int64)
        return np.where(k < self.n_regular, k * self.step, self.length - self.width)

    def edges(self, k: np.ndarray) -> np.ndarray:
        """Left edge of the bin of windows ``k``; ``edges(n)`` is the chromosome's length."""
        k = np.asarray(k, dtype=np.int64)
        centre_here = self.starts(np.minimum(k, self.n - 1)) + self.width // 2
        centre_before = self.starts(np.maximum(k - 1, 0)) + self.width // 2
        mid = (centre_before + centre_here + 1) // 2
        return np.where(k <= 0, 0, np.where(k >= self.n, self.length, mid))


def layout(length: int, *, window: int, step: int) -> Windows:
    """Window layout of a chromosome of ``length`` bp (see the module docstring)."""
    if length <= window:
        return Windows(length, length, step, 1 if length > 0 else 0, 1 if length > 0 else 0)
    n_regular = (length - window) // step + 1
    tail = (n_regular - 1) * step + window < length
    return Windows(length, window, step, n_regular + int(tail), n_regular)


class ChunkScores(NamedTuple):
    """Scores of a run of consecutive windows of one chromosome.

    starts, edges : (K,) window starts and their bins' left edges; ``end`` is the right edge of
        the last bin
    scored : (K,) bool, False for windows made only of N (their probabilities are NaN)
    probs : (S, K) probability of the chosen class per scanned strand (``ScanConfig.strands``)
    """

    starts: np.ndarray
    edges: np.ndarray
    end: int
    scored: np.ndarray
    probs: np.ndarray


def encode_genome_text(text: str, *, where: str, offset: int) -> np.ndarray:
    """Tokens (L,) uint8 of a slice of a chromosome; a letter outside DNA/IUPAC is an error
    naming the chromosome and 1-based position."""
    try:
        codes = encode_dna(text)
    except UnicodeEncodeError as exc:
        raise InputError(f"{where}: non-ASCII character at position {offset + exc.start + 1}") from None
    bad = np.flatnonzero(codes == 255)
    if bad.size:
        i = int(bad[0])
        raise InputError(f"{where}: invalid DNA letter '{text[i]}' at position {offset + i + 1}")
    return codes


def score_tokens(
    model: Scorer, tokens: np.ndarray, *, config: ScanConfig, device: torch.device
) -> np.ndarray:
    """Probability of ``config.class_index`` for each row of ``tokens`` (K, W) uint8 → (K,)."""
    from mhsa_bio.inference import batched_forward, window_batches

    out = np.empty(tokens.shape[0], dtype=np.float64)
    batches = window_batches(tokens, batch_size=config.batch_size)
    for batch in batched_forward(model, batches, device=device, amp=config.amp):
        assert batch.scores is not None  # scores="probs"
        out[batch.rows] = batch.scores[:, config.class_index]
    return out


def scan_chromosome(
    model: Scorer,
    fetch: Callable[[int, int], str],
    *,
    name: str,
    length: int,
    config: ScanConfig,
    device: torch.device,
) -> Iterator[ChunkScores]:
    """Score every window of one chromosome, yielding one chunk of windows at a time.

    Parameters
    ----------
    fetch : ``fetch(start, end)`` returns the chromosome's bases ``[start, end)`` as text
    name, length : the chromosome
    """
    model.eval()
    lay = layout(length, window=config.window, step=config.step)
    for k0 in range(0, lay.n, config.chunk_windows):
        k = np.arange(k0, min(k0 + config.chunk_windows, lay.n), dtype=np.int64)
        starts = lay.starts(k)
        a, b = int(starts[0]), int(starts[-1]) + lay.width
        seq = encode_genome_text(fetch(a, b), where=f"chromosome '{name}'", offset=a)
        if seq.size != b - a:
            raise InputError(
                f"chromosome '{name}': read {seq.size} bp at {a}-{b}, expected "
                f"{b - a} (a truncated genome or a stale .fai index?)"
            )
        windows = np.lib.stride_tricks.sliding_window_view(seq, lay.width)[starts - a]  # (K, W)
        scored = ~(windows == N_TOKEN).all(axis=1)
        probs = np.full((len(config.strands), k.size), np.nan)
        kept = windows[scored]
        if kept.shape[0]:
            for s, strand in enumerate(config.strands):
                tokens = kept if strand == "+" else COMPLEMENT_TOKENS.astype(np.uint8)[kept[:, ::-1]]
                probs[s, scored] = score_tokens(model, tokens, config=config, device=device)
        yield ChunkScores(starts, lay.edges(k), int(lay.edges(np.array(k[-1] + 1))), scored, probs)
