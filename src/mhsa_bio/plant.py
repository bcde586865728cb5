"""Planting motif sites in random DNA: background rows, sites sampled from a motif's
probabilities and written on a strand at a free or a given start, alone or as a pair, and the
planted truth."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from mhsa_bio.alphabet import reverse_complement
from mhsa_bio.errors import InputError

if TYPE_CHECKING:
    from mhsa_bio.simulate import PWM

_BASES = np.frombuffer(b"ACGT", dtype=np.uint8)
_MAX_TRIES = 1000


class Site(NamedTuple):
    """One planted site: 0-based ``[start, end)`` in ``sequence``; ``site`` is ``seq[start:end]``.

    ``strand`` ``-`` means the motif reads on the reverse complement, so ``site`` is the reverse
    complement of the sampled motif instance.
    """

    sequence: str
    motif_id: str
    motif_name: str
    start: int
    end: int
    strand: str
    site: str


def _sample_site(pwm: PWM, rng: np.random.Generator) -> str:
    """One instance of the motif (as the motif reads), each base drawn from its column."""
    cum = np.cumsum(pwm.probs, axis=1)
    u = rng.random(len(pwm.probs))
    idx = np.minimum((u[:, None] >= cum).sum(axis=1), 3)
    return _BASES[idx].tobytes().decode("ascii")


def background(rng: np.random.Generator, n: int, length: int, gc: float) -> np.ndarray:
    """(n, length) uint8 letters, i.i.d. with G+C fraction ``gc``."""
    p = np.array([(1 - gc) / 2, gc / 2, gc / 2, (1 - gc) / 2])
    return _BASES[rng.choice(4, size=(n, length), p=p)]


def _free_start(rng: np.random.Generator, width: int, length: int, taken: list[tuple[int, int]]) -> int:
    """A uniform random start for a site of ``width`` that overlaps none of ``taken``."""
    for _ in range(_MAX_TRIES):
        start = int(rng.integers(0, length - width + 1))
        if all(start + width <= a or b <= start for a, b in taken):
            return start
    raise InputError(f"--length: {length} bp leaves no room to place all the motif sites")


def _plant(row: np.ndarray, seq_id: str, pwm: PWM, start: int, strand: str, rng: np.random.Generator) -> Site:
    instance = _sample_site(pwm, rng)
    site = instance if strand == "+" else reverse_complement(instance)
    row[start : start + len(site)] = np.frombuffer(site.encode("ascii"), dtype=np.uint8)
    return Site(seq_id, pwm.id, pwm.name, start, start + len(site), strand, site)


def plant_motifs(
    rng: np.random.Generator,
    rows: np.ndarray,
    ids: list[str],
    motifs: Sequence[PWM],
    fixed: list[int | None],
    p_site: float,
) -> list[Site]:
    """Each motif in each row with probability ``p_site`` (a row that drew none draws again), at
    its fixed start or at a free random one, on a random strand; sites in row, then start order."""
    length = rows.shape[1]
    truth: list[Site] = []
    for row, seq_id in zip(rows, ids, strict=True):
        present = rng.random(len(motifs)) < p_site
        while not present.any():
            present = rng.random(len(motifs)) < p_site
        # Fixed sites first, so random ones can avoid them.
        taken = [
            (s, s + len(m.probs))
            for s, m, p in zip(fixed, motifs, present, strict=True)
            if p and s is not None
        ]
        sites = []
        for k, pwm in enumerate(motifs):
            if not present[k]:
                continue
            start = fixed[k]
            if start is None:
                start = _free_start(rng, len(pwm.probs), length, taken)
                taken.append((start, start + len(pwm.probs)))
            strand = "+" if rng.random() < 0.5 else "-"
            sites.append(_plant(row, seq_id, pwm, start, strand, rng))
        truth.extend(sorted(sites, key=lambda s: (s.start, s.motif_id)))
    return truth


def plant_pairs(
    rng: np.random.Generator,
    rows: np.ndarray,
    ids: list[str],
    pair: tuple[PWM, PWM],
    gaps: Sequence[int],
    orientation: str,
) -> list[Site]:
    """A upstream of B on strands ``orientation``, at a gap drawn from ``gaps`` per sequence
    (no draw when there is one gap, so positives are the same as before negatives had gaps)."""
    a, b = pair
    width_a, width_b = len(a.probs), len(b.probs)
    length = rows.shape[1]
    truth: list[Site] = []
    for row, seq_id in zip(rows, ids, strict=True):
        gap = int(gaps[0] if len(gaps) == 1 else gaps[int(rng.integers(len(gaps)))])
        start_a = int(rng.integers(0, length - (width_a + gap + width_b) + 1))
        start_b = start_a + width_a + gap
        truth.append(_plant(row, seq_id, a, start_a, orientation[0], rng))
        truth.append(_plant(row, seq_id, b, start_b, orientation[1], rng))
    return truth


def other_gaps(pair: tuple[PWM, PWM], length: int, spacing: int) -> list[int]:
    """Every gap between A and B that fits in ``length`` except ``spacing``."""
    room = length - len(pair[0].probs) - len(pair[1].probs)
    gaps = [g for g in range(room + 1) if g != spacing]
    if not gaps:
        raise InputError(f"--length: {length} bp leaves no other gap for the negatives")
    return gaps


def _is_positive_arrangement(
    start_a: int,
    strand_a: str,
    start_b: int,
    strand_b: str,
    width_a: int,
    width_b: int,
    spacing: int,
    orientation: str,
) -> bool:
    flip = {"+": "-", "-": "+"}
    if start_b - (start_a + width_a) == spacing and strand_a + strand_b == orientation:
        return True
    # The reverse complement of the positive arrangement: B first, both strands flipped.
    return (
        start_a - (start_b + width_b) == spacing
        and strand_b == flip[orientation[1]]
        and strand_a == flip[orientation[0]]
    )


def plant_unpaired(
    rng: np.random.Generator,
    rows: np.ndarray,
    ids: list[str],
    pair: tuple[PWM, PWM],
    spacing: int,
    orientation: str,
) -> list[Site]:
    """A and B in each row at random non-overlapping starts on random strands, drawn again while
    they form the positive arrangement (``spacing``, ``orientation``) or its reverse complement."""
    a, b = pair
    width_a, width_b = len(a.probs), len(b.probs)
    length = rows.shape[1]
    truth: list[Site] = []
    for row, seq_id in zip(rows, ids, strict=True):
        for _ in range(_MAX_TRIES):
            start_a = int(rng.integers(0, length - width_a + 1))
            start_b = _free_start(rng, width_b, length, [(start_a, start_a + width_a)])
            strand_a = "+" if rng.random() < 0.5 else "-"
            strand_b = "+" if rng.random() < 0.5 else "-"
            if not _is_positive_arrangement(
                start_a, strand_a, start_b, strand_b, width_a, width_b, spacing, orientation
            ):
                break
        else:
            raise InputError(
                f"--length: {length} bp leaves no other arrangement of the pair for the negatives"
            )
        sites = [
            _plant(row, seq_id, a, start_a, strand_a, rng),
            _plant(row, seq_id, b, start_b, strand_b, rng),
        ]
        truth.extend(sorted(sites, key=lambda s: (s.start, s.motif_id)))
    return truth
