"""Simulated promoter sets: JASPAR motifs planted in random background, with the planted truth."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from mhsa_bio.errors import InputError
from mhsa_bio.io.fasta import Record
from mhsa_bio.plant import Site, background, other_gaps, plant_motifs, plant_pairs, plant_unpaired

log = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_MOTIFS",
    "PWM",
    "Site",
    "SimulatedSet",
    "load_jaspar_motifs",
    "simulate",
    "simulate_named",
    "sites_table",
    "write_simulated",
]

#: GATA1 and TAL1::TCF3, the pair of the classic DeepLIFT / TF-MoDISco simulation.
DEFAULT_MOTIFS = ("MA0035", "MA0091")  # the latest versions of the release
_ORIENTATIONS = ("++", "+-", "-+", "--")


class PWM(NamedTuple):
    """A motif as base probabilities: ``probs`` has shape (W, 4), columns A C G T, rows sum to 1."""

    id: str
    name: str
    probs: np.ndarray


class SimulatedSet(NamedTuple):
    """Positives (motifs planted), negatives (background) and the planted sites of both."""

    positives: list[Record]
    negatives: list[Record]
    truth: list[Site]


def load_jaspar_motifs(ids: Sequence[str], *, release: str = "JASPAR2024") -> list[PWM]:
    """Motifs from the JASPAR database that pyjaspar ships (offline), as probabilities (each
    column of counts over its sum; :func:`mhsa_bio.io.jaspar.fetch_by_id`).

    Parameters
    ----------
    ids : matrix ids such as ``MA0035.4``; an id without a version gives the latest version
    release : ``JASPAR2024`` or just ``2024``; see ``pyjaspar.jaspardb().get_releases()``

    Raises
    ------
    InputError
        For an unknown release or an unknown motif id.
    """
    from mhsa_bio.io.jaspar import fetch_by_id

    return [
        PWM(m.id, m.name, m.counts / m.counts.sum(axis=1, keepdims=True))
        for m in fetch_by_id(ids, release=release)
    ]


def _parse_positions(positions: str, motifs: Sequence[PWM], length: int) -> list[int | None]:
    """Fixed start per motif (None for random) from ``random``, ``center``, an int, or a list."""
    parts = [p.strip() for p in str(positions).split(",")]
    if len(parts) == 1:
        parts = parts * len(motifs)
    if len(parts) != len(motifs):
        raise InputError(
            f"--positions: {len(parts)} values for {len(motifs)} motifs; give one value for all "
            "or one per motif"
        )
    out: list[int | None] = []
    for part, pwm in zip(parts, motifs, strict=True):
        width = len(pwm.probs)
        if part == "random":
            out.append(None)
        elif part in ("center", "centre"):
            out.append((length - width) // 2)
        else:
            try:
                start = int(part)
            except ValueError:
                raise InputError(f"--positions: '{part}' is not random, center or a 0-based start") from None
            if not 0 <= start <= length - width:
                raise InputError(
                    f"--positions: start {start} of {pwm.id} ({width} bp) does not fit in "
                    f"{length} bp (0 to {length - width})"
                )
            out.append(start)
    fixed = sorted(
        (start, start + len(pwm.probs), pwm.id)
        for start, pwm in zip(out, motifs, strict=True)
        if start is not None
    )
    for (_, end_a, id_a), (start_b, _, id_b) in zip(fixed, fixed[1:], strict=False):
        if start_b < end_a:
            raise InputError(f"--positions: the fixed sites of {id_a} and {id_b} overlap")
    return out


def _ids(prefix: str, n: int) -> list[str]:
    width = max(4, len(str(n - 1)))
    return [f"{prefix}_{i:0{width}d}" for i in range(n)]


def _records(ids: list[str], rows: np.ndarray) -> list[Record]:
    return [Record(i, row.tobytes().decode("ascii"), i) for i, row in zip(ids, rows, strict=True)]


def simulate(
    motifs: Sequence[PWM],
    *,
    n: int = 2000,
    length: int = 300,
    positions: str = "random",
    pair: tuple[PWM, PWM] | None = None,
    spacing: int = 9,
    orientation: str = "++",
    pair_negatives: str = "random",
    gc: float = 0.42,
    p_site: float = 0.8,
    n_negatives: int | None = None,
    seed: int = 0,
) -> SimulatedSet:
    """Simulate positives with planted motif sites and background negatives.

    Background: every base i.i.d., G and C each with probability ``gc / 2``, A and T
    ``(1 - gc) / 2``, the same for positives and negatives.

    Motif mode (``pair`` is None): in each positive each motif is present with probability
    ``p_site``, independently; a positive that drew none is redrawn, so every positive carries at
    least one site. A site is sampled base by base from the PWM, on a random strand, at the
    motif's position (``positions``: ``random``, ``center``, or a 0-based start; one value for all
    motifs or a comma-separated value per motif). Random sites never overlap another site.
    Negatives are background only.

    Pair mode (``pair=(A, B)``; ``motifs`` is ignored): every positive holds A and B with B
    starting ``spacing`` bases after A ends (``start_B - end_A == spacing``), A on strand
    ``orientation[0]`` and B on ``orientation[1]``, at a random position. Every negative holds
    the same two motifs on random strands at random non-overlapping positions, drawn again
    whenever they happen to form the positive arrangement or its reverse complement (B then A,
    same gap, both strands flipped); so only the spacing and orientation tell the classes apart.
    With ``pair_negatives="spacing"`` every negative instead holds A upstream of B on the
    positives' strands, at a gap drawn uniformly from every gap that fits except ``spacing``: only
    the spacing tells the classes apart, with no orientation or order shortcut for a model.
    ``positions`` must be ``random``.

    Parameters
    ----------
    motifs : the motifs to plant in motif mode
    n : number of positives
    length : sequence length L
    positions, pair, spacing, orientation, pair_negatives, p_site : see above
    gc : G+C fraction of the background, in (0, 1)
    n_negatives : number of negatives (default ``n``)
    seed : everything is drawn from ``numpy.random.default_rng(seed)``

    Returns
    -------
    SimulatedSet
        positives ``pos_0000 ...`` and negatives ``neg_0000 ...`` (all of length L) and the
        planted sites, positives first, then in sequence and position order.

    Raises
    ------
    InputError
        For a bad option: n < 1, length too short, gc or p_site out of range, bad positions,
        spacing < 0, an orientation other than ++ +- -+ --.
    """
    if n < 1:
        raise InputError(f"--n: need at least 1 sequence, not {n}")
    n_neg = n if n_negatives is None else n_negatives
    if n_neg < 0:
        raise InputError(f"--n-negatives: cannot be negative ({n_neg})")
    if not 0.0 < gc < 1.0:
        raise InputError(f"--gc: {gc} is not between 0 and 1")
    rng = np.random.default_rng(int(seed) % 2**64)
    pos_ids, neg_ids = _ids("pos", n), _ids("neg", n_neg)
    if pair is None:
        if not motifs:
            raise InputError("--motifs: no motifs to plant")
        if not 0.0 < p_site <= 1.0:
            raise InputError(f"--p-site: {p_site} is not in (0, 1]")
        if sum(len(m.probs) for m in motifs) > length:
            raise InputError(f"--length: {length} bp is shorter than the motifs put together")
        fixed = _parse_positions(positions, motifs, length)
        pos_rows = background(rng, n, length, gc)
        truth = plant_motifs(rng, pos_rows, pos_ids, motifs, fixed, p_site)
        neg_rows = background(rng, n_neg, length, gc)
        neg_truth: list[Site] = []
    else:
        if positions != "random":
            raise InputError("--positions: pair sites are always placed at random; drop it")
        if orientation not in _ORIENTATIONS:
            raise InputError(f"--orientation: '{orientation}' is not one of ++ +- -+ --")
        if spacing < 0:
            raise InputError(f"--spacing: cannot be negative ({spacing})")
        if pair_negatives not in ("random", "spacing"):
            raise InputError(f"--pair-negatives: '{pair_negatives}' is not random or spacing")
        width_a, width_b = len(pair[0].probs), len(pair[1].probs)
        if width_a + spacing + width_b > length:
            raise InputError(
                f"--length: {length} bp is shorter than the pair ({width_a} + {spacing} + {width_b} bp)"
            )
        pos_rows = background(rng, n, length, gc)
        truth = plant_pairs(rng, pos_rows, pos_ids, pair, [spacing], orientation)
        neg_rows = background(rng, n_neg, length, gc)
        if pair_negatives == "spacing":
            gaps = other_gaps(pair, length, spacing)
            neg_truth = plant_pairs(rng, neg_rows, neg_ids, pair, gaps, orientation)
        else:
            neg_truth = plant_unpaired(rng, neg_rows, neg_ids, pair, spacing, orientation)
    log.info("simulated %d positives, %d negatives, %d sites", n, n_neg, len(truth) + len(neg_truth))
    return SimulatedSet(_records(pos_ids, pos_rows), _records(neg_ids, neg_rows), truth + neg_truth)


def sites_table(sites: Sequence[Site]) -> str:
    """The planted sites as TSV text with a header (``truth.tsv``): one line per site."""
    lines = ["\t".join(Site._fields)]
    lines += ["\t".join(str(v) for v in site) for site in sites]
    return "\n".join(lines) + "\n"


def simulate_named(
    *, motifs: str | None, pair: str | None, jaspar_release: str = "2024", **options: Any
) -> tuple[SimulatedSet, dict[str, Any]]:
    """``simulate`` with the motifs named as ``mhsa-bio simulate`` names them.

    ``motifs`` is a comma-separated list of JASPAR ids (default ``DEFAULT_MOTIFS``), ``pair``
    two ids MOTIF_A,MOTIF_B (replaces ``motifs``); ``options`` are ``simulate``'s keywords.
    Returns the set and the parameters that ``run.json`` records.
    """
    pair_motifs = None
    if pair is not None:
        if motifs is not None:
            raise InputError("--pair replaces --motifs; give one of them")
        pair_ids = [p.strip() for p in pair.split(",") if p.strip()]
        if len(pair_ids) != 2:
            raise InputError(f"--pair: '{pair}' is not two motif ids MOTIF_A,MOTIF_B")
        a, b = load_jaspar_motifs(pair_ids, release=jaspar_release)
        pair_motifs = (a, b)
        pwms = []
    else:
        ids = DEFAULT_MOTIFS if motifs is None else [m for m in motifs.split(",") if m.strip()]
        pwms = load_jaspar_motifs(ids, release=jaspar_release)
    bound = inspect.signature(simulate).bind(pwms, pair=pair_motifs, **options)
    bound.apply_defaults()
    result = simulate(*bound.args, **bound.kwargs)
    given, planted = bound.arguments, pair_motifs or pwms
    params = {
        "n": given["n"],
        "length": given["length"],
        "n_negatives": len(result.negatives),
        "motifs": [p.id for p in planted],
        "motif_names": [p.name for p in planted],
        "positions": given["positions"],
        "pair": pair is not None,
        "spacing": given["spacing"],
        "orientation": given["orientation"],
        "pair_negatives": given["pair_negatives"],
        "gc": given["gc"],
        "p_site": given["p_site"],
        "jaspar_release": jaspar_release,
        "seed": given["seed"],
    }
    return result, params


def write_simulated(out_dir: Path, result: SimulatedSet, params: dict[str, Any]) -> None:
    """``promoters.fa``, ``background.fa``, ``truth.tsv`` and ``run.json`` into ``out_dir``."""
    from mhsa_bio.io.fasta import write_fasta
    from mhsa_bio.io.outputs import atomic_open, write_run_json

    with atomic_open(out_dir / "promoters.fa") as handle:
        write_fasta(handle, result.positives)
    with atomic_open(out_dir / "background.fa") as handle:
        write_fasta(handle, result.negatives)
    with atomic_open(out_dir / "truth.tsv") as handle:
        handle.write(sites_table(result.truth))
    write_run_json(out_dir, "simulate", params)
