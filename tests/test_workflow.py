"""The Snakemake workflow: the real rules run end to end on tiny data, a SLURM dry run, and a bad
sample sheet refused before any job starts."""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import planted_set, random_dna

ROOT = Path(__file__).resolve().parents[1]
SNAKEFILE = ROOT / "workflows" / "Snakefile"
TINY_MSA = ROOT / "workflows" / "example" / "tiny_family.fasta"

pytestmark = pytest.mark.skipif(importlib.util.find_spec("snakemake") is None,
                                reason="snakemake is not installed")
HAS_SLURM_PLUGIN = importlib.util.find_spec("snakemake_executor_plugin_slurm") is not None


def known_meme(path: Path) -> Path:
    """GATA1 and TAL1::TCF3 from JASPAR as a MEME file."""
    from mhsa_bio.io.meme import MemeMotif, write_meme
    from mhsa_bio.simulate import load_jaspar_motifs

    write_meme(path, [MemeMotif(m.id, m.name, m.probs, 20, 0.0)
                      for m in load_jaspar_motifs(["MA0035.4", "MA0091.1"])])
    return path


def tiny_config(tmp_path: Path, rows: list[dict[str, str]], *, gpu: int = 0,
                pair_motifs: Path | None = None) -> Path:
    """A sample sheet and a config with tiny epochs/steps, everything under ``tmp_path``."""
    columns = ["sample", "type", "fasta", "negatives", "bed", "genome", "msa", "pdb", "chain"]
    sheet = tmp_path / "samples.tsv"
    with open(sheet, "w") as handle:
        handle.write("\t".join(columns) + "\n")
        for row in rows:
            handle.write("\t".join(row.get(c, "") for c in columns) + "\n")
    config = tmp_path / "tiny.yaml"
    config.write_text(f"""
samples: {sheet}
out: {tmp_path / 'results'}
mhsa_bio: "{sys.executable} -m mhsa_bio"
seed: 1
simulate: {{n: 40, length: 60, extra: "--motifs MA0035.4"}}
train: {{epochs: 2, device: cpu, extra: "--dim 16 --heads 2 --layers 1 --batch-size 16"}}
motifs: {{device: cpu, extra: "--no-match"}}
pairs: {{device: cpu, motifs: "{pair_motifs or ''}", extra: "--null-copies 1 --top-plots 0"}}
contacts: {{device: cpu, extra: "--steps 20"}}
resources:
  train: {{threads: 1, mem_mb: 1000, runtime: 5, gpu: {gpu}}}
  motifs: {{threads: 1}}
  pairs: {{threads: 1}}
  contacts: {{threads: 1}}
""")
    return config


def snakemake(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    return subprocess.run([sys.executable, "-m", "snakemake", "-s", str(SNAKEFILE), *args],
                          cwd=cwd, capture_output=True, text=True, env=env, timeout=900)


def bed_sample(tmp_path: Path) -> dict[str, str]:
    """Promoters given as BED regions of a small genome (one on the minus strand)."""
    rng = np.random.default_rng(2)
    pos, _ = planted_set(30, 60, seed=5)
    chrom = random_dna(rng, 100)
    bed = []
    for i, (_, seq) in enumerate(pos):
        start = len(chrom)
        chrom += seq + random_dna(rng, 20)
        bed.append(f"chr1\t{start}\t{start + 60}\tr{i}\t0\t+\n")
    (tmp_path / "genome.fa").write_text(">chr1\n" + chrom + "\n")
    (tmp_path / "regions.bed").write_text("".join(bed))
    return {"sample": "bedset", "type": "promoters", "bed": str(tmp_path / "regions.bed"),
            "genome": str(tmp_path / "genome.fa")}


def test_workflow_runs_end_to_end(tmp_path):
    # pairs of known motifs (pairs.motifs in the config): the real `mhsa-bio pairs` runs in every
    # promoter sample, whether or not the tiny models found motifs of their own
    samples = [
        {"sample": "sim1", "type": "simulate"},
        bed_sample(tmp_path),
        {"sample": "fam1", "type": "protein", "msa": str(TINY_MSA)},
    ]
    config = tiny_config(tmp_path, samples, pair_motifs=known_meme(tmp_path / "known.meme"))
    done = snakemake("--cores", "2", "--configfile", str(config), cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-4000:]
    out = tmp_path / "results"
    for sample in ("sim1", "bedset"):
        for step, name in (("train", "model.pt"), ("train", "metrics.json"),
                           ("motifs", "motifs.meme"), ("motifs", "motifs.tsv"),
                           ("pairs", "pairs.tsv")):
            assert (out / sample / step / name).is_file(), f"{sample}/{step}/{name}"
        for step in ("train", "motifs"):
            assert (out / sample / step / "run.json").is_file()
        for step in ("train", "motifs", "pairs"):
            assert (out / "logs" / step / f"{sample}.log").is_file()
        # the real pairs command ran on the known motifs
        pairs_run = json.loads((out / sample / "pairs" / "run.json").read_text())
        assert "MA0035.4" in json.dumps(pairs_run)
        header = [line for line in (out / sample / "pairs" / "pairs.tsv").read_text().splitlines()
                  if not line.startswith("#")][0]
        assert "spacing" in header and "q" in header.split("\t")
    assert (out / "sim1" / "simulate" / "truth.tsv").is_file()
    regions = (out / "bedset" / "regions" / "regions.fa").read_text()
    assert regions.count(">") == 30 and "chr1:100-160(+)" in regions
    assert (out / "fam1" / "contacts" / "contacts.tsv").is_file()
    with open(out / "summary.tsv") as handle:
        rows = {r["sample"]: r for r in csv.DictReader(handle, delimiter="\t")}
    assert list(rows) == ["sim1", "bedset", "fam1"]
    assert rows["fam1"]["type"] == "protein" and int(rows["fam1"]["n_contacts"]) > 0
    for sample in ("sim1", "bedset"):
        assert 0.0 <= float(rows[sample]["auroc"]) <= 1.0
        assert rows[sample]["n_motifs"] != "" and rows[sample]["n_pairs"] != ""
    # nothing left to do: a second run is a no-op
    again = snakemake("--cores", "2", "--configfile", str(config), "--dry-run", cwd=tmp_path)
    assert again.returncode == 0 and "Nothing to be done" in again.stdout + again.stderr
    # a motif file without motifs: the pairs step says so in pairs.tsv instead of failing the batch
    empty = tmp_path / "empty.meme"
    empty.write_text("MEME version 4\n\nALPHABET= ACGT\n\nstrands: + -\n")
    config = tiny_config(tmp_path, samples, pair_motifs=empty)
    target = out / "sim1" / "pairs" / "pairs.tsv"
    done = snakemake(str(target), "--cores", "1", "--configfile", str(config), cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-4000:]
    assert target.read_text() == f"# no motifs in {empty}: no pairs tested\n"
    assert (out / "logs" / "pairs" / "sim1.log").read_text() == "no motifs: pairs skipped\n"


@pytest.mark.skipif(not HAS_SLURM_PLUGIN, reason="snakemake-executor-plugin-slurm not installed")
def test_slurm_dry_run_with_the_profile(tmp_path):
    config = tiny_config(tmp_path, [
        {"sample": "p1", "type": "promoters", "fasta": str(ROOT / "data/example/promoters.fa"),
         "negatives": str(ROOT / "data/example/background.fa")},
        {"sample": "fam1", "type": "protein", "msa": str(TINY_MSA)},
    ], gpu=1)
    done = snakemake("--profile", str(ROOT / "workflows" / "profiles" / "slurm"),
                     "--configfile", str(config), "--dry-run", cwd=tmp_path)
    text = done.stdout + done.stderr
    assert done.returncode == 0, text[-4000:]
    assert "slurm_account=YOUR_ACCOUNT" in text
    train = text[text.index("rule train:"):]
    train = train[: train.index("\n\n") if "\n\n" in train else len(train)]
    assert "gpu=1" in train and "slurm_partition=YOUR_GPU_PARTITION" in train
    for rule in ("train", "motifs", "pairs", "contacts", "summary"):
        assert f"rule {rule}:" in text


def test_bad_sample_sheet_is_refused(tmp_path):
    config = tiny_config(tmp_path, [{"sample": "x1", "type": "rna"}])
    done = snakemake("--cores", "1", "--configfile", str(config), "--dry-run", cwd=tmp_path)
    assert done.returncode != 0
    assert "type 'rna' is not one of promoters, simulate, protein" in done.stdout + done.stderr
