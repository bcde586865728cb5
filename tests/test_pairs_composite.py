"""Composite motifs (two sites at a fixed spacing found as one matrix) split into two parts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import invoke
from pairs_fixtures import CONSENSUS, meme_text, onehot_motif, pair_sets

from mhsa_bio.io.meme import MemeMotif
from mhsa_bio.pairs.composite import split_motifs, split_point

UNIFORM = np.full(4, 0.25)


def _composite(left: str, gap: int, right: str, *, flank: int = 0, purity: float = 0.94) -> np.ndarray:
    """``flank`` uniform columns, ``left``, ``gap`` uniform columns, ``right``, ``flank``."""
    parts = [onehot_motif("x", "x", s, purity=purity).probs for s in (left, right)]
    pad = np.full((gap, 4), 0.25)
    edge = np.full((flank, 4), 0.25)
    return np.vstack([edge, parts[0], pad, parts[1], edge])


def test_composite_splits_at_its_gap_and_drops_flanks() -> None:
    a, b = CONSENSUS["MA"], CONSENSUS["MB"]  # 8 bp each
    assert split_point(_composite(a, 3, b), min_gap=2) == ((0, 8), (11, 19))
    assert split_point(_composite(a, 3, b, flank=2), min_gap=2) == ((2, 10), (13, 21))
    assert split_point(_composite(a, 3, b), min_gap=4) is None  # the gap is shorter
    # The longest gap that leaves two parts of >= 5 columns: not the 1-column dip in a part.
    m = _composite(a, 2, b)
    m[3] = 0.25  # a 1-column dip inside the left part
    assert split_point(m, min_gap=1) == ((0, 8), (10, 18))


def test_plain_and_short_motifs_are_not_split() -> None:
    plain = onehot_motif("x", "x", "TTGACAGTTATAATGC").probs  # 16 informative columns
    assert split_point(plain, min_gap=2) is None
    dip = plain.copy()
    dip[8] = 0.25  # one weak column is not a gap at min_gap 2
    assert split_point(dip, min_gap=2) is None
    assert split_point(_composite("TTGA", 3, "TATAATGC"), min_gap=2) is None  # a 4-column part
    assert split_point(onehot_motif("x", "x", "GATATC").probs, min_gap=1) is None


def test_split_motifs_replaces_the_whole_by_named_parts_in_place() -> None:
    a, b = CONSENSUS["MA"], CONSENSUS["MB"]
    motifs = [
        onehot_motif("M1", "first", "GGGCCCAT"),
        MemeMotif("M2", "", _composite(a, 3, b), 50, 1e-5),
        onehot_motif("M3", "third", "CATGCAAT"),
    ]
    out, splits = split_motifs(motifs, min_gap=2, background=UNIFORM, pvalue=1e-4)
    assert [m.id for m in out] == ["M1", "M2.a", "M2.b", "M3"]
    assert [m.name for m in out[1:3]] == ["M2[1-8]", "M2[12-19]"]  # 1-based columns of the whole
    np.testing.assert_allclose(out[1].probs, motifs[1].probs[:8])
    np.testing.assert_allclose(out[2].probs, motifs[1].probs[11:])
    assert out[1].nsites == 50
    assert len(splits) == 1 and splits[0].parts == ("M2.a", "M2.b") and splits[0].gap == 3
    assert split_motifs(motifs, min_gap=0, background=UNIFORM, pvalue=1e-4) == (motifs, [])


def test_palindromes_and_weak_parts_stay_whole() -> None:
    # An ERE-like inverted repeat: AGGTCA nnn TGACCT; its halves are one half-site twice.
    ere = MemeMotif("ERE", "ESR1-like", _composite("AGGTCAT", 3, "ATGACCT"), 20)
    assert split_point(ere.probs, min_gap=2) is not None  # the gap is there ...
    out, splits = split_motifs([ere], min_gap=2, background=UNIFORM, pvalue=1e-4)
    assert splits == [] and [m.id for m in out] == ["ERE"]  # ... but it is not a composite
    # Two unlike 5 bp parts: their best words (p = 4^-5) cannot reach p 1e-4, but can reach 1e-3.
    short = MemeMotif("S", "", _composite("TTGAC", 3, "CATGC"), 20)
    assert split_motifs([short], min_gap=2, background=UNIFORM, pvalue=1e-4)[1] == []
    assert len(split_motifs([short], min_gap=2, background=UNIFORM, pvalue=1e-3)[1]) == 1


def test_jaspar_single_tf_motifs_and_rest() -> None:
    path = Path(__file__).resolve().parents[1].parent / "shared/data/motifs"
    path = path / "JASPAR2024_CORE_vertebrates_latest.meme"
    if not path.exists():
        pytest.skip("../shared/data is not here")
    from mhsa_bio.io.meme import read_meme

    jaspar = {m.id: m for m in read_meme(path)}
    keep = [jaspar[i] for i in ("MA0139.2", "MA0035.5", "MA0112.4", "MA0099.4", "MA0047.4")]
    # CTCF, GATA1, ESR1 (a palindrome with a 3 bp spacer), FOS::JUN, FOXA2: kept whole.
    assert split_motifs(keep, min_gap=2, background=UNIFORM, pvalue=1e-4)[1] == []
    # REST/NRSF: two unlike halves with two weak columns between them.
    _, splits = split_motifs([jaspar["MA0138.3"]], min_gap=2, background=UNIFORM, pvalue=1e-4)
    assert [s.columns for s in splits] == [((0, 8), (10, 20))]


@pytest.fixture()
def composite_run(tmp_path: Path) -> dict[str, Path]:
    """A planted pair MA, 3 bp, MB in every positive and an untrained model; the motif file
    holds the pair as one composite matrix."""
    torch = pytest.importorskip("torch")
    from mhsa_bio.checkpoint import make_checkpoint, save_checkpoint
    from mhsa_bio.models.promoter import PromoterConfig, PromoterTransformer

    pos, neg = pair_sets(40, length=50, gap=3, seed=5)
    for name, records in (("pos.fa", pos), ("neg.fa", neg)):
        (tmp_path / name).write_text("".join(f">{r.id}\n{r.seq}\n" for r in records))
    torch.manual_seed(0)
    config = PromoterConfig(dim=16, heads=2, layers=1, stem_kernel=7, max_len=50)
    prov = {
        "inputs": {
            "fasta": {"path": str(tmp_path / "pos.fa"), "sha256": ""},
            "negatives": {"path": str(tmp_path / "neg.fa"), "sha256": ""},
        }
    }
    ckpt = make_checkpoint(
        PromoterTransformer(config),
        model_type="promoter",
        config=config.to_dict(),
        alphabet="ACGTN",
        classes=["background", "promoter"],
        provenance=prov,
        metrics={},
    )
    save_checkpoint(ckpt, tmp_path / "model.pt")
    composite = MemeMotif("M1", "MA-3-MB", _composite(CONSENSUS["MA"], 3, CONSENSUS["MB"]), 20)
    (tmp_path / "composite.meme").write_text(meme_text([composite]))
    return {"model": tmp_path / "model.pt", "motifs": tmp_path / "composite.meme", "tmp": tmp_path}


def _pairs(inp: dict[str, Path], out: Path, *extra: str):  # type: ignore[no-untyped-def]
    return invoke(
        "pairs", "--model", inp["model"], "--motifs", inp["motifs"], "--out", out, "--device", "cpu",
        "--null-copies", "2", "--min-sequences", "3", *extra,
    )  # fmt: skip


def test_cli_tests_the_parts_of_a_composite_motif(composite_run: dict[str, Path]) -> None:
    out = composite_run["tmp"] / "on"
    result = _pairs(composite_run, out)
    assert result.exit_code == 0, result.output
    assert "split composite motif MA-3-MB" in result.output
    rows = [r.split("\t") for r in (out / "pairs.tsv").read_text().splitlines()[1:]]
    # MA (centre 3.5) and MB 8 + 3 bp further: the planted spacing 11, both on +.
    assert rows[0][:6] == ["M1.a", "MA-3-MB[1-8]", "M1.b", "MA-3-MB[12-19]", "11", "++"]
    assert int(rows[0][6]) >= 35  # nearly every positive holds it
    summary = json.loads((out / "summary.json").read_text())
    assert summary["split_composites"] == [
        {"motif": "M1", "name": "MA-3-MB", "parts": ["M1.a", "M1.b"], "columns": ["1-8", "12-19"], "gap": 3}
    ]
    run = json.loads((out / "run.json").read_text())
    assert run["params"]["split_composites"] is True and run["params"]["split_gap"] == 2
    assert run["summary"]["split_composites"][0]["motif"] == "M1"
    from mhsa_bio.io.meme import read_meme

    assert [m.id for m in read_meme(out / "parts.meme")] == ["M1.a", "M1.b"]
    import pandas as pd

    from mhsa_bio.pairs.report import pairs_section

    section = pairs_section(pd.DataFrame(), summary, [], pairs_dir=".")
    assert "split into its parts M1.a and M1.b (columns 1-8 and 12-19" in section
    sites = {r.split("\t")[1] for r in (out / "sites.tsv").read_text().splitlines()[1:]}
    assert sites == {"M1.a", "M1.b"}  # the whole is scanned no more

    off = composite_run["tmp"] / "off"
    result = _pairs(composite_run, off, "--no-split-composites")
    assert result.exit_code == 0, result.output
    assert (off / "pairs.tsv").read_text().splitlines()[1:] == []  # one site per sequence: no pair
    assert not (off / "parts.meme").exists()
    assert json.loads((off / "summary.json").read_text())["split_composites"] == []
    # A gap shorter than --split-gap: not split either.
    result = _pairs(composite_run, composite_run["tmp"] / "gap4", "--split-gap", "4")
    assert result.exit_code == 0 and not (composite_run["tmp"] / "gap4" / "parts.meme").exists()
