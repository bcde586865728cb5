"""PSICOV-layout families (one aligned sequence a line, query first; a PDB whose one chain has a
blank id, residues numbered from 1): the ``contacts`` command on them, and the benchmark's folder."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from conftest import assert_clean_error, invoke
from contacts_fixtures import line_pdb, one_thread, planted_msa  # noqa: F401 (autouse fixture)

from mhsa_bio.contacts.writers import read_tsv

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import contacts as bench  # noqa: E402

LENGTH = 40
PAIRS = ((1, 30), (5, 33))  # long range (separation >= 24)


def _psicov_family(folder: Path, stem: str, *, n: int = 300) -> tuple[Path, Path]:
    """``<stem>0.aln`` and ``<stem>.pdb`` as PSICOV ships them: bare rows with gaps, query first
    and gap-free; a chain-less (blank id) PDB of the query with the planted pairs in contact."""
    seqs = planted_msa(n=n, length=LENGTH, pairs=PAIRS)
    rows = [seqs[0]] + [s[:k % 7] + "-" * 3 + s[k % 7 + 3 :] for k, s in enumerate(seqs[1:], start=1)]
    folder.mkdir(parents=True, exist_ok=True)
    aln = folder / f"{stem}0.aln"
    aln.write_text("".join(r + "\n" for r in rows))
    pdb = line_pdb(folder / f"{stem}.pdb", seqs[0], PAIRS, chains=" ")
    return aln, pdb


FIT = ("--model-type", "potts", "--steps", "30", "--device", "cpu", "--seed", "1")


@pytest.mark.parametrize("chain", [None, "A"])
def test_contacts_on_a_psicov_aln_and_a_chainless_pdb(tmp_path, chain):
    aln, pdb = _psicov_family(tmp_path / "data", "fam")
    out = tmp_path / "out"
    args = ["contacts", aln, "--pdb", pdb, "--out", out, *FIT]
    result = invoke(*args, *(["--chain", chain] if chain else []))
    assert result.exit_code == 0, result.output
    run = json.loads((out / "run.json").read_text())
    assert run["result"]["msa_format"] == "aln"
    assert run["result"]["n_sequences"] == 300 and run["result"]["length"] == LENGTH
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["chain"] == " " and metrics["mapped_residues"] == LENGTH
    assert metrics["identity_to_query"] == 1.0
    assert metrics["true_contacts"]["long"] == len(PAIRS)
    # both planted pairs ranked first; L/5 = 8 long-range picks hold the 2 true contacts
    assert metrics["precision"]["long"]["P@L/5"] == pytest.approx(2 / 8)
    top = {(r[0], r[1]) for r in read_tsv(out / "contacts.tsv")[:2]}
    assert top == {(i + 1, j + 1) for i, j in PAIRS}


def test_psicov_user_errors_are_one_line(tmp_path):
    aln, pdb = _psicov_family(tmp_path / "data", "fam", n=20)
    rows = aln.read_text().splitlines()
    out = tmp_path / "out"

    def fails(path, *extra, needles):
        result = invoke("contacts", path, "--out", out, *FIT, *extra)
        assert_clean_error(result, *needles)
        assert not out.exists() or not any(out.iterdir())

    cut = tmp_path / "cut.aln"  # a download cut short inside the last line
    cut.write_text("\n".join(rows[:-1] + [rows[-1][:15]]) + "\n")
    fails(cut, needles=("cut.aln", "record 'row20'", "aligned length 15"))
    digit = tmp_path / "digit.aln"
    digit.write_text("\n".join(rows[:2] + ["7" + rows[2][1:]] + rows[3:]) + "\n")
    fails(digit, needles=("digit.aln", "record 'row3'", "invalid letter '7'"))
    fails(aln, "--query", "seq1", needles=("--query 'seq1'", "row1 to row20"))
    other = line_pdb(tmp_path / "other.pdb", "W" * LENGTH, (), chains=" ")
    fails(aln, "--pdb", other, needles=("other.pdb", "does not match the query"))


# ---------------------------------------------------------------- benchmarks/contacts.py


def test_psicov_families_are_fixed_in_the_sets():
    assert "1a0tP" in bench.SETS["tuning"] and "16pkA" in bench.SETS["validation"]
    assert not set(bench.SETS["tuning"]) & set(bench.SETS["validation"])


def test_benchmark_finds_psicov_files_by_flag_then_environment(tmp_path, monkeypatch):
    monkeypatch.delenv(bench.PSICOV_ENV, raising=False)
    assert bench.psicov_folder() is None
    fam, why = bench.family_files("1a0tP", None)
    assert fam is None and "--psicov" in why
    _psicov_family(tmp_path, "1a0tP", n=20)
    fam, why = bench.family_files("1a0tP", tmp_path)
    assert why is None and fam["msa"] == tmp_path / "1a0tP0.aln" and fam["pdb"] == tmp_path / "1a0tP.pdb"
    fam, why = bench.family_files("16pkA", tmp_path)  # not in the folder
    assert fam is None and "16pkA0.aln" in why
    monkeypatch.setenv(bench.PSICOV_ENV, str(tmp_path))
    assert bench.psicov_folder() == tmp_path.resolve()
    assert bench.psicov_folder(tmp_path / "x") == (tmp_path / "x").resolve()  # the flag wins


def test_benchmark_skips_a_psicov_family_without_its_folder(monkeypatch, capsys):
    monkeypatch.delenv(bench.PSICOV_ENV, raising=False)
    bench.main(["--families", "16pkA", "--methods", "potts"])
    out = capsys.readouterr().out
    assert "16pkA" in out and "skipped" in out and "--psicov" in out


def test_benchmark_runs_a_psicov_family_from_the_folder(tmp_path, monkeypatch, capsys):
    """The worker subprocess finds the family through the folder the parent was given."""
    monkeypatch.delenv(bench.PSICOV_ENV, raising=False)
    _psicov_family(tmp_path / "psicov", "1a0tP")
    table = tmp_path / "rows.json"
    bench.main(
        ["--psicov", str(tmp_path / "psicov"), "--families", "1a0tP", "--methods", "potts",
         "--threads", "1", "--json", str(table)]
    )  # fmt: skip
    rows = json.loads(table.read_text())
    assert [(r["family"], r["method"]) for r in rows] == [("1a0tP", "potts")]
    assert rows[0]["long_P@L/5"] == pytest.approx(2 / 8)


def test_the_real_psicov_families_read_and_map_fully():
    """With the PSICOV files at hand ($MHSA_BIO_PSICOV): both families read as PSICOV rows and
    their chain-less structures map onto every query residue."""
    from mhsa_bio.io.msa import read_msa
    from mhsa_bio.io.structure import query_structure

    folder = bench.psicov_folder()
    if folder is None or not folder.is_dir():
        pytest.skip(f"no PSICOV folder (set ${bench.PSICOV_ENV})")
    for family, n in (("1a0tP", 437), ("16pkA", 706)):
        fam, why = bench.family_files(family, folder)
        if fam is None:
            pytest.skip(why)
        msa = read_msa(fam["msa"])
        assert msa.format == "aln" and len(msa.seqs) == n and msa.length == 256
        st = query_structure(fam["pdb"], msa.query, chain=fam["chain"])
        assert st.chain == " " and st.n_mapped == 256 and st.identity == pytest.approx(1.0)


def test_benchmark_runs_the_default_beside_a_fit_variant(tmp_path, monkeypatch):
    """``factored`` takes ``--fit``; ``factored-default`` ignores it."""
    _psicov_family(tmp_path, "1a0tP", n=40)
    monkeypatch.setenv(bench.PSICOV_ENV, str(tmp_path))
    variant = bench._worker("1a0tP", "factored", 1, 0, "cpu", {"steps": 3, "heads": 2})
    default = bench._worker("1a0tP", "factored-default", 1, 0, "cpu", {"steps": 3, "heads": 2})
    assert variant["info"]["steps"] == 3
    assert default["info"]["steps"] > 3  # the default schedule, not --fit steps=3


def test_fit_identity_sets_the_sequence_weights(tmp_path, monkeypatch):
    """``--fit identity=X`` goes to the sequence weights, not to FitConfig (which has no such field)."""
    _psicov_family(tmp_path, "1a0tP", n=40)
    monkeypatch.setenv(bench.PSICOV_ENV, str(tmp_path))
    fit = {"steps": 2, "heads": 2}
    base = bench._worker("1a0tP", "factored", 1, 0, "cpu", fit)
    loose = bench._worker("1a0tP", "factored", 1, 0, "cpu", {**fit, "identity": 0.05})
    assert loose["info"]["neff"] < base["info"]["neff"]  # more neighbours at a lower identity
    assert fit == {"steps": 2, "heads": 2}  # the caller's settings are left as they were


def test_a_failing_peer_costs_its_row_not_the_run(tmp_path, monkeypatch, capsys):
    """A peer whose subprocess fails is skipped with a note; the other methods' rows stay."""
    import subprocess

    _psicov_family(tmp_path / "psicov", "1a0tP")
    run = bench._run

    def failing_peer(family, method, *args):
        if method == "ccmpred":
            raise subprocess.CalledProcessError(3, ["ccmpred"])
        return run(family, method, *args)

    monkeypatch.setattr(bench, "_run", failing_peer)
    monkeypatch.setattr(bench, "_available", lambda method: None)
    table = tmp_path / "rows.json"
    bench.main(
        ["--psicov", str(tmp_path / "psicov"), "--families", "1a0tP", "--methods", "ccmpred", "potts",
         "--threads", "1", "--json", str(table)]
    )  # fmt: skip
    assert [r["method"] for r in json.loads(table.read_text())] == ["potts"]
    assert "CCMpred" in capsys.readouterr().out.split("skipped: it failed (exit 3)")[0].splitlines()[-1]


def test_a_failure_of_our_own_fit_stops_the_run(tmp_path, monkeypatch):
    import subprocess

    _psicov_family(tmp_path / "psicov", "1a0tP")

    def failing(family, method, *args):
        raise subprocess.CalledProcessError(1, ["worker"])

    monkeypatch.setattr(bench, "_run", failing)
    with pytest.raises(subprocess.CalledProcessError):
        bench.main(["--psicov", str(tmp_path / "psicov"), "--families", "1a0tP", "--methods", "potts"])
