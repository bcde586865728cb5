"""Tests for the simulated promoter sets and ``mhsa-bio simulate``."""

from __future__ import annotations

import csv
import json
import shlex
from pathlib import Path

import numpy as np
import pytest
from conftest import invoke

from mhsa_bio.alphabet import reverse_complement
from mhsa_bio.errors import InputError
from mhsa_bio.io.fasta import read_fasta
from mhsa_bio.simulate import PWM, load_jaspar_motifs, simulate, sites_table

REPO = Path(__file__).resolve().parents[1]


def toy_pwm(consensus: str, motif_id: str, strength: float = 0.97) -> PWM:
    probs = np.full((len(consensus), 4), (1 - strength) / 3)
    for i, base in enumerate(consensus):
        probs[i, "ACGT".index(base)] = strength
    return PWM(motif_id, motif_id.lower(), probs)


def log_odds(pwm: PWM, site: str, gc: float = 0.42) -> float:
    bg = np.array([(1 - gc) / 2, gc / 2, gc / 2, (1 - gc) / 2])
    probs = (pwm.probs + 0.01) / (1 + 0.04)
    idx = ["ACGT".index(c) for c in site]
    return float(np.sum(np.log2(probs[np.arange(len(site)), idx] / bg[idx])))


@pytest.fixture(scope="module")
def jaspar() -> list[PWM]:
    return load_jaspar_motifs(["MA0035.4", "MA0091.1"])


def test_load_jaspar_motifs(jaspar: list[PWM]) -> None:
    gata, tal = jaspar
    assert (gata.id, gata.name, gata.probs.shape) == ("MA0035.4", "GATA1", (11, 4))
    assert (tal.id, tal.name) == ("MA0091.1", "TAL1::TCF3")
    assert np.allclose(gata.probs.sum(axis=1), 1)


def test_unknown_motif_and_release() -> None:
    with pytest.raises(InputError, match=r"unknown JASPAR motif id 'MA9999.9' in JASPAR2024"):
        load_jaspar_motifs(["MA0035.4", "MA9999.9"])
    with pytest.raises(InputError, match=r"unknown release 'JASPAR1999'"):
        load_jaspar_motifs(["MA0035.4"], release="1999")


def test_planted_sites_are_where_truth_says(jaspar: list[PWM]) -> None:
    result = simulate(jaspar, n=300, length=120, seed=1)
    seqs = {r.id: r.seq for r in result.positives}
    by_id = {p.id: p for p in jaspar}
    assert len(result.positives) == len(result.negatives) == 300
    assert all(len(s) == 120 and set(s) <= set("ACGT") for s in seqs.values())
    scores, reverse_scores = [], []
    for site in result.truth:
        assert seqs[site.sequence][site.start : site.end] == site.site
        pwm = by_id[site.motif_id]
        assert site.end - site.start == len(pwm.probs)
        as_motif = site.site if site.strand == "+" else reverse_complement(site.site)
        scores.append(log_odds(pwm, as_motif))
        reverse_scores.append(log_odds(pwm, reverse_complement(as_motif)))
    # Sampled sites are plausible hits: high log-odds on their own strand, far above random windows.
    rng = np.random.default_rng(0)
    gata = by_id["MA0035.4"]
    random_windows = ["".join(rng.choice(list("ACGT"), 11)) for _ in range(500)]
    random_scores = [log_odds(gata, w) for w in random_windows]
    assert np.mean(np.array(scores) > 0) > 0.95
    assert np.mean(scores) > np.mean(random_scores) + 8
    assert np.mean(scores) > np.mean(reverse_scores) + 4
    # Every positive has at least one site; sites in one sequence never overlap.
    per_seq: dict[str, list[tuple[int, int]]] = {}
    for site in result.truth:
        per_seq.setdefault(site.sequence, []).append((site.start, site.end))
    assert set(per_seq) == set(seqs)
    for spans in per_seq.values():
        spans.sort()
        assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False))
    # Both strands, both motifs, p_site = 0.8 -> about 1.6 / (1 - 0.04) sites per positive.
    strands = {s.strand for s in result.truth}
    assert strands == {"+", "-"}
    assert 1.5 < len(result.truth) / 300 < 1.85


def test_negatives_are_background_of_the_right_gc(jaspar: list[PWM]) -> None:
    result = simulate(jaspar, n=200, length=300, gc=0.6, seed=2, n_negatives=150)
    assert len(result.negatives) == 150
    assert all(site.sequence.startswith("pos_") for site in result.truth)
    joined = "".join(r.seq for r in result.negatives)
    gc = (joined.count("G") + joined.count("C")) / len(joined)
    assert abs(gc - 0.6) < 0.01


def test_fixed_positions() -> None:
    motifs = [toy_pwm("ACGTACGT", "M1"), toy_pwm("TTTTGGGG", "M2")]
    result = simulate(motifs, n=50, length=60, positions="center,5", p_site=1.0, seed=3)
    starts = {(s.motif_id, s.start) for s in result.truth}
    assert starts == {("M1", 26), ("M2", 5)}
    result = simulate(motifs[:1], n=20, length=60, positions="center", seed=3)
    assert {s.start for s in result.truth} == {26}


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"positions": "middle"}, r"--positions: 'middle' is not random, center"),
        ({"positions": "55"}, r"--positions: start 55 of M1 \(8 bp\) does not fit in 60 bp"),
        ({"positions": "1,2,3"}, r"--positions: 3 values for 2 motifs"),
        ({"positions": "10,12"}, r"--positions: the fixed sites of M1 and M2 overlap"),
        ({"gc": 1.2}, r"--gc"),
        ({"p_site": 0.0}, r"--p-site"),
        ({"n": 0}, r"--n"),
        ({"length": 10}, r"--length: 10 bp is shorter than the motifs"),
    ],
)
def test_bad_options(kwargs: dict, pattern: str) -> None:
    motifs = [toy_pwm("ACGTACGT", "M1"), toy_pwm("TTTTGGGG", "M2")]
    options = {"n": 5, "length": 60, **kwargs}
    with pytest.raises(InputError, match=pattern):
        simulate(motifs, **options)


def test_deterministic_from_seed(jaspar: list[PWM]) -> None:
    a = simulate(jaspar, n=40, length=100, seed=7)
    b = simulate(jaspar, n=40, length=100, seed=7)
    c = simulate(jaspar, n=40, length=100, seed=8)
    assert a == b
    assert a.positives != c.positives


@pytest.mark.parametrize("orientation", ["++", "+-", "-+", "--"])
def test_pair_spacing_and_orientation(orientation: str) -> None:
    a, b = toy_pwm("AACCGGTT", "MA"), toy_pwm("GATTACAGA", "MB")
    result = simulate([], pair=(a, b), spacing=9, orientation=orientation, n=100, length=80, seed=4)
    seqs = {r.id: r.seq for r in result.positives + result.negatives}
    for site in result.truth:
        assert seqs[site.sequence][site.start : site.end] == site.site
    pos = [s for s in result.truth if s.sequence.startswith("pos_")]
    neg = [s for s in result.truth if s.sequence.startswith("neg_")]
    assert len(pos) == 200 and len(neg) == 200
    flip = {"+": "-", "-": "+"}
    for first, second in zip(pos[::2], pos[1::2], strict=True):
        assert first.sequence == second.sequence
        assert (first.motif_id, second.motif_id) == ("MA", "MB")
        assert second.start - first.end == 9
        assert first.strand + second.strand == orientation
    spacings = set()
    for first, second in zip(neg[::2], neg[1::2], strict=True):
        assert first.sequence == second.sequence
        site_a, site_b = (first, second) if first.motif_id == "MA" else (second, first)
        forward = site_b.start - site_a.end == 9 and site_a.strand + site_b.strand == orientation
        rc = (
            site_a.start - site_b.end == 9
            and site_b.strand == flip[orientation[1]]
            and site_a.strand == flip[orientation[0]]
        )
        assert not forward and not rc
        spacings.add(site_b.start - site_a.end)
    assert len(spacings) > 20  # negatives really vary the spacing


@pytest.mark.parametrize("orientation", ["++", "-+"])
def test_pair_negatives_differ_from_positives_only_in_spacing(orientation: str) -> None:
    a, b = toy_pwm("AACCGGTT", "MA"), toy_pwm("GATTACAGA", "MB")
    result = simulate([], pair=(a, b), spacing=9, orientation=orientation,
                      pair_negatives="spacing", n=150, length=80, seed=5)
    seqs = {r.id: r.seq for r in result.positives + result.negatives}
    neg = [s for s in result.truth if s.sequence.startswith("neg_")]
    assert len(neg) == 300
    gaps = set()
    for first, second in zip(neg[::2], neg[1::2], strict=True):
        assert seqs[first.sequence][first.start : first.end] == first.site
        assert first.sequence == second.sequence
        assert (first.motif_id, second.motif_id) == ("MA", "MB")  # A upstream of B
        assert first.strand + second.strand == orientation  # the positives' strands
        gap = second.start - first.end
        assert gap >= 0 and gap != 9
        gaps.add(gap)
    assert len(gaps) > 20
    with pytest.raises(InputError, match="--pair-negatives"):
        simulate([], pair=(a, b), pair_negatives="same")


def test_pair_bad_options() -> None:
    a, b = toy_pwm("AACCGGTT", "MA"), toy_pwm("GATTACAGA", "MB")
    with pytest.raises(InputError, match="--orientation"):
        simulate([], pair=(a, b), orientation="+")
    with pytest.raises(InputError, match="--spacing"):
        simulate([], pair=(a, b), spacing=-1)
    with pytest.raises(InputError, match=r"--length: 20 bp is shorter than the pair"):
        simulate([], pair=(a, b), length=20)
    with pytest.raises(InputError, match="--positions"):
        simulate([], pair=(a, b), positions="center")


def test_sites_table() -> None:
    result = simulate([toy_pwm("ACGT", "M1")], n=2, length=10, p_site=1.0, seed=0)
    lines = sites_table(result.truth).splitlines()
    assert lines[0] == "sequence\tmotif_id\tmotif_name\tstart\tend\tstrand\tsite"
    assert len(lines) == 3 and lines[1].startswith("pos_0000\tM1\tm1\t")


def _read_truth(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def test_cli_writes_the_files(tmp_path: Path) -> None:
    out = tmp_path / "sim"
    result = invoke("simulate", "--out", str(out), "--n", "30", "--length", "80", "--seed", "5")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == [
        "background.fa",
        "promoters.fa",
        "run.json",
        "truth.tsv",
    ]
    positives = read_fasta(out / "promoters.fa")
    negatives = read_fasta(out / "background.fa")
    assert len(positives) == len(negatives) == 30
    seqs = {r.id: r.seq for r in positives}
    truth = _read_truth(out / "truth.tsv")
    assert {row["motif_id"] for row in truth} == {"MA0035.5", "MA0091.2"}
    for row in truth:
        assert seqs[row["sequence"]][int(row["start"]) : int(row["end"])] == row["site"]
    run = json.loads((out / "run.json").read_text())
    assert run["command"] == "simulate" and run["params"]["seed"] == 5
    # The same seed again gives the same files; an existing folder needs --force.
    again = invoke("simulate", "--out", str(out), "--n", "30", "--length", "80", "--seed", "5")
    assert again.exit_code != 0 and "--force" in again.output
    other = tmp_path / "sim2"
    invoke("simulate", "--out", str(other), "--n", "30", "--length", "80", "--seed", "5")
    for name in ("promoters.fa", "background.fa", "truth.tsv"):
        assert (out / name).read_bytes() == (other / name).read_bytes()


def test_cli_pair(tmp_path: Path) -> None:
    out = tmp_path / "pair"
    result = invoke(
        "simulate",
        "--out",
        str(out),
        "--n",
        "20",
        "--length",
        "100",
        "--pair",
        "MA0035.4,MA0091.1",
        "--spacing",
        "5",
        "--orientation",
        "+-",
    )
    assert result.exit_code == 0, result.output
    truth = [r for r in _read_truth(out / "truth.tsv") if r["sequence"].startswith("pos_")]
    for a, b in zip(truth[::2], truth[1::2], strict=True):
        assert int(b["start"]) - int(a["end"]) == 5
        assert (a["strand"], b["strand"]) == ("+", "-")


@pytest.mark.parametrize(
    ("args", "pattern"),
    [
        (["--motifs", "MA0035.4,NOPE1"], "unknown JASPAR motif id 'NOPE1'"),
        (["--pair", "MA0035.4"], "--pair: 'MA0035.4' is not two motif ids"),
        (["--pair", "MA0035.4,MA0091.1", "--motifs", "MA0035.4"], "--pair replaces --motifs"),
        (["--positions", "elsewhere"], "--positions: 'elsewhere'"),
        (["--gc", "0"], "--gc"),
        (["--jaspar-release", "1901"], "unknown release"),
    ],
)
def test_cli_bad_inputs(tmp_path: Path, args: list[str], pattern: str) -> None:
    out = tmp_path / "bad"
    result = invoke("simulate", "--out", str(out), "--n", "5", *args)
    assert result.exit_code == 2
    assert pattern in result.output
    assert "Traceback" not in result.output
    assert not out.exists()  # nothing written


def test_example_data_regenerates_byte_for_byte(tmp_path: Path) -> None:
    script = (REPO / "data" / "make_example.sh").read_text()
    line = next(x for x in script.splitlines() if x.startswith("mhsa-bio simulate"))
    args = shlex.split(line)[1:]
    args[args.index("--out") + 1] = str(tmp_path / "example")
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    for name in ("promoters.fa", "background.fa", "truth.tsv"):
        shipped = REPO / "data" / "example" / name
        assert (tmp_path / "example" / name).read_bytes() == shipped.read_bytes(), name
    assert sum(p.stat().st_size for p in (REPO / "data" / "example").iterdir()) < 300_000
