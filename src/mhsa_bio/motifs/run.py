"""One ``mhsa-bio motifs`` run on disk: resolve inputs from the checkpoint, validate, run, write."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mhsa_bio.errors import InputError
from mhsa_bio.io.fasta import Record, read_fasta
from mhsa_bio.motifs.find import MotifParams

log = logging.getLogger(__name__)

#: A model whose validation AUROC is below this learned nothing worth reading.
MIN_MODEL_AUROC = 0.6


def model_auroc(ckpt: dict[str, Any]) -> float | None:
    """The checkpoint's validation AUROC, when training recorded one: the Transformer's own
    (``transformer``) where a k-mer member's is averaged in, since motifs read the Transformer."""
    metrics = ckpt.get("metrics") or {}
    value = (metrics.get("transformer") or metrics).get("auroc")
    return float(value) if isinstance(value, (int, float)) else None


def last_line(n_motifs: int, *, path: str, reason: str, auroc: float | None) -> str:
    """What a run found and from which score, or why it found nothing (the CLI's last line)."""
    if n_motifs:
        return f"{n_motifs} motifs from {path}"
    if auroc is not None and auroc < MIN_MODEL_AUROC:
        return f"0 motifs: model validation AUROC {auroc:.2f}: nothing learned ({reason})"
    return f"0 motifs: {reason} (score: {path})"


@dataclass(frozen=True)
class MotifInputs:
    """What the user named; ``None`` means: take it from the checkpoint."""

    model: Path
    sequences: Path | None = None
    background: Path | None = None
    known: Path | None = None
    jaspar_release: str = "2024"
    taxon: str = "vertebrates"
    match: bool = True
    control: str = "none"


class Prepared:
    """Validated inputs, ready to run."""

    def __init__(
        self,
        model: Any,
        ckpt: dict[str, Any],
        positives: list[Record],
        background: list[Record],
        known: list[Any] | None,
        sources: dict[str, str],
    ):
        self.model = model
        self.ckpt = ckpt
        self.positives = positives
        self.background = background
        self.known = known
        self.sources = sources


def _sequences(inputs: MotifInputs, ckpt: dict[str, Any], min_length: int) -> tuple[list[Record], str]:
    from mhsa_bio.training.run import default_sequences

    if inputs.sequences is not None:
        return read_fasta(inputs.sequences, min_length=min_length), str(inputs.sequences)
    path = default_sequences(ckpt)
    if path is not None:
        return read_fasta(path, min_length=min_length), path
    genome = ckpt.get("provenance", {}).get("inputs", {}).get("genome")
    if genome and os.path.exists(genome["path"]):
        from mhsa_bio.training.run import recorded_input

        bed = recorded_input(ckpt, "bed")  # refuses a BED file changed since training
        if bed is not None:
            from mhsa_bio.io.genome import read_bed_regions

            return (read_bed_regions(bed, genome["path"], min_length=min_length), f"{bed} + {genome['path']}")
    raise InputError(
        f"{inputs.model}: the checkpoint's training sequences are not on this machine; give SEQS.fa"
    )


#: ``--background shuffle``: dinucleotide shuffles of the sequences even when the checkpoint
#: had negatives (negatives that carry the same motifs, as in a spacing-only pair task, leave
#: nothing enriched; against shuffles the motifs both classes carry are reported).
SHUFFLED = "shuffle"


def _background(
    inputs: MotifInputs, ckpt: dict[str, Any], positives: list[Record], *, min_length: int, seed: int
) -> tuple[list[Record], str]:
    from mhsa_bio.shuffle import shuffle_records

    if inputs.background is not None and str(inputs.background) != SHUFFLED:
        return read_fasta(inputs.background, min_length=min_length), str(inputs.background)
    if inputs.background is None:
        from mhsa_bio.training.run import recorded_input

        found = recorded_input(ckpt, "negatives")  # refuses a file changed since training
        if found is not None:
            return read_fasta(found, min_length=min_length), found
        neg = ckpt.get("provenance", {}).get("inputs", {}).get("negatives")
        if neg and neg.get("path") not in (None, "-"):
            log.warning("%s: the checkpoint's negatives are gone; using dinucleotide shuffles", neg["path"])
    return (
        shuffle_records(positives, n_per=1, seed=seed + 1_000_003),
        f"dinucleotide shuffles of the sequences (seed {seed + 1_000_003})",
    )


def prepare(inputs: MotifInputs, params: MotifParams, *, device: Any) -> Prepared:
    """Read and validate every input before anything is written."""
    from mhsa_bio.checkpoint import ensemble_size, load_model
    from mhsa_bio.io.jaspar import check_jaspar
    from mhsa_bio.motifs.heads import parse_heads
    from mhsa_bio.motifs.matching import load_jaspar

    if not 0 < params.fdr < 1:
        raise InputError(f"--fdr {params.fdr}: must lie between 0 and 1")
    model, ckpt = load_model(inputs.model, device=device)
    if ensemble_size(ckpt) > 1:
        log.warning(
            "%s: an ensemble of %d models; motifs are read from the first", inputs.model, ensemble_size(ckpt)
        )
    if model.config.n_classes != 2:
        log.warning(
            "%s: %d classes; motifs are read for the last class (%s)",
            inputs.model,
            model.config.n_classes,
            ckpt["classes"][-1],
        )
    parse_heads(params.heads, layers=model.config.layers, heads=model.config.heads)
    min_length = model.config.stem_kernel
    positives, pos_src = _sequences(inputs, ckpt, min_length)
    background, bg_src = _background(inputs, ckpt, positives, min_length=min_length, seed=params.seed)
    from mhsa_bio.attention import check_attention_size

    check_attention_size(model, positives, source=pos_src, batch_size=params.batch_size)
    check_attention_size(model, background, source=bg_src, batch_size=params.batch_size)
    longest = max(len(r.seq) for r in positives)
    if params.window > longest:
        raise InputError(
            f"--window {params.window}: longer than the longest sequence ({longest} bp in {pos_src})"
        )
    known = None
    known_src = "none"
    if inputs.known is not None:
        from mhsa_bio.io.meme import read_meme

        known = read_meme(inputs.known)
        known_src = str(inputs.known)
    elif inputs.match:
        rel = check_jaspar(inputs.jaspar_release, inputs.taxon)
        known = load_jaspar(inputs.jaspar_release, inputs.taxon)
        known_src = f"{rel} CORE {inputs.taxon} ({len(known)} motifs)"
    return Prepared(
        model,
        ckpt,
        positives,
        background,
        known,
        {"model": str(inputs.model), "sequences": pos_src, "background": bg_src, "known_motifs": known_src},
    )


def run_motifs(
    prep: Prepared,
    out: Path,
    *,
    inputs: MotifInputs,
    params: MotifParams,
    device: Any,
    threads: int = 1,
    cli_params: dict[str, Any] | None = None,
    on_progress: Callable[[str, int, int], None] | None = None,
) -> dict[str, Any]:
    """Run the pipeline (and the control) and write every output into ``out``.

    Returns the summary also stored in ``run.json``.
    """
    from mhsa_bio.io.outputs import write_run_json
    from mhsa_bio.motifs.find import find_motifs, shuffle_control
    from mhsa_bio.motifs.write import write_results
    from mhsa_bio.runtime.device import seed_everything

    seed_everything(params.seed)
    result = find_motifs(
        prep.model,
        prep.positives,
        prep.background,
        params=params,
        device=device,
        known=prep.known,
        threads=max(threads, 1),
        on_progress=on_progress,
    )
    control: dict[str, Any] = {"kind": inputs.control}
    if inputs.control == "shuffle":
        ctrl = shuffle_control(prep.model, prep.positives, prep.background, params=params, device=device)
        control.update(
            motifs_passing=len(ctrl.motifs),
            seqlets=len(ctrl.seqlets),
            consensus=[m.consensus for m in ctrl.motifs],
        )
        if ctrl.motifs:
            log.warning("shuffle control: %d motifs passed on shuffled sequences", len(ctrl.motifs))
    cal = result.calibration
    auroc = model_auroc(prep.ckpt)
    verdict = last_line(len(result.motifs), path=result.path, reason=result.reason, auroc=auroc)
    if (
        not result.motifs
        and (auroc is None or auroc >= MIN_MODEL_AUROC)
        and not prep.sources["background"].startswith("dinucleotide shuffles")
    ):
        verdict += (
            "; if the background carries the same motifs (a pair at other spacings), "
            "--background shuffle reports the motifs both carry"
        )
    log.info("%s", verdict)
    summary = {
        "result": verdict,
        **prep.sources,
        "positives": result.n_positives,
        "background sequences": result.n_background,
        "control": (
            f"shuffle: {control['motifs_passing']} motifs pass on shuffled "
            f"sequences ({control['seqlets']} seqlets)"
            if inputs.control == "shuffle"
            else "none"
        ),
    }
    write_results(result, out, prep.positives, summary=summary)
    record = {
        "n_motifs": len(result.motifs),
        "result": verdict,
        "score_path": result.path,
        "reason": result.reason or None,
        "model_validation_auroc": auroc,
        "n_rejected_clusters": len(result.rejected),
        "sites": {
            "total": len(result.scan_sites),
            "attention": sum(s.attention for s in result.scan_sites),
            "scan_only": sum(not s.attention for s in result.scan_sites),
            "scan_p_value": params.p_site,
        },
        "selected_heads": [f"{a + 1}:{b + 1}" for a, b in result.selected_heads],
        "seqlets": {
            "threshold": cal.threshold,
            "target_fdr": cal.fdr,
            "estimated_fdr": cal.achieved_fdr,
            "positives": len(result.seqlets),
            "background": result.n_background_seqlets,
        },
        "positional_pass": (
            {
                "window": list(result.positional_window),
                "held_out_auroc": result.positional_test[0],
                "held_out_p": result.positional_test[1],
                "seqlets": len(result.positional_seqlets),
            }
            if result.positional_test and result.positional_window is not None
            else None
        ),
        "pointer_pass": (
            {
                "heads": [f"{a + 1}:{b + 1}" for a, b in result.pointer_heads],
                "seqlets": len(result.pointer_seqlets),
            }
            if result.pointer_heads
            else None
        ),
        "control": control,
        "sources": prep.sources,
        "motifs": [
            {
                "id": m.id,
                "consensus": m.consensus,
                "q": m.q_value,
                "best_match": (f"{m.matches[0].target_id} {m.matches[0].target_name}" if m.matches else None),
            }
            for m in result.motifs
        ],
    }
    write_run_json(
        out, "motifs", cli_params or {}, motif_params=params.to_dict(), result=record, device=str(device)
    )
    return record
