"""``mhsa-bio pairs``: co-attended TF motif pairs of a trained model."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mhsa_bio.cli.common import command_context, console
from mhsa_bio.cli.options import BatchSize, Device, Force, OutDir, Seed, Threads, Verbose


def pairs(
    model: Annotated[Path, typer.Option("--model", "-m", help="Trained checkpoint (model.pt).")],
    motifs: Annotated[Path, typer.Option(
        "--motifs", help="MEME motif file, or a 'mhsa-bio motifs' output folder (its "
        "motifs.meme; its report.html gets a pairs section). Motif order sets the A/B order "
        "of pairs.")],
    out: OutDir = Path("runs/pairs"),
    sequences: Annotated[Path | None, typer.Option(
        "--sequences", help="Sequences to analyse (FASTA). Default: the training FASTA recorded "
        "in the checkpoint.")] = None,
    background: Annotated[Path | None, typer.Option(
        "--background", help="Background for the plain co-occurrence baseline (FASTA). Default: "
        "the checkpoint's training negatives, else dinucleotide shuffles of the sequences.")
    ] = None,
    pvalue: Annotated[float, typer.Option(
        "--pvalue", help="Site threshold: exact PWM score p-value vs the sequences' base "
        "composition (as FIMO).")] = 1e-4,
    null_copies: Annotated[int, typer.Option(
        "--null-copies", min=1, help="Null copies (sites moved to random places) per sequence.")
    ] = 8,
    min_sequences: Annotated[int, typer.Option(
        "--min-sequences", min=2, help="Groups (A, B, spacing, orientation) in fewer sequences "
        "are not tested.")] = 10,
    null_neighbours: Annotated[int, typer.Option(
        "--null-neighbours", min=10, help="Each group is tested against this many null pairs of "
        "the same two motifs and orientation, nearest to its spacing ...")] = 100,
    null_exclude: Annotated[float, typer.Option(
        "--null-exclude", min=0.0, help="... but more than this many bp away from it (the null "
        "never holds the group's own arrangement).")] = 2.0,
    strand_symmetric: Annotated[bool, typer.Option(
        "--strand-symmetric", help="Merge a pair with its reverse complement (unstranded data "
        "such as ChIP-seq); orientations become ++ (same strand) and +- (opposite).")] = False,
    null_background: Annotated[str, typer.Option(
        "--null-background", help="Background of the null copies: 'kept' (the sequence's own "
        "background in order; only the sites move) or 'shuffled' (dinucleotide shuffle, as "
        "SATORI; not calibrated, for comparison only).")] = "kept",
    max_sequences: Annotated[int, typer.Option(
        "--max-sequences", min=0, help="Analyse a seeded random subset of this many sequences "
        "(0 = all).")] = 0,
    top_plots: Annotated[int, typer.Option(
        "--top-plots", min=0, help="Spacing plots for this many top pairs.")] = 5,
    batch_size: BatchSize = 64,
    seed: Seed = 0,
    device: Device = "auto",
    threads: Threads = 0,
    force: Force = False,
    verbose: Verbose = 0,
) -> None:
    """Find motif pairs that the attention heads connect, at which spacing and orientation.

    Writes OUT/pairs.tsv (one row per (A, B, spacing, orientation) group: co-attention vs a
    null of the same sites moved to random places and strands, Mann-Whitney U p, BH q, top
    heads, plain co-occurrence enrichment vs background), OUT/sites.tsv, OUT/spacing_*.png,
    OUT/summary.json and OUT/run.json. When --motifs is a 'mhsa-bio motifs' folder with
    report.html, a pairs section (top pairs, spacing plots) is put into that report (replaced on
    re-runs).
    """
    params = {k: (str(v) if isinstance(v, Path) else v) for k, v in locals().items()}
    with command_context(verbose=verbose, threads=threads, device=device, seed=seed, out=out,
                         force=force) as run:
        import numpy as np

        from mhsa_bio.errors import InputError

        if not 0.0 < pvalue < 1.0:
            raise InputError(f"--pvalue {pvalue}: must be between 0 and 1")
        if null_background not in ("shuffled", "kept"):
            raise InputError(f"--null-background {null_background}: expected shuffled or kept")
        from mhsa_bio.checkpoint import load_model
        from mhsa_bio.io.fasta import read_fasta
        from mhsa_bio.io.meme import read_meme
        from mhsa_bio.io.outputs import write_json, write_run_json
        from mhsa_bio.pairs import find_pairs
        from mhsa_bio.pairs.io import write_pairs_tsv, write_sites_tsv
        from mhsa_bio.pairs.plots import spacing_plots
        from mhsa_bio.shuffle import shuffle_records
        from mhsa_bio.training.run import default_sequences

        dev = run.device
        # Validate every input before anything is written.
        motif_list = read_meme(motifs)
        net, ckpt = load_model(model, device=dev)
        if sequences is None:
            found = default_sequences(ckpt)
            if found is None:
                raise InputError(f"{model}: the training FASTA recorded in the checkpoint is "
                                 "gone; give --sequences FASTA")
            sequences = Path(found)
        records = read_fasta(sequences, min_length=net.config.stem_kernel)
        from mhsa_bio.attention import check_attention_size

        check_attention_size(net, records, source=sequences, batch_size=batch_size)
        if max_sequences and len(records) > max_sequences:
            rng = np.random.default_rng(seed)
            keep = np.sort(rng.choice(len(records), max_sequences, replace=False))
            records = [records[k] for k in keep]
        bg_source = "shuffled sequences"
        if background is None:
            from mhsa_bio.training.run import recorded_input

            found = recorded_input(ckpt, "negatives")  # refuses a file changed since training
            if found is not None:
                background = Path(found)
        if background is not None:
            bg_records = read_fasta(background)
            bg_source = str(background)
        else:
            bg_records = shuffle_records(records, seed=seed)
        out_dir = run.out_dir()
        result = find_pairs(net, records, motif_list, background=bg_records, device=dev,
                            pvalue=pvalue, n_null=null_copies, min_sequences=min_sequences,
                            null_exclude=null_exclude, null_neighbours=null_neighbours,
                            strand_symmetric=strand_symmetric,
                            null_shuffle=null_background == "shuffled", batch_size=batch_size,
                            seed=seed)
        write_pairs_tsv(result, out_dir / "pairs.tsv")
        write_sites_tsv(result, records, result.motifs, out_dir / "sites.tsv")
        plots = spacing_plots(result, out_dir, top=top_plots)
        write_json(out_dir / "summary.json", result.summary)
        report = None
        if motifs.is_dir() and (motifs / "report.html").is_file():
            import os

            from mhsa_bio.pairs.report import pairs_section, update_motifs_report

            section = pairs_section(result.table, result.summary, plots,
                                    pairs_dir=os.path.relpath(out, motifs))
            report = motifs / "report.html"

            def add_section() -> None:  # only once pairs' own outputs are in place
                update_motifs_report(motifs, section)
                console.print(f"added a pairs section to {report}")

            run.after_commit(add_section)
        write_run_json(out_dir, "pairs", params, sequences=str(sequences),
                       background=bg_source, device=str(dev), summary=result.summary,
                       plots=[p.name for p in plots],
                       motifs_report=str(report) if report else None)
        summary = result.summary
        console.print(f"{summary['groups_tested']} pair groups tested: "
                      f"{summary['coattended_q05']} co-attended at q < 0.05, "
                      f"{summary['significant_q05']} of them at a fixed spacing")
        for _, top in result.table.head(3).iterrows():
            console.print(f"  {top['name_a']} – {top['name_b']} spacing {top['spacing']:g} "
                          f"{top['orientation']} in {top['n_sequences']} sequences: log2 "
                          f"co-attention/null {top['log2_ratio']:.2f}, q co-attended "
                          f"{top['q_null']:.2g}, q spacing {top['q']:.2g}")
        console.print(f"wrote {out / 'pairs.tsv'}")
