"""``mhsa-bio pairs`` through the CLI: outputs, run.json, refusals and bad inputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import invoke
from pairs_fixtures import meme_text, motifs, pair_sets


def _fasta(path: Path, records) -> Path:  # type: ignore[no-untyped-def]
    path.write_text("".join(f">{r.id}\n{r.seq}\n" for r in records))
    return path


@pytest.fixture()
def run_inputs(tmp_path: Path) -> dict[str, Path]:
    torch = pytest.importorskip("torch")
    from mhsa_bio.checkpoint import make_checkpoint, save_checkpoint
    from mhsa_bio.models.promoter import PromoterConfig, PromoterTransformer

    pos, neg = pair_sets(40, length=50, seed=3)
    fasta = _fasta(tmp_path / "pos.fa", pos)
    negatives = _fasta(tmp_path / "neg.fa", neg)
    torch.manual_seed(0)
    config = PromoterConfig(dim=16, heads=2, layers=1, stem_kernel=7, max_len=50)
    model = PromoterTransformer(config)
    prov = {"inputs": {"fasta": {"path": str(fasta), "sha256": ""},
                       "negatives": {"path": str(negatives), "sha256": ""}}}
    ckpt = make_checkpoint(model, model_type="promoter", config=config.to_dict(),
                           alphabet="ACGTN", classes=["background", "promoter"],
                           provenance=prov, metrics={})
    save_checkpoint(ckpt, tmp_path / "model.pt")
    motif_dir = tmp_path / "motifs"
    motif_dir.mkdir()
    (motif_dir / "motifs.meme").write_text(meme_text(motifs()))
    return {"model": tmp_path / "model.pt", "motifs": motif_dir, "fasta": fasta,
            "neg": negatives, "tmp": tmp_path}


def _args(inp: dict[str, Path], out: Path, *extra: str) -> list[str]:
    return ["pairs", "--model", str(inp["model"]), "--motifs", str(inp["motifs"]), "--out",
            str(out), "--device", "cpu", "--null-copies", "2", "--min-sequences", "3", *extra]


def test_cli_writes_outputs_and_refuses_existing_folder(run_inputs: dict[str, Path]) -> None:
    out = run_inputs["tmp"] / "pairs"
    result = invoke(*_args(run_inputs, out))
    assert result.exit_code == 0, result.output
    header = (out / "pairs.tsv").read_text().splitlines()[0].split("\t")
    from mhsa_bio.pairs import COLUMNS

    assert header == COLUMNS
    rows = (out / "pairs.tsv").read_text().splitlines()[1:]
    assert rows and rows[0].split("\t")[1] == "MA" and rows[0].split("\t")[3] == "MB"
    sites = (out / "sites.tsv").read_text().splitlines()
    assert len(sites) == 1 + 80  # two sites in each of 40 sequences
    run = json.loads((out / "run.json").read_text())
    assert run["command"] == "pairs" and run["params"]["pvalue"] == 1e-4
    assert run["background"] == str(run_inputs["neg"])  # the checkpoint's negatives
    assert "versions" in run and run["plots"]
    assert all((out / name).is_file() for name in run["plots"])
    again = invoke(*_args(run_inputs, out))
    assert again.exit_code != 0 and "--force" in again.output
    forced = invoke(*_args(run_inputs, out, "--force", "--strand-symmetric"))
    assert forced.exit_code == 0, forced.output
    assert {r.split("\t")[5] for r in (out / "pairs.tsv").read_text().splitlines()[1:]} <= \
        {"++", "+-"}


def test_cli_same_seed_same_table(run_inputs: dict[str, Path]) -> None:
    a, b = run_inputs["tmp"] / "a", run_inputs["tmp"] / "b"
    assert invoke(*_args(run_inputs, a, "--seed", "4")).exit_code == 0
    assert invoke(*_args(run_inputs, b, "--seed", "4")).exit_code == 0
    assert (a / "pairs.tsv").read_text() == (b / "pairs.tsv").read_text()


@pytest.mark.parametrize("problem", ["no_meme", "bad_meme", "bad_model", "bad_fasta",
                                     "bad_pvalue", "bad_null", "missing_training_fasta"])
def test_cli_bad_inputs_fail_cleanly(run_inputs: dict[str, Path], problem: str) -> None:
    tmp = run_inputs["tmp"]
    out = tmp / "out"
    args = _args(run_inputs, out)
    if problem == "no_meme":
        args[args.index("--motifs") + 1] = str(tmp / "nothing.meme")
        expect = "no such MEME file"
    elif problem == "bad_meme":
        (tmp / "bad.meme").write_text("MEME version 4\nMOTIF X\nletter-probability matrix: w= 2\n"
                                      "0.25 0.25 0.25 0.25\n")
        args[args.index("--motifs") + 1] = str(tmp / "bad.meme")
        expect = "header says"
    elif problem == "bad_model":
        (tmp / "junk.pt").write_bytes(b"not a checkpoint")
        args[args.index("--model") + 1] = str(tmp / "junk.pt")
        expect = "not a readable mhsa-bio checkpoint"
    elif problem == "bad_fasta":
        (tmp / "bad.fa").write_text(">s1\nACGTQ\n")
        args += ["--sequences", str(tmp / "bad.fa")]
        expect = "invalid DNA letter"
    elif problem == "bad_pvalue":
        args += ["--pvalue", "2"]
        expect = "--pvalue"
    elif problem == "bad_null":
        args += ["--null-background", "random"]
        expect = "expected shuffled or kept"
    else:
        run_inputs["fasta"].unlink()
        expect = "give --sequences"
    result = invoke(*args)
    assert result.exit_code != 0
    assert expect in " ".join(result.output.split())
    assert "Traceback" not in result.output
    assert not out.exists()


def test_cli_adds_a_pairs_section_to_the_motifs_report(run_inputs: dict[str, Path]) -> None:
    from mhsa_bio.pairs.report import MARK_END, MARK_START

    report = run_inputs["motifs"] / "report.html"
    page = "<!doctype html><html><body><h1>motifs</h1><p>logos</p></body></html>\n"
    report.write_text(page)
    out = run_inputs["tmp"] / "pairs"
    for extra in ((), ("--force", "--top-plots", "1")):  # the re-run replaces the section
        result = invoke(*_args(run_inputs, out, *extra))
        assert result.exit_code == 0, result.output
        text = report.read_text()
        assert text.count(MARK_START) == text.count(MARK_END) == 1
        before, section = text.split(MARK_START)
        assert before == page.split("</body>")[0]  # the motifs page is kept as it was
        section, after = section.split(MARK_END)
        assert after == "\n</body></html>\n"
        assert "Co-attended motif pairs" in section and "<td>MA</td><td>MB</td>" in section
        assert section.count("data:image/png;base64,") == len(
            json.loads((out / "run.json").read_text())["plots"])
    assert section.count("data:image/png;base64,") == 1
    assert json.loads((out / "run.json").read_text())["motifs_report"] == str(report)
    # A MEME file (no motifs folder) touches no report.
    args = _args(run_inputs, run_inputs["tmp"] / "p2")
    args[args.index("--motifs") + 1] = str(run_inputs["motifs"] / "motifs.meme")
    before_run = report.read_text()
    assert invoke(*args).exit_code == 0
    assert report.read_text() == before_run
