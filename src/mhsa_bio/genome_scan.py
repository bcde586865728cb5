"""Genome scanning: slide a promoter model along whole chromosomes, both strands, in bounded memory.

A chromosome of C bp is cut into windows as ``mhsa_bio.genome_windows`` describes (their layout,
read a chunk at a time, scored on each strand); this module scans the chromosomes of a genome
FASTA with them and writes the results.

Outputs
-------
``scores.bedGraph``
    One line per scored window: the probability of the chosen class, the maximum over the
    scanned strands, given to the bases whose nearest window centre is this window's (bins
    bounded by the midpoints between consecutive window centres; the first bin starts at 0, the
    last ends at C). With the default step the bins are the ``step``-bp bins around the
    window centres; they tile the chromosome without overlap.
``promoters.bed``
    BED6+2, per strand: windows whose probability on that strand is at least ``threshold``,
    merged when they overlap or touch; name ``chrom:start-end(strand)``, score
    ``round(1000 × max probability)``, strand, then the maximum probability and the number of
    windows merged. Sorted by chromosome (genome order), start, end, strand.
"""

from __future__ import annotations

import contextlib
import logging
import os
import struct
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, NamedTuple

import numpy as np

from mhsa_bio.errors import InputError
from mhsa_bio.genome_windows import ChunkScores, scan_chromosome

if TYPE_CHECKING:
    import torch

    from mhsa_bio.models.promoter import Scorer

log = logging.getLogger(__name__)

STRANDS = ("+", "-")


@dataclass(frozen=True)
class ScanConfig:
    """How to slide the model.

    window : window length in bp
    step : bp between consecutive window starts (at most ``window``)
    threshold : probability at or above which a window is called on a strand
    strands : ``("+", "-")``, ``("+",)`` or ``("-",)``
    class_index : which class's probability is the score
    batch_size : windows per forward pass
    chunk_windows : windows read from the genome at a time (bounds memory)
    amp : mixed precision on CUDA
    """

    window: int
    step: int
    threshold: float = 0.9
    strands: tuple[str, ...] = STRANDS
    class_index: int = 1
    batch_size: int = 256
    chunk_windows: int = 8192
    amp: bool = True

    def __post_init__(self) -> None:
        if self.window < 1:
            raise InputError(f"--window {self.window}: must be positive")
        if not 1 <= self.step <= self.window:
            raise InputError(
                f"--step {self.step}: must be between 1 and the window "
                f"({self.window} bp), or bases would go unscanned"
            )
        if not 0.0 < self.threshold <= 1.0:
            raise InputError(f"--threshold {self.threshold}: must be in (0, 1]")
        if not self.strands or any(s not in STRANDS for s in self.strands):
            raise InputError(f"strands {self.strands}: expected + and/or -")
        if self.batch_size < 1 or self.chunk_windows < 1:
            raise InputError("batch size and chunk size must be positive")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Calls:
    """Running merge of called windows on one strand of one chromosome."""

    strand: str
    current: list[float] | None = None  # [start, end, max prob, windows]
    done: list[tuple[int, int, float, int]] = field(default_factory=list)

    def add(self, start: int, end: int, prob: float) -> None:
        cur = self.current
        if cur is not None and start <= cur[1]:
            cur[1] = max(cur[1], end)
            cur[2] = max(cur[2], prob)
            cur[3] += 1
            return
        self.flush()
        self.current = [start, end, prob, 1]

    def flush(self) -> None:
        if self.current is not None:
            s, e, p, n = self.current
            self.done.append((int(s), int(e), float(p), int(n)))
            self.current = None


class ScanSummary(NamedTuple):
    """What a scan did: per chromosome, windows scored, all-N windows skipped, promoters called."""

    chromosomes: list[dict[str, Any]]
    bases: int
    windows: int
    skipped: int
    promoters: int


def write_chunk_bedgraph(handle: IO[str], chrom: str, chunk: ChunkScores) -> None:
    """bedGraph lines of one chunk: the maximum over strands in each scored window's bin."""
    best = np.zeros(chunk.scored.size)
    best[chunk.scored] = chunk.probs[:, chunk.scored].max(axis=0)
    right = np.r_[chunk.edges[1:], chunk.end]
    lines = [
        f"{chrom}\t{lo}\t{hi}\t{p:.6g}\n"
        for lo, hi, p, ok in zip(chunk.edges.tolist(), right.tolist(), best.tolist(), chunk.scored.tolist())
        if ok and hi > lo
    ]
    handle.writelines(lines)


def _naming(genome: object, chunks: Iterator[ChunkScores]) -> Iterator[ChunkScores]:
    """The chunks, with the genome file named in any input error that lacks it."""
    try:
        yield from chunks
    except InputError as exc:
        if str(genome) in str(exc):
            raise
        raise InputError(f"{genome}: {exc}") from None


def scan_genome(
    model: Scorer,
    genome: str | os.PathLike[str],
    out_dir: Path,
    *,
    config: ScanConfig,
    device: torch.device,
    chroms: Sequence[str] | None = None,
    on_chunk: Callable[[str, int, int], None] | None = None,
) -> ScanSummary:
    """Scan chromosomes of a genome FASTA and write ``scores.bedGraph`` and ``promoters.bed``.

    Parameters
    ----------
    model : a promoter model in eval mode on ``device``
    genome : FASTA (plain or bgzip, one or many records), indexed with pyfaidx
    out_dir : existing folder; both files are written atomically (nothing on error)
    chroms : chromosome names to scan, in this order (default: all, in genome order)
    on_chunk : called with (chromosome, bases done, chromosome length) after each chunk

    Raises
    ------
    InputError
        Not a genome FASTA, an unknown chromosome, invalid letters (naming chromosome and
        position), a bad configuration.
    """
    from mhsa_bio.io.genome import open_genome
    from mhsa_bio.io.outputs import atomic_open
    from mhsa_bio.runtime.memory import cpu_heap

    fasta = open_genome(genome)
    try:
        names = list(fasta.keys())
        if chroms is not None:
            unknown = [c for c in chroms if c not in fasta]
            if unknown:
                known = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
                raise InputError(f"{genome}: chromosome '{unknown[0]}' is not in the genome (it has {known})")
            names = list(dict.fromkeys(chroms))
        stats: list[dict[str, Any]] = []
        with contextlib.ExitStack() as stack:
            graph = stack.enter_context(atomic_open(out_dir / "scores.bedGraph"))
            bed = stack.enter_context(atomic_open(out_dir / "promoters.bed"))
            stack.enter_context(cpu_heap(device))  # each batch reuses what the last one freed
            graph.write(
                f'track type=bedGraph name="mhsa-bio scan" description="P(class '
                f"{config.class_index}), max over strands {','.join(config.strands)}, "
                f'window {config.window} step {config.step}"\n'
            )
            for name in names:
                record = fasta[name]
                length = len(record)
                row = {"chrom": name, "length": length, "windows": 0, "skipped_n": 0, "promoters": 0}
                if length < model.config.stem_kernel:
                    log.warning(
                        "%s: chromosome '%s' of %d bp is shorter than the model's %d bp stem; skipped",
                        genome,
                        name,
                        length,
                        model.config.stem_kernel,
                    )
                    stats.append(row)
                    continue
                calls = [_Calls(s) for s in config.strands]

                def fetch(a: int, b: int, _r: Any = record, _name: str = name) -> str:
                    try:
                        return str(_r[a:b])
                    except (OSError, EOFError, ValueError, struct.error, zlib.error) as exc:
                        raise InputError(
                            f"{genome}: cannot read chromosome '{_name}' at "
                            f"{a}-{b} (truncated or corrupt file: "
                            f"{' '.join(str(exc).split())})"
                        ) from None

                for chunk in _naming(
                    genome,
                    scan_chromosome(model, fetch, name=name, length=length, config=config, device=device),
                ):
                    write_chunk_bedgraph(graph, name, chunk)
                    width = min(config.window, length)
                    for s, strand_calls in enumerate(calls):
                        hit = np.flatnonzero(chunk.scored & (chunk.probs[s] >= config.threshold))
                        for i in hit.tolist():
                            start = int(chunk.starts[i])
                            strand_calls.add(start, start + width, float(chunk.probs[s, i]))
                    row["windows"] += int(chunk.scored.sum())
                    row["skipped_n"] += int((~chunk.scored).sum())
                    if on_chunk is not None:
                        on_chunk(name, min(int(chunk.starts[-1]) + width, length), length)
                regions = []
                for strand_calls in calls:
                    strand_calls.flush()
                    regions += [(s, e, strand_calls.strand, p, n) for s, e, p, n in strand_calls.done]
                regions.sort(key=lambda r: (r[0], r[1], r[2]))
                bed.writelines(
                    f"{name}\t{s}\t{e}\t{name}:{s}-{e}({strand})\t{min(1000, round(1000 * p))}"
                    f"\t{strand}\t{p:.4f}\t{n}\n"
                    for s, e, strand, p, n in regions
                )
                row["promoters"] = len(regions)
                stats.append(row)
                log.info(
                    "%s: %d windows, %d all-N skipped, %d promoters",
                    name,
                    row["windows"],
                    row["skipped_n"],
                    row["promoters"],
                )
    finally:
        fasta.close()
    return ScanSummary(
        stats,
        sum(r["length"] for r in stats),
        sum(r["windows"] for r in stats),
        sum(r["skipped_n"] for r in stats),
        sum(r["promoters"] for r in stats),
    )


class ScanPlan(NamedTuple):
    """A validated ``mhsa-bio scan`` run: the model, its settings, the class and chromosomes."""

    model: Scorer
    config: ScanConfig
    class_name: str
    chroms: list[str] | None


def plan_scan(
    model_path: Path,
    genome: Path,
    *,
    device: torch.device,
    window: int | None,
    step: int | None,
    threshold: float,
    strand: str,
    class_name: str | None,
    chrom: str | None,
    batch_size: int,
    amp: bool,
) -> ScanPlan:
    """Load the model and check every option and the genome before anything is written.

    ``strand`` is both, + or -; ``window`` defaults to the model's ``max_len`` and ``step`` to a
    quarter of the window; ``class_name`` to 'positive', else the last class; ``chrom`` is a
    comma-separated list (default: all).
    """
    from mhsa_bio.checkpoint import load_predictor
    from mhsa_bio.io.genome import check_genome

    strands = {"both": ("+", "-"), "+": ("+",), "-": ("-",)}[strand]
    net, ckpt = load_predictor(model_path, device=device)
    classes = list(ckpt["classes"])
    wanted = class_name or ("positive" if "positive" in classes else classes[-1])
    if wanted not in classes:
        raise InputError(f"--class {wanted}: the model's classes are {', '.join(classes)}")
    width = window or net.config.max_len
    if width < net.config.stem_kernel:
        raise InputError(
            f"--window {width}: shorter than the model's {net.config.stem_kernel} bp convolution stem"
        )
    from mhsa_bio.predict import member_width

    fitted = member_width(net)
    if fitted and fitted != width:
        log.warning(
            "--window %d: the k-mer member's position-specific block was fitted on %d bp windows; "
            "it reads each window from its 5' end",
            width,
            fitted,
        )
    config = ScanConfig(
        window=width,
        step=step or max(1, width // 4),
        threshold=threshold,
        strands=strands,
        class_index=classes.index(wanted),
        batch_size=batch_size,
        amp=amp,
    )
    chroms = [c for c in chrom.split(",") if c] if chrom else None
    check_genome(genome)
    return ScanPlan(net, config, wanted, chroms)


def run_scan(
    plan: ScanPlan,
    genome: Path,
    out_dir: Path,
    *,
    model_path: Path,
    device: torch.device,
    params: dict[str, Any],
    on_chunk: Callable[[str, int, int], None] | None = None,
) -> ScanSummary:
    """Scan (``scan_genome``) and write ``run.json`` beside the bedGraph and the BED file."""
    from mhsa_bio.checkpoint import sha256
    from mhsa_bio.io.outputs import write_run_json

    summary = scan_genome(
        plan.model, genome, out_dir, config=plan.config, device=device, chroms=plan.chroms, on_chunk=on_chunk
    )
    write_run_json(
        out_dir,
        "scan",
        params,
        scan_config=plan.config.to_dict(),
        class_name=plan.class_name,
        model_sha256=sha256(model_path),
        device=str(device),
        chromosomes=summary.chromosomes,
    )
    return summary
