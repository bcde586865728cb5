"""Genome scanning: window layout, scores equal to predict, both strands, chunk-size invariance,
a planted promoter called where it is and nowhere else, and every bad input refused cleanly."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import assert_clean_error, invoke, planted_set, random_dna

from mhsa_bio.alphabet import reverse_complement
from mhsa_bio.checkpoint import load_model
from mhsa_bio.errors import InputError
from mhsa_bio.genome_scan import ScanConfig, scan_genome
from mhsa_bio.genome_windows import layout, scan_chromosome
from mhsa_bio.io.fasta import Record
from mhsa_bio.predict import predict_proba

CPU = torch.device("cpu")
MOTIF = "TATAATGC"


def write_genome(path: Path, chroms: dict[str, str], width: int = 60) -> Path:
    with open(path, "w") as handle:
        for name, seq in chroms.items():
            handle.write(f">{name} test\n")
            handle.writelines(seq[i : i + width] + "\n" for i in range(0, len(seq), width))
    return path


def motif_free_dna(rng: np.random.Generator, length: int, *, k: int = 4) -> str:
    """Random DNA without any k-mer of the motif or of its reverse complement."""
    banned = {m[i : i + k] for m in (MOTIF, reverse_complement(MOTIF))
              for i in range(len(m) - k + 1)}
    seq = list(random_dna(rng, length))
    for _ in range(1000):
        text = "".join(seq)
        hits = [i for i in range(length - k + 1) if text[i : i + k] in banned]
        if not hits:
            return text
        for i in hits:
            seq[i : i + k] = list(random_dna(rng, k))
    raise AssertionError("could not scrub the motif")


def read_bedgraph(path: Path) -> list[tuple[str, int, int, float]]:
    rows = []
    for line in path.read_text().splitlines():
        if line.startswith("track"):
            continue
        c, a, b, v = line.split("\t")
        rows.append((c, int(a), int(b), float(v)))
    return rows


def read_bed(path: Path) -> list[list[str]]:
    return [line.split("\t") for line in path.read_text().splitlines()]


@pytest.fixture(scope="module")
def sharp_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny model trained to confidence on MOTIF at base 25 of 60 bp (about 10 s on a CPU).

    The session's ``trained_run`` ranks well but stops at the first epoch with validation AUPRC
    1.0, so its probabilities stay near 0.5; calling regions at a threshold needs a sharper one.
    """
    from mhsa_bio.checkpoint import make_checkpoint, save_checkpoint
    from mhsa_bio.models.promoter import PromoterConfig
    from mhsa_bio.training.split import make_split
    from mhsa_bio.training.trainer import TrainConfig, Trainer

    pos, neg = planted_set(200, 60, motif=MOTIF)
    config = TrainConfig(epochs=12, batch_size=16, lr=3e-3, seed=1)
    split = make_split([Record(i, s) for i, s in pos], negatives=[Record(i, s) for i, s in neg],
                       config=config)
    model_config = PromoterConfig(dim=32, heads=2, layers=1, max_len=60)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the same weights whatever the machine's core count
    try:
        trainer = Trainer(split, model_config=model_config, config=config, device=CPU)
        for epoch in range(1, config.epochs + 1):
            trainer.train_epoch(epoch, None)
    finally:
        torch.set_num_threads(threads)
    path = tmp_path_factory.mktemp("sharp") / "model.pt"
    save_checkpoint(make_checkpoint(trainer.model, model_type="promoter",
                                    config=model_config.to_dict(), alphabet="ACGTN",
                                    classes=["background", "positive"], provenance={},
                                    metrics={}), path)
    return path


def test_layout_covers_every_base_and_bins_tile():
    lay = layout(100, window=30, step=20)
    k = np.arange(lay.n)
    assert lay.starts(k).tolist() == [0, 20, 40, 60, 70]  # the last window ends at 100
    # bins: midpoints between window centres 15, 35, 55, 75, 85
    assert lay.edges(np.arange(lay.n + 1)).tolist() == [0, 25, 45, 65, 80, 100]
    exact = layout(90, window=30, step=20)
    assert exact.starts(np.arange(exact.n)).tolist() == [0, 20, 40, 60]
    short = layout(12, window=30, step=20)
    assert (short.n, short.width) == (1, 12)
    for length in (31, 97, 1000, 1001):
        lay = layout(length, window=60, step=15)
        starts = lay.starts(np.arange(lay.n))
        assert starts[0] == 0 and starts[-1] + lay.width == length and np.all(np.diff(starts) > 0)
        assert np.all(np.diff(starts) <= 15)
        edges = lay.edges(np.arange(lay.n + 1))
        assert edges[0] == 0 and edges[-1] == length and np.all(np.diff(edges) > 0)


def _windows(seq: str, window: int, step: int) -> list[tuple[int, str]]:
    lay = layout(len(seq), window=window, step=step)
    return [(int(s), seq[s : s + lay.width]) for s in lay.starts(np.arange(lay.n))]


def test_scores_equal_predict_on_both_strands(trained_run):
    model, _ = load_model(trained_run / "model.pt")
    rng = np.random.default_rng(3)
    seq = random_dna(rng, 700)
    seq = seq[:100] + "N" * 130 + seq[230:]  # four windows made only of N, others partly N
    config = ScanConfig(window=60, step=20, batch_size=7, chunk_windows=5)
    chunks = list(scan_chromosome(model, lambda a, b: seq[a:b], name="c", length=len(seq),
                                  config=config, device=CPU))
    starts = np.concatenate([c.starts for c in chunks])
    scored = np.concatenate([c.scored for c in chunks])
    probs = np.concatenate([c.probs for c in chunks], axis=1)
    wins = _windows(seq, 60, 20)
    assert starts.tolist() == [s for s, _ in wins]
    assert (~scored).sum() == 4 and all(set(w) == {"N"} for (_, w), ok in zip(wins, scored)
                                        if not ok)
    fwd = [Record(f"w{s}", w) for (s, w), ok in zip(wins, scored) if ok]
    rev = [Record(r.id, reverse_complement(r.seq)) for r in fwd]
    expect_plus = predict_proba(model, fwd, device=CPU)[:, 1]
    expect_minus = predict_proba(model, rev, device=CPU)[:, 1]
    np.testing.assert_allclose(probs[0, scored], expect_plus, atol=1e-5)
    np.testing.assert_allclose(probs[1, scored], expect_minus, atol=1e-5)
    assert np.isnan(probs[:, ~scored]).all()
    assert not np.allclose(expect_plus, expect_minus)  # the strands really differ


def _safe_threshold(model, chroms: dict[str, str], config: ScanConfig) -> float:
    """A threshold in the widest gap between window probabilities (both strands), so that the
    last-bit differences between batch sizes cannot move a window across it."""
    probs = np.concatenate([c.probs[:, c.scored].ravel() for name, seq in chroms.items()
                            for c in scan_chromosome(model, lambda a, b, s=seq: s[a:b],
                                                     name=name, length=len(seq),
                                                     config=config, device=CPU)])
    p = np.sort(probs)[probs.size // 4 : 3 * probs.size // 4]
    i = int(np.argmax(np.diff(p)))
    assert p[i + 1] - p[i] > 1e-4
    return float((p[i] + p[i + 1]) / 2)


def test_chunking_and_batching_do_not_change_output(trained_run, tmp_path):
    model, _ = load_model(trained_run / "model.pt")
    rng = np.random.default_rng(4)
    chroms = {"a": random_dna(rng, 733), "b": random_dna(rng, 41), "c": random_dna(rng, 217)}
    genome = write_genome(tmp_path / "g.fa", chroms)
    threshold = _safe_threshold(model, chroms, ScanConfig(window=60, step=15))
    graphs, beds = [], []
    for chunk, batch in ((10_000, 256), (3, 2), (1, 1)):
        out = tmp_path / f"out{chunk}"
        out.mkdir()
        config = ScanConfig(window=60, step=15, threshold=threshold, batch_size=batch,
                            chunk_windows=chunk)
        summary = scan_genome(model, genome, out, config=config, device=CPU)
        graphs.append(read_bedgraph(out / "scores.bedGraph"))
        beds.append(read_bed(out / "promoters.bed"))
    assert summary.windows == sum(layout(len(s), window=60, step=15).n for s in chroms.values())
    assert len(graphs[0]) == summary.windows and beds[0]
    for graph, bed in zip(graphs[1:], beds[1:]):
        # the same windows and bins; values equal up to float rounding between batch sizes
        assert [r[:3] for r in graph] == [r[:3] for r in graphs[0]]
        np.testing.assert_allclose([r[3] for r in graph], [r[3] for r in graphs[0]], atol=1e-5)
        # the same calls: coordinates, names, strands and window counts exactly
        assert [r[:4] + r[5:6] + r[7:] for r in bed] == \
            [r[:4] + r[5:6] + r[7:] for r in beds[0]]
        np.testing.assert_allclose([float(r[6]) for r in bed], [float(r[6]) for r in beds[0]],
                                   atol=2e-4)


def test_memory_bounded_reads(trained_run):
    """Each read from the genome spans at most one chunk of windows, however long the chromosome."""
    model, _ = load_model(trained_run / "model.pt")
    rng = np.random.default_rng(5)
    seq = random_dna(rng, 2000)
    spans = []

    def fetch(a: int, b: int) -> str:
        spans.append(b - a)
        return seq[a:b]

    config = ScanConfig(window=60, step=15, chunk_windows=8)
    n = sum(c.starts.size for c in scan_chromosome(model, fetch, name="c", length=len(seq),
                                                   config=config, device=CPU))
    assert n == layout(2000, window=60, step=15).n
    assert max(spans) <= 7 * 15 + 60 and len(spans) == -(-n // 8)


def test_planted_promoter_called_on_its_strand_and_nowhere_else(sharp_model, tmp_path):
    rng = np.random.default_rng(11)
    plant = motif_free_dna(rng, 25) + MOTIF + motif_free_dna(rng, 27)
    chr1 = motif_free_dna(rng, 6000)
    chr1 = chr1[:3000] + plant + chr1[3060:]
    chr2 = motif_free_dna(rng, 4000)
    chr2 = chr2[:1500] + reverse_complement(plant) + chr2[1560:]
    genome = write_genome(tmp_path / "genome.fa", {"chr1": chr1, "chr2": chr2.lower(),
                                                   "chrN": "N" * 500})
    plants = {"chr1": 3030, "chr2": 1530}  # centres of the planted 60 bp windows
    # first pass: the scores. The planted window must stand out of the motif-free background.
    first = tmp_path / "scores"
    result = invoke("scan", genome, "--model", sharp_model, "--out", first, "--device", "cpu")
    assert result.exit_code == 0, result.output
    graph = read_bedgraph(first / "scores.bedGraph")
    assert {c for c, *_ in graph} == {"chr1", "chr2"}  # chrN is all N: skipped
    peaks, background = [], []
    for chrom, centre in plants.items():
        rows = [r for r in graph if r[0] == chrom]
        top = max(rows, key=lambda r: r[3])
        assert abs((top[1] + top[2]) / 2 - centre) <= 30, f"{chrom}: peak at {top}"
        peaks.append(top[3])
        # windows that cannot overlap the plant (a bin's midpoint is its window's centre + 0.5)
        background += [r[3] for r in rows if abs((r[1] + r[2]) // 2 - centre) >= 60]
    assert min(peaks) > 0.9 and min(peaks) - max(background) > 1e-3, (peaks, max(background))
    assert np.median(background) < 0.5
    # second pass: called at a threshold between background and plant, on the plant's strand
    threshold = (min(peaks) + max(background)) / 2
    out = tmp_path / "scan"
    result = invoke("scan", genome, "--model", sharp_model, "--out", out, "--device", "cpu",
                    "--threshold", f"{threshold:.6f}")
    assert result.exit_code == 0, result.output
    calls = read_bed(out / "promoters.bed")
    assert {r[0] for r in calls} == {"chr1", "chr2"}, calls
    for row in calls:
        chrom, start, end, strand = row[0], int(row[1]), int(row[2]), row[5]
        assert len(row) == 8 and row[3] == f"{chrom}:{start}-{end}({strand})"
        plant_at = plants[chrom] - 30
        assert start < plant_at + 60 and end > plant_at, f"called outside the plant: {row}"
        assert float(row[6]) >= threshold - 1e-4 and int(row[4]) == round(1000 * float(row[6]))
    best = {c: max((r for r in calls if r[0] == c), key=lambda r: float(r[6])) for c in plants}
    assert best["chr1"][5] == "+" and best["chr2"][5] == "-"
    run = json.loads((out / "run.json").read_text())
    assert run["command"] == "scan" and run["scan_config"]["window"] == 60
    assert run["scan_config"]["step"] == 15
    n_row = next(c for c in run["chromosomes"] if c["chrom"] == "chrN")
    assert n_row["windows"] == 0 and n_row["skipped_n"] > 0

    plus = tmp_path / "plus"
    result = invoke("scan", genome, "--model", sharp_model, "--out", plus, "--device", "cpu",
                    "--strand", "+", "--chrom", "chr2", "--threshold", f"{threshold:.6f}")
    assert result.exit_code == 0, result.output
    assert not any(r[5] == "-" for r in read_bed(plus / "promoters.bed"))
    assert {r[0] for r in read_bedgraph(plus / "scores.bedGraph")} == {"chr2"}


def test_bgzip_genome_gives_the_same_output(trained_run, tmp_path):
    from Bio import bgzf

    rng = np.random.default_rng(6)
    chroms = {"x": random_dna(rng, 900), "y": random_dna(rng, 300)}
    plain = write_genome(tmp_path / "g.fa", chroms)
    packed = tmp_path / "g.fa.gz"
    with bgzf.BgzfWriter(packed, "wb") as handle:
        handle.write(plain.read_bytes())
    texts = []
    for genome, out in ((plain, tmp_path / "a"), (packed, tmp_path / "b")):
        result = invoke("scan", genome, "--model", trained_run / "model.pt", "--out", out,
                        "--device", "cpu", "--window", "100", "--step", "30")
        assert result.exit_code == 0, result.output
        texts.append((out / "scores.bedGraph").read_text())
    assert texts[0] == texts[1] and texts[0].count("\n") > 20


def test_bad_input_is_refused_without_outputs(trained_run, tmp_path):
    model = trained_run / "model.pt"
    rng = np.random.default_rng(7)
    seq = random_dna(rng, 400)
    bad = write_genome(tmp_path / "bad.fa", {"ok": seq, "chrB": seq[:250] + "Z" + seq[251:]})
    out = tmp_path / "out"
    result = invoke("scan", bad, "--model", model, "--out", out, "--device", "cpu")
    assert_clean_error(result, "chromosome 'chrB'", "invalid DNA letter 'Z' at position 251")
    assert not out.exists()
    good = write_genome(tmp_path / "good.fa", {"chr1": seq})
    assert_clean_error(invoke("scan", good, "--model", model, "--out", out, "--chrom", "chr9",
                              "--device", "cpu"), "chromosome 'chr9' is not in the genome")
    assert not out.exists()
    assert_clean_error(invoke("scan", good, "--model", model, "--out", out, "--step", "100",
                              "--window", "50"), "--step 100")
    assert_clean_error(invoke("scan", good, "--model", model, "--out", out, "--strand", "x"),
                       "--strand x")
    assert_clean_error(invoke("scan", good, "--model", model, "--out", out, "--window", "5"),
                       "--window 5")
    assert_clean_error(invoke("scan", good, "--model", model, "--out", out, "--class", "tss"),
                       "--class tss")
    assert_clean_error(invoke("scan", good, "--model", tmp_path / "none.pt", "--out", out),
                       "none.pt")
    text = tmp_path / "notes.txt"
    text.write_text("hello\n")
    assert_clean_error(invoke("scan", text, "--model", model, "--out", out), "not a FASTA")
    import gzip

    gz = tmp_path / "plain.fa.gz"
    gz.write_bytes(gzip.compress(good.read_bytes()))
    assert_clean_error(invoke("scan", gz, "--model", model, "--out", out), "bgzip")
    assert not out.exists()
    ok = invoke("scan", good, "--model", model, "--out", out, "--device", "cpu")
    assert ok.exit_code == 0, ok.output
    assert_clean_error(invoke("scan", good, "--model", model, "--out", out, "--device", "cpu"),
                       "--force")
    again = invoke("scan", good, "--model", model, "--out", out, "--device", "cpu", "--force")
    assert again.exit_code == 0, again.output


def test_config_checks():
    with pytest.raises(InputError, match="threshold"):
        ScanConfig(window=60, step=15, threshold=1.5)
    with pytest.raises(InputError, match="step"):
        ScanConfig(window=60, step=0)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_amp_scan_matches_cpu(trained_run):
    cuda = torch.device("cuda")
    model, _ = load_model(trained_run / "model.pt")
    seq = random_dna(np.random.default_rng(8), 2000)
    config = ScanConfig(window=60, step=15)

    def run(dev: torch.device, amp: bool) -> np.ndarray:
        m = model.to(dev)
        cfg = ScanConfig(window=config.window, step=config.step, amp=amp)
        return np.concatenate([c.probs for c in scan_chromosome(
            m, lambda a, b: seq[a:b], name="c", length=len(seq), config=cfg, device=dev)],
            axis=1)

    cpu = run(CPU, False)
    np.testing.assert_allclose(run(cuda, False), cpu, atol=1e-4)
    np.testing.assert_allclose(run(cuda, True), cpu, atol=3e-2)


def test_an_ensemble_scans_with_the_mean_of_its_members(trained_run, tmp_path):
    from mhsa_bio.checkpoint import read_checkpoint, save_checkpoint

    ckpt = read_checkpoint(trained_run / "model.pt")
    torch.manual_seed(0)
    other = {k: v + 0.2 * torch.randn_like(v) if v.is_floating_point() else v
             for k, v in ckpt["state_dict"].items()}
    save_checkpoint({**ckpt, "members": [other]}, tmp_path / "ens.pt")
    save_checkpoint({**ckpt, "state_dict": other}, tmp_path / "second.pt")
    genome = write_genome(tmp_path / "g.fa", {"x": random_dna(np.random.default_rng(8), 400)})
    scores = {}
    for name, model in (("ens", tmp_path / "ens.pt"), ("a", trained_run / "model.pt"),
                        ("b", tmp_path / "second.pt")):
        result = invoke("scan", genome, "--model", model, "--out", tmp_path / name, "--strand", "+",
                        "--device", "cpu", "--window", "100", "--step", "50")
        assert result.exit_code == 0, result.output
        scores[name] = np.array([v for *_, v in read_bedgraph(tmp_path / name / "scores.bedGraph")])
    assert not np.allclose(scores["a"], scores["b"], atol=1e-3)
    np.testing.assert_allclose(scores["ens"], (scores["a"] + scores["b"]) / 2, atol=2e-5)
