"""``mhsa-bio motifs``: attention-derived motifs with logos, MEME file, sites and JASPAR matches."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mhsa_bio.cli.common import command_context, console
from mhsa_bio.cli.options import (
    Amp,
    BatchSize,
    Control,
    Device,
    Enrichment,
    Fallback,
    Force,
    JasparRelease,
    OutDir,
    Score,
    Seed,
    Threads,
    Verbose,
    choice,
)

HEADS_HELP = (
    "Heads whose per-base scores make the seqlets: 'auto' (default) keeps, from any layer, every "
    "head whose largest per-sequence CLS attention separates positives from background with "
    "AUROC >= 0.6 (heads specialise: one per motif), skipping heads whose CLS row is near "
    "uniform (entropy > 0.9 x log2 T: a mean pool, not a pointer); else the best head alone. "
    "See heads.tsv. Or 'all', or 1-based LAYER:HEAD pairs such as '1:2,2:1' ('2:*' = layer 2)."
)
SCORE_HELP = (
    "Per-base score: 'cls' (the CLS token's attention, DNABERT-viz style; default), "
    "'received' (attention each base receives, averaged over query bases), 'rollout' "
    "(attention rollout across layers; ignores --heads) or 'gradient' (the model's integrated "
    "gradients x input, 8 steps from a uniform baseline; ignores --heads)."
)
FALLBACK_HELP = (
    "With --heads auto and a cls/received score: when no head both points (CLS entropy < 0.9 x "
    "log2 T) and separates (AUROC >= 0.6), or the chosen heads pass fewer than --min-sites "
    "seqlets, 'gradient' (default) reads the motifs from the "
    "model's integrated gradients x input instead; 'none' keeps the single best head. The last line and "
    "run.json say which score was used."
)


def motifs(
    fasta: Annotated[
        Path | None,
        typer.Argument(
            help="Sequences to read motifs from (FASTA). Default: the training sequences recorded "
            "in the checkpoint.",
            show_default=False,
        ),
    ] = None,
    model: Annotated[Path, typer.Option("--model", "-m", help="Checkpoint (model.pt).")] = Path("model.pt"),
    out: OutDir = Path("runs/motifs"),
    background: Annotated[
        Path | None,
        typer.Option(
            "--background",
            help="Background FASTA for the seqlet threshold and the enrichment "
            "test. Default: the checkpoint's --negatives file if it had one, else seeded "
            "dinucleotide shuffles of the sequences. 'shuffle': those shuffles even when the "
            "checkpoint had negatives (when the negatives carry the same motifs, e.g. a pair "
            "at other spacings, to report the motifs both classes carry).",
        ),
    ] = None,
    score: Annotated[Score, choice("--score", Score, help=SCORE_HELP)] = "cls",
    heads: Annotated[str, typer.Option("--heads", metavar="<auto|all|L:H,...>", help=HEADS_HELP)] = "auto",
    fallback: Annotated[Fallback, choice("--fallback", Fallback, help=FALLBACK_HELP)] = "gradient",
    fdr: Annotated[
        float,
        typer.Option(
            "--fdr",
            help="Motifs are kept at Benjamini-Hochberg q <= FDR (enrichment in "
            "sequences over background); also the seqlet threshold's FDR unless --seqlet-fdr.",
        ),
    ] = 0.05,
    seqlet_fdr: Annotated[
        float | None,
        typer.Option(
            "--seqlet-fdr",
            help="Target FDR of the seqlet threshold, calibrated on the same "
            "scores over the background sequences.",
        ),
    ] = None,
    window: Annotated[int, typer.Option("--window", min=3, help="Seqlet core width (bp).")] = 10,
    flank: Annotated[
        int,
        typer.Option(
            "--flank",
            min=0,
            help="Bases added on each side of a seqlet, and of aligned sites before trimming.",
        ),
    ] = 5,
    min_width: Annotated[
        int,
        typer.Option(
            "--min-width", min=3, help="Narrowest motif kept after trimming low-information flanks (bp)."
        ),
    ] = 5,
    min_sites: Annotated[
        int, typer.Option("--min-sites", min=2, help="Fewest seqlets that make a motif.")
    ] = 10,
    max_motifs: Annotated[int, typer.Option("--max-motifs", min=1, help="At most this many motifs.")] = 10,
    kmer: Annotated[
        int,
        typer.Option(
            "--kmer",
            min=4,
            max=10,
            help="Length of the k-mers "
            "(both strands) that seed clusters; 5 suits degenerate "
            "elements such as the sigma70 -10 box.",
        ),
    ] = 6,
    enrichment: Annotated[
        Enrichment,
        choice(
            "--enrichment",
            Enrichment,
            expected="auto, scan, window, seqlets",
            help="How a motif's enrichment over background is tested (one-sided "
            "Fisher, BH over motifs). 'auto' (default): the better of 'scan' and 'window', its p "
            "doubled for the two tests; 'scan': sequences with a site anywhere; 'window': "
            "sequences with a site starting where the motif's attention sites concentrate (their "
            "start quartiles +- 2 bp), positives and background at the same positions - for "
            "elements at fixed positions (promoter boxes) whose consensus also occurs elsewhere "
            "by chance; 'seqlets': only sites inside attention seqlets, in positives and "
            "background alike.",
        ),
    ] = "auto",
    jaspar_release: JasparRelease = "2024",
    taxon: Annotated[
        str,
        typer.Option(
            "--taxon",
            help="JASPAR taxon: vertebrates, insects, nematodes, plants, fungi, urochordates or all.",
        ),
    ] = "vertebrates",
    known: Annotated[
        Path | None, typer.Option("--known", help="Match against this MEME file instead of JASPAR.")
    ] = None,
    match: Annotated[
        bool, typer.Option("--match/--no-match", help="Compare motifs with known ones (Tomtom).")
    ] = True,
    control: Annotated[
        Control,
        choice(
            "--control",
            Control,
            help="'shuffle' reruns the pipeline on dinucleotide-shuffled sequences "
            "and reports how many motifs survive (should be none).",
        ),
    ] = "none",
    batch_size: BatchSize = 64,
    amp: Amp = True,
    seed: Seed = 0,
    device: Device = "auto",
    threads: Threads = 0,
    force: Force = False,
    verbose: Verbose = 0,
) -> None:
    """Find motifs in what the model attends to.

    Attention is reduced batch by batch to per-base scores; windows scoring above a threshold
    calibrated on background sequences (target FDR) become seqlets; seqlets are clustered by
    aligned similarity on both strands into count matrices; clusters enriched in the sequences
    over background - anywhere, or at the positions where their sites concentrate (one-sided
    Fisher test, BH) - are reported and matched to JASPAR with Tomtom. A positional pass reads
    the window the model attends to in half of the positives (when the other half attends there
    more than the background) and tests its motifs on the other half: promoter boxes. A pointer
    pass does the same with the window each sharp, separating head attends to in each sequence.

    Writes OUT/motifs.meme, motifs.tsv, sites.bed, logos/<id>.png, heads.tsv, report.html and
    run.json.
    """
    params = {k: (str(v) if isinstance(v, Path) else v) for k, v in locals().items()}
    with command_context(verbose=verbose, threads=threads, device=device, out=out, force=force) as run:
        from mhsa_bio.motifs.find import MotifParams
        from mhsa_bio.motifs.run import MotifInputs, prepare, run_motifs

        dev = run.device
        motif_params = MotifParams(
            score=score,
            heads=heads,
            fallback=fallback,
            fdr=fdr,
            seqlet_fdr=seqlet_fdr,
            window=window,
            flank=flank,
            min_width=min_width,
            min_sites=min_sites,
            max_motifs=max_motifs,
            k=kmer,
            enrichment=enrichment,
            batch_size=batch_size,
            amp=amp,
            seed=seed,
        )
        inputs = MotifInputs(
            model=model,
            sequences=fasta,
            background=background,
            known=known,
            jaspar_release=jaspar_release,
            taxon=taxon,
            match=match,
            control=control,
        )
        prep = prepare(inputs, motif_params, device=dev)  # validates everything first
        out_dir = run.out_dir()
        with console.status("collecting attention and finding motifs", spinner="dots"):
            record = run_motifs(
                prep,
                out_dir,
                inputs=inputs,
                params=motif_params,
                device=dev,
                threads=run.threads or 1,
                cli_params=params,
            )
        console.print(
            f"{record['n_motifs']} motifs at q <= {fdr:g} from "
            f"{record['seqlets']['positives']} seqlets; wrote {out}"
        )
        for m in record["motifs"]:
            console.print(
                f"  {m['id']}  {m['consensus']}  q {m['q']:.2g}  {m['best_match'] or ''}", highlight=False
            )
        if control == "shuffle":
            console.print(f"shuffle control: {record['control']['motifs_passing']} motifs pass")
        console.print(record["result"], highlight=False)
