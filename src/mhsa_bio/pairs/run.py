"""One ``mhsa-bio pairs`` run on disk: resolve inputs from the checkpoint, validate, run, write."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from mhsa_bio.errors import InputError
from mhsa_bio.io.fasta import Record
from mhsa_bio.pairs.find import PairResult

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PairInputs:
    """What the user named; ``None`` means: take it from the checkpoint."""

    model: Path
    motifs: Path
    sequences: Path | None = None
    background: Path | None = None


@dataclass(frozen=True)
class PairParams:
    """The settings of a run (``find_pairs``'s, the subset and the plots)."""

    pvalue: float = 1e-4
    null_copies: int = 8
    min_sequences: int = 10
    null_neighbours: int = 100
    null_exclude: float = 2.0
    strand_symmetric: bool = False
    null_background: str = "kept"
    split_composites: bool = True
    split_gap: int = 2
    max_sequences: int = 0
    top_plots: int = 5
    batch_size: int = 64
    seed: int = 0


class Prepared(NamedTuple):
    """Validated inputs, ready to run."""

    model: Any
    motifs: list[Any]
    records: list[Record]
    background: list[Record]
    sequences: Path
    background_source: str


class PairsRun(NamedTuple):
    """What a run wrote: the result, its spacing plots, and the pairs section for the motifs
    report (``report`` is that report's path; both ``None`` when ``--motifs`` is a MEME file)."""

    result: PairResult
    plots: list[Path]
    report: Path | None
    section: str | None


def prepare(inputs: PairInputs, params: PairParams, *, device: Any) -> Prepared:
    """Read and validate every input before anything is written."""
    import numpy as np

    from mhsa_bio.attention import check_attention_size
    from mhsa_bio.checkpoint import ensemble_size, load_model
    from mhsa_bio.io.fasta import read_fasta
    from mhsa_bio.io.meme import read_meme
    from mhsa_bio.shuffle import shuffle_records
    from mhsa_bio.training.run import default_sequences, recorded_input

    if not 0.0 < params.pvalue < 1.0:
        raise InputError(f"--pvalue {params.pvalue}: must be between 0 and 1")
    motif_list = read_meme(inputs.motifs)
    net, ckpt = load_model(inputs.model, device=device)
    if ensemble_size(ckpt) > 1:
        log.warning(
            "%s: an ensemble of %d models; pairs are read from the first", inputs.model, ensemble_size(ckpt)
        )
    sequences = inputs.sequences
    if sequences is None:
        found = default_sequences(ckpt)
        if found is None:
            raise InputError(
                f"{inputs.model}: the training FASTA recorded in the checkpoint is "
                "gone; give --sequences FASTA"
            )
        sequences = Path(found)
    records = read_fasta(sequences, min_length=net.config.stem_kernel)
    check_attention_size(net, records, source=sequences, batch_size=params.batch_size)
    if params.max_sequences and len(records) > params.max_sequences:
        rng = np.random.default_rng(params.seed)
        keep = np.sort(rng.choice(len(records), params.max_sequences, replace=False))
        records = [records[k] for k in keep]
    background = inputs.background
    if background is None:
        found = recorded_input(ckpt, "negatives")  # refuses a file changed since training
        if found is not None:
            background = Path(found)
    if background is not None:
        return Prepared(net, motif_list, records, read_fasta(background), sequences, str(background))
    return Prepared(
        net, motif_list, records, shuffle_records(records, seed=params.seed), sequences, "shuffled sequences"
    )


def run_pairs(
    prep: Prepared,
    out_dir: Path,
    *,
    inputs: PairInputs,
    params: PairParams,
    device: Any,
    out: Path,
    cli_params: dict[str, Any],
) -> PairsRun:
    """Find the pairs and write pairs.tsv, sites.tsv, the spacing plots, summary.json,
    parts.meme (the parts of split composite motifs, when any) and run.json into ``out_dir``;
    ``out`` is where they will be once the run succeeds (the motifs report links there)."""
    from mhsa_bio.io.outputs import write_json, write_run_json
    from mhsa_bio.pairs import find_pairs
    from mhsa_bio.pairs.io import write_pairs_tsv, write_sites_tsv
    from mhsa_bio.pairs.plots import spacing_plots

    result = find_pairs(
        prep.model,
        prep.records,
        prep.motifs,
        background=prep.background,
        device=device,
        pvalue=params.pvalue,
        n_null=params.null_copies,
        min_sequences=params.min_sequences,
        null_exclude=params.null_exclude,
        null_neighbours=params.null_neighbours,
        strand_symmetric=params.strand_symmetric,
        null_shuffle=params.null_background == "shuffled",
        split_min_gap=params.split_gap if params.split_composites else 0,
        batch_size=params.batch_size,
        seed=params.seed,
    )
    write_pairs_tsv(result, out_dir / "pairs.tsv")
    write_sites_tsv(result, prep.records, result.motifs, out_dir / "sites.tsv")
    plots = spacing_plots(result, out_dir, top=params.top_plots)
    write_json(out_dir / "summary.json", result.summary)
    if result.splits:
        from mhsa_bio.io.meme import write_meme

        part_ids = {p for s in result.splits for p in s.parts}
        write_meme(out_dir / "parts.meme", [m.motif for m in result.motifs if m.motif.id in part_ids])
    report = section = None
    motifs = inputs.motifs
    if motifs.is_dir() and (motifs / "report.html").is_file():
        from mhsa_bio.pairs.report import pairs_section

        section = pairs_section(result.table, result.summary, plots, pairs_dir=os.path.relpath(out, motifs))
        report = motifs / "report.html"
    write_run_json(
        out_dir,
        "pairs",
        cli_params,
        sequences=str(prep.sequences),
        background=prep.background_source,
        device=str(device),
        summary=result.summary,
        plots=[p.name for p in plots],
        motifs_report=str(report) if report else None,
    )
    return PairsRun(result, plots, report, section)
