"""benchmarks/contacts_calibration.py: the logistic fit, the rule that picks its form, and the
calibration table, on synthetic families with known truth."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import contacts_calibration as cc  # noqa: E402

from mhsa_bio.contacts.readout import zscores  # noqa: E402


def _family(
    rng, *, n: int, neff_per_l: float, a: float, b: float, c: float, s: float = 0.0
) -> dict[str, np.ndarray]:
    """n pairs whose contact probability is σ(a·z + b + c·log(Neff/L) + s·short), a fifth of
    them short-range and a fifth medium-range."""
    z = rng.standard_normal(n)
    log_r = math.log(neff_per_l)
    band = rng.integers(0, 5, n)
    short, medium = (band == 0).astype(float), (band == 1).astype(float)
    p = 1.0 / (1.0 + np.exp(-(a * z + b + c * log_r + s * short)))
    return {
        "z": z,
        "log_neff_per_l": np.full(n, log_r),
        "short": short,
        "medium": medium,
        "y": (rng.random(n) < p).astype(float),
        "log_length": np.full(n, math.log(200)),
        "length": np.full(n, 200),
    }


def _families(c: float, seed: int = 0, s: float = 0.0) -> dict[str, dict[str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    return {
        f"f{k}": _family(rng, n=40_000, neff_per_l=r, a=1.3, b=-3.0, c=c, s=s)
        for k, r in enumerate((0.8, 2.0, 10.0, 50.0))
    }


def test_fit_recovers_the_generating_coefficients():
    beta = cc.fit_logistic(list(_families(c=0.6).values()), "z+neff")
    assert beta == pytest.approx([1.3, 0.6, -3.0], abs=0.1)
    beta_z = cc.fit_logistic(list(_families(c=0.0).values()), "z")
    assert beta_z == pytest.approx([1.3, -3.0], abs=0.08)


def test_each_family_counts_equally_whatever_its_size():
    rng = np.random.default_rng(1)
    big = _family(rng, n=200_000, neff_per_l=5.0, a=2.0, b=-3.0, c=0.0)
    small = _family(rng, n=20_000, neff_per_l=5.0, a=0.5, b=-3.0, c=0.0)
    slope = cc.fit_logistic([big, small], "z")[0]
    # pooled pair by pair the big family's slope (2.0) would dominate; weighted per family the
    # fit sits between the two
    assert 0.8 < slope < 1.6


def test_rule_adds_the_neff_term_only_when_it_pays():
    chosen, losses = cc.choose_form(_families(c=0.8))
    assert chosen == "z+neff" and losses["z+neff"] < losses["z"] - cc.TIE
    # every family has the same length here, so log L cannot be told from the intercept and
    # the forms that add it gain nothing
    chosen, losses = cc.choose_form(_families(c=0.0, seed=3))
    assert chosen == "z"


def test_rule_adds_the_range_terms_only_when_short_pairs_differ():
    families = _families(c=0.0, seed=4, s=1.0)
    chosen, losses = cc.choose_form(families)
    assert chosen == "z+length+range" and losses[chosen] < losses["z"] - cc.TIE
    beta = cc.fit_logistic(list(families.values()), "z+length+range")
    assert beta[0] == pytest.approx(1.3, abs=0.1) and beta[2] == pytest.approx(1.0, abs=0.15)
    assert beta[3] == pytest.approx(0.0, abs=0.15)  # medium-range pairs are like long ones here


def test_family_data_keeps_known_pairs_at_separation_six_or_more():
    rng = np.random.default_rng(2)
    length = 30
    scores = rng.standard_normal((length, length))
    scores = scores + scores.T
    contacts = (rng.random((length, length)) < 0.1).astype(np.int8)
    contacts = np.maximum(contacts, contacts.T)
    contacts[3, :] = contacts[:, 3] = -1  # an unmapped residue
    d = cc.family_data(scores, contacts, neff=90.0)
    i, j = np.triu_indices(length, 6)
    keep = (i != 3) & (j != 3)
    assert d["y"].size == keep.sum()
    np.testing.assert_allclose(d["z"], zscores(scores, min_separation=6)[i[keep], j[keep]])
    np.testing.assert_array_equal(d["y"], contacts[i[keep], j[keep]])
    sep = (j - i)[keep]
    np.testing.assert_array_equal(d["short"], sep < 12)
    np.testing.assert_array_equal(d["medium"], (sep >= 12) & (sep < 24))
    assert d["log_neff_per_l"][0] == pytest.approx(math.log(3.0))


def test_calibration_rows_by_hand():
    # L 10: top L/5 = 2 pairs, L/2 = 5, L = 10; scores rank the pairs 0..11
    score = np.arange(12, 0, -1, dtype=float)
    y = np.array([1, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 0], dtype=float)
    data = {"z": score, "y": y, "length": np.full(12, 10)}
    p = np.linspace(0.9, 0.0, 12)
    rows = {r["list"]: r for r in cc.calibration_rows(data, {"now": p, "fitted": p / 2})}
    assert rows["top L/5"]["n"] == 2 and rows["top L/5"]["precision"] == 0.5
    assert rows["top L/5"]["mean p (now)"] == pytest.approx(p[:2].mean())
    assert rows["top L/2"]["precision"] == pytest.approx(3 / 5)
    assert rows["top L"]["precision"] == pytest.approx(4 / 10)
    called = p >= 0.5
    assert rows["p >= 0.5 (now)"]["n"] == called.sum()
    assert rows["p >= 0.5 (now)"]["precision"] == pytest.approx(y[called].mean())
    assert rows["p >= 0.5 (fitted)"]["n"] == 0  # p / 2 never reaches 0.5


def test_main_fits_on_tuning_and_reports_validation(monkeypatch, tmp_path, capsys):
    fams = _families(c=0.8, seed=5)
    held = _families(c=0.8, seed=6)
    sets = {"tuning": ("f0", "f1", "f2", "f3"), "validation": ("v0", "v1")}

    def fake_load(family, seed, **_):
        return fams[family] if family.startswith("f") else held["f" + family[1:]]

    monkeypatch.setattr(cc, "SETS", sets)
    monkeypatch.setattr(cc, "load_family", fake_load)
    out = tmp_path / "cal.json"
    cc.main(["--json", str(out)])
    res = json.loads(out.read_text())
    assert res["chosen"] == "z+neff"
    assert res["coefficients"]["z"] == pytest.approx(1.3, abs=0.1)
    assert set(res["validation"]) == {"v0 s0", "v1 s0"}
    # the fitted constants describe the held-out families better than the package's own
    assert res["validation_mean_log_loss"]["fitted"] < res["validation_mean_log_loss"]["now"]
    assert "leave-one-family-out" in capsys.readouterr().out


def test_main_skips_without_enough_families(monkeypatch, capsys):
    monkeypatch.setattr(cc, "load_family", lambda *a, **k: None)
    cc.main([])
    assert "skipped" in capsys.readouterr().out
