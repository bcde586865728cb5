"""``mhsa-bio motifs`` through Typer's CliRunner: outputs, checkpoint defaults, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from conftest import invoke
from motif_fixtures import MOTIF, planted, revcomp, save_tiny_checkpoint, write_fasta


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    torch.set_num_threads(1)
    d = tmp_path_factory.mktemp("motifs_cli")
    pos, neg, _ = planted()
    fa = write_fasta(d / "pos.fa", pos)
    bg = write_fasta(d / "neg.fa", neg)
    ckpt = save_tiny_checkpoint(d / "model.pt", fasta=fa, negatives=bg)
    return {"dir": d, "fa": fa, "bg": bg, "model": ckpt}


@pytest.fixture(scope="module")
def run(files: dict[str, Path]) -> Path:
    out = files["dir"] / "out"
    res = invoke(*["motifs", "--model", str(files["model"]), "--out", str(out),
                              "--no-match", "--threads", "1", "--control", "shuffle"])
    assert res.exit_code == 0, res.output
    (out / "stdout.txt").write_text(res.output)
    return out


def test_last_line_and_run_json_say_what_was_found_and_from_which_score(run: Path) -> None:
    rec = json.loads((run / "run.json").read_text())["result"]
    last = (run / "stdout.txt").read_text().strip().splitlines()[-1]
    assert last == rec["result"] and last.startswith(f"{rec['n_motifs']} motifs from cls attention")
    assert rec["reason"] is None and rec["score_path"].startswith("cls attention of heads")
    assert rec["sites"]["total"] == rec["sites"]["attention"] + rec["sites"]["scan_only"]
    assert rec["sites"]["scan_only"] > 0 and rec["sites"]["scan_p_value"] == 1e-4


def test_sequences_and_background_come_from_the_checkpoint(run: Path, files) -> None:  # type: ignore[no-untyped-def]
    rec = json.loads((run / "run.json").read_text())
    assert rec["command"] == "motifs"
    assert rec["result"]["sources"]["sequences"] == str(files["fa"].resolve())
    assert rec["result"]["sources"]["background"] == str(files["bg"].resolve())
    assert rec["result"]["control"]["motifs_passing"] == 0
    assert rec["motif_params"]["fdr"] == 0.05 and rec["params"]["seed"] == 0


def test_every_output_is_written_and_readable(run: Path) -> None:
    for name in ("motifs.meme", "motifs.tsv", "sites.bed", "heads.tsv", "report.html",
                 "run.json", "logos/M1.png"):
        assert (run / name).is_file(), name
    from Bio import motifs as bio_motifs
    from memelite.io import read_meme

    with open(run / "motifs.meme") as handle:
        parsed = list(bio_motifs.parse(handle, "minimal"))
    assert len(parsed) >= 1
    cons = str(parsed[0].consensus)
    assert MOTIF[1:7] in cons or revcomp(MOTIF)[1:7] in cons
    assert len(read_meme(str(run / "motifs.meme"))) == len(parsed)
    rows = (run / "motifs.tsv").read_text().splitlines()
    assert rows[0].startswith("id\tconsensus\twidth\tsites\tpositives_with_site")
    assert len(rows) == len(parsed) + 1
    bed = [line.split("\t") for line in (run / "sites.bed").read_text().splitlines()]
    assert bed and all(b[0].startswith("p") and int(b[2]) - int(b[1]) == int(rows[1].split(
        "\t")[2]) for b in bed if b[3] == "M1")
    assert {b[5] for b in bed} <= {"+", "-"} and len({b[5] for b in bed}) == 2
    assert {b[6] for b in bed} == {"attention", "scan"}
    heads = (run / "heads.tsv").read_text().splitlines()
    assert heads[0].split("\t")[:3] == ["layer", "head", "entropy_bits"] and len(heads) == 3
    html = (run / "report.html").read_text()
    assert "data:image/png;base64," in html and "M1" in html


def test_existing_out_dir_is_refused(run: Path, files) -> None:  # type: ignore[no-untyped-def]
    res = invoke(*["motifs", "--model", str(files["model"]), "--out", str(run),
                              "--no-match"])
    assert res.exit_code != 0 and "--force" in res.output


@pytest.mark.parametrize("extra, message", [
    (["--heads", "3:1"], "outside this model"),
    (["--score", "grad"], "--score"),
    (["--jaspar-release", "1999"], "unknown"),
    (["--taxon", "martians"], "--taxon"),
    (["--control", "maybe"], "--control"),
    (["--enrichment", "everywhere"], "expected auto, scan, window, seqlets"),
])
def test_bad_options(files, tmp_path: Path, extra: list[str], message: str) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "o"
    res = invoke(*["motifs", "--model", str(files["model"]), "--out", str(out),
                              *extra])
    assert res.exit_code != 0
    assert message in res.output
    assert not out.exists()  # nothing written before validation


def test_bad_fasta_and_model(files, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.fa"
    bad.write_text(">a\nACGTXACGTACGTACGT\n")
    out = tmp_path / "o"
    res = invoke(*["motifs", str(bad), "--model", str(files["model"]), "--out",
                              str(out), "--no-match"])
    assert res.exit_code != 0 and "bad.fa" in res.output and not out.exists()
    res = invoke(*["motifs", str(files["fa"]), "--model", str(bad), "--out",
                              str(out), "--no-match"])
    assert res.exit_code != 0 and "checkpoint" in res.output and not out.exists()


def test_known_meme_file_is_used(files, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import numpy as np

    from mhsa_bio import pwm
    from mhsa_bio.io.meme import MemeMotif, write_meme

    rng = np.random.default_rng(0)
    known = [MemeMotif(f"R{i}", "random", rng.dirichlet(np.ones(4), size=8)) for i in range(30)]
    known.append(MemeMotif("PLANTED", "gata_like", pwm.probabilities(
        pwm.count_matrix([pwm.tokens(MOTIF)] * 50, width=len(MOTIF)))))
    write_meme(tmp_path / "known.meme", known)
    out = tmp_path / "o"
    res = invoke(*["motifs", str(files["fa"]), "--model", str(files["model"]),
                              "--background", str(files["bg"]), "--known",
                              str(tmp_path / "known.meme"), "--out", str(out), "--threads", "1"])
    assert res.exit_code == 0, res.output
    header, first = ((out / "motifs.tsv").read_text().splitlines()[i].split("\t")
                     for i in (0, 1))
    row = dict(zip(header, first))
    assert row["best_match"] == "PLANTED" and float(row["best_match_q"]) < 0.05


def test_sites_bed_has_genome_coordinates_for_bed_and_genome_input(  # type: ignore[no-untyped-def]
        run: Path, files, tmp_path: Path) -> None:
    """The same positives cut from a genome (half of them from the minus strand) give the same
    sites, written in genome coordinates whose bases, read on the BED strand, are the site's."""
    import numpy as np

    pos, _, _ = planted()
    rng = np.random.default_rng(5)
    chroms: dict[str, str] = {"chr1": "", "chr2": ""}
    bed = []
    for i, r in enumerate(pos):
        chrom = "chr1" if i % 2 == 0 else "chr2"
        spacer = "".join(rng.choice(list("ACGT"), size=7))
        start = len(chroms[chrom]) + len(spacer)
        chroms[chrom] += spacer + (r.seq if chrom == "chr1" else revcomp(r.seq))
        bed.append(f"{chrom}\t{start}\t{start + len(r.seq)}\t{r.id}\t0\t"
                   f"{'+' if chrom == 'chr1' else '-'}\n")
    genome = tmp_path / "genome.fa"
    genome.write_text("".join(f">{c}\n{s}\n" for c, s in chroms.items()))
    bed_file = tmp_path / "pos.bed"
    bed_file.write_text("".join(bed))
    ckpt = save_tiny_checkpoint(tmp_path / "model.pt", negatives=files["bg"], bed=bed_file,
                                genome=genome)
    out = tmp_path / "out"
    res = invoke(*["motifs", "--model", str(ckpt), "--out", str(out),
                              "--no-match", "--threads", "1"])
    assert res.exit_code == 0, res.output
    seq_rows = [ln.split("\t") for ln in (run / "sites.bed").read_text().splitlines()]
    gen_rows = [ln.split("\t") for ln in (out / "sites.bed").read_text().splitlines()]
    assert gen_rows and len(gen_rows) == len(seq_rows)
    by_id = {r.id: r.seq for r in pos}

    def oriented(seq: str, a: int, b: int, strand: str) -> str:
        s = seq[int(a):int(b)]
        return s if strand == "+" else revcomp(s)

    for s, g in zip(seq_rows, gen_rows):
        motif_id, rec_id = g[3].split(":")
        assert (motif_id, rec_id) == (s[3], s[0]) and g[0] == ("chr1" if int(
            rec_id[1:]) % 2 == 0 else "chr2")
        assert oriented(chroms[g[0]], g[1], g[2], g[5]) == oriented(by_id[rec_id], s[1], s[2],
                                                                   s[5])
        assert (g[5] == s[5]) == (g[0] == "chr1")  # strand flips on minus-strand regions


def test_background_shuffle_reports_motifs_that_the_negatives_also_carry(  # type: ignore[no-untyped-def]
        files, tmp_path: Path) -> None:
    """When the negatives hold the same motif (a pair task whose classes differ only in the
    spacing), nothing is enriched against them; ``--background shuffle`` tests against
    dinucleotide shuffles of the sequences instead and reports the motif."""
    from mhsa_bio import pwm
    from mhsa_bio.io.meme import read_meme
    from mhsa_bio.motifs.cluster import similarity

    carriers = write_fasta(tmp_path / "carriers.fa", planted(seed=1)[0])
    truth = pwm.probabilities(pwm.count_matrix([pwm.tokens(MOTIF)] * 50, width=len(MOTIF)))
    found = {}
    for name, bg in (("negatives", str(carriers)), ("shuffle", "shuffle")):
        out = tmp_path / name
        res = invoke(*["motifs", str(files["fa"]), "--model", str(files["model"]),
                       "--background", bg, "--out", str(out), "--no-match", "--threads", "1"])
        assert res.exit_code == 0, res.output
        rec = json.loads((out / "run.json").read_text())["result"]
        found[name] = [m.probs for m in read_meme(out)] if rec["n_motifs"] else []
        assert ("--background shuffle" in rec["result"]) == (name == "negatives")
        if name == "shuffle":
            assert rec["sources"]["background"].startswith("dinucleotide shuffles")
    assert found["negatives"] == []
    assert found["shuffle"] and max(similarity(m, truth) for m in found["shuffle"]) >= 0.8
