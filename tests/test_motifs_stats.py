"""Seqlet calibration, PWM scoring, enrichment and BH: analytic and hand-computed cases."""

from __future__ import annotations

import itertools

import numpy as np
from scipy.stats import fisher_exact

from mhsa_bio import pwm
from mhsa_bio.motifs.cluster import similarity
from mhsa_bio.motifs.heads import auroc
from mhsa_bio.motifs.seqlets import Seqlet, calibrate, call_seqlets, candidates, window_sums
from mhsa_bio.stats import benjamini_hochberg, fisher_greater


def test_bh_matches_hand_computation() -> None:
    p = [0.01, 0.04, 0.03, 0.20]
    # sorted 0.01 0.03 0.04 0.20 -> *4/rank: 0.04 0.06 0.0533 0.20 -> monotone 0.04 .0533 .0533 .2
    np.testing.assert_allclose(benjamini_hochberg(p), [0.04, 0.16 / 3, 0.16 / 3, 0.20])
    assert benjamini_hochberg([]).size == 0
    assert benjamini_hochberg([0.9, 0.8])[0] == 0.9


def test_fisher_matches_scipy() -> None:
    for a, n_a, b, n_b in [(30, 100, 5, 100), (3, 10, 4, 12), (0, 5, 5, 5)]:
        want = fisher_exact([[a, n_a - a], [b, n_b - b]], alternative="greater")[1]
        assert abs(fisher_greater(a, n_a, b, n_b) - want) < 1e-12


def test_auroc() -> None:
    assert auroc(np.array([3.0, 4.0]), np.array([1.0, 2.0])) == 1.0
    assert auroc(np.array([1.0]), np.array([1.0])) == 0.5


def test_window_sums_and_candidates_do_not_overlap() -> None:
    s = np.zeros(40)
    s[5:8] = 3.0
    s[25:27] = 2.0
    np.testing.assert_allclose(window_sums(np.arange(5.0), 2), [1, 3, 5, 7])
    c = candidates([s], window=4, max_per_seq=3)
    assert c[0].score == 9.0 and c[0].start <= 5 and c[0].end >= 8 and c[0].peak == 5
    assert c[1].score == 4.0
    for x, y in itertools.combinations(c, 2):
        assert x.end <= y.start or y.end <= x.start


def test_calibration_hand_case() -> None:
    pos = [Seqlet(i, 0, 1, s, 0) for i, s in enumerate([10.0, 9.0, 8.0, 1.0])]
    bg = [Seqlet(i, 0, 1, s, 0) for i, s in enumerate([8.5, 1.0, 0.5, 0.2])]
    # t = 9: 0 background, 2 positives -> FDR 0; t = 8: 1/4 * 4 / 3 = 0.33
    cal = calibrate(pos, bg, n_pos=4, n_bg=4, fdr=0.1)
    assert cal.threshold == 9.0 and cal.n_positive_passing == 2
    assert calibrate(pos, bg, n_pos=4, n_bg=4, fdr=0.4).threshold == 8.0


def test_calibrated_threshold_controls_fdr_on_planted_peaks() -> None:
    rng = np.random.default_rng(3)
    n = 400
    pos, truth = [], []
    for i in range(n):
        s = rng.gamma(2.0, 0.5, size=80)
        if i % 2 == 0:
            st = int(rng.integers(0, 70))
            s[st: st + 6] += 2.0
            truth.append(st)
        else:
            truth.append(None)
        pos.append(s)
    bg = [rng.gamma(2.0, 0.5, size=80) for _ in range(n)]
    sp, sb, cal = call_seqlets(pos, bg, window=6, flank=0, fdr=0.05, max_per_seq=1)
    false = sum(truth[s.seq_index] is None or abs(s.start - truth[s.seq_index]) > 6 for s in sp)
    assert len(sp) > 150  # most planted peaks found
    assert false / len(sp) < 0.1
    # the null: positives drawn like the background give (almost) nothing
    null = [rng.gamma(2.0, 0.5, size=80) for _ in range(n)]
    sp0, _, _ = call_seqlets(null, bg, window=6, flank=0, fdr=0.05, max_per_seq=1)
    assert len(sp0) <= 5


def test_score_threshold_is_exact_on_small_matrix() -> None:
    probs = np.array([[0.7, 0.1, 0.1, 0.1], [0.1, 0.1, 0.1, 0.7], [0.4, 0.4, 0.1, 0.1]])
    lo = pwm.log_odds(probs)
    scores = sorted((sum(lo[i, b] for i, b in enumerate(site))
                     for site in itertools.product(range(4), repeat=3)), reverse=True)
    for k in (1, 3, 10):
        p = k / 64
        thr = pwm.score_threshold(lo, p_value=p)
        frac = np.mean(np.array(scores) >= thr)
        best = np.mean(np.array(scores) >= scores[0] - 1e-9)  # two words tie for the best
        if best > p:  # even the best score is too frequent: the best words, not nothing
            assert frac == best
            continue
        assert frac <= p + 1e-9
        assert np.mean(np.array(scores) >= thr - 0.02) >= frac  # not needlessly strict


def test_scan_reads_both_strands() -> None:
    probs = pwm.probabilities(pwm.count_matrix([pwm.tokens("GATAAG")] * 20, width=6))
    lo = pwm.log_odds(probs)
    fwd, rev = pwm.scan_scores(lo, pwm.tokens("CCCCTTATCCCC"))
    assert rev.argmax() == 3 and rev.max() > fwd.max()
    hit = pwm.best_hit(lo, pwm.tokens("CCCCTTATCCCC"))
    assert hit.start == 3 and hit.strand == "-"
    site = pwm.site_tokens(pwm.tokens("CCCCTTATCCCC"), 3, 6, "-")
    assert "".join("ACGT"[t] for t in site) == "GATAAG"


def test_trim_and_similarity() -> None:
    core = pwm.count_matrix([pwm.tokens("GATAAG")] * 30, width=6)
    flat = np.full((3, 4), 7.5)
    a, b = pwm.trim(np.vstack([flat, core, flat]))
    assert (a, b) == (3, 9)
    p = pwm.probabilities(core)
    assert similarity(p, pwm.reverse_complement_matrix(p)) > 0.99
    other = pwm.probabilities(pwm.count_matrix([pwm.tokens("CCGCGC")] * 30, width=6))
    assert similarity(p, other) < 0.5


def test_auto_heads_skip_near_uniform_heads() -> None:
    from mhsa_bio.attention import AttentionScores
    from mhsa_bio.motifs.heads import head_stats, parse_heads

    rng = np.random.default_rng(0)
    n, length = 50, 40

    def scores(shift: float) -> AttentionScores:
        cls_max = rng.random((n, 1, 2))
        cls_max[:, 0, 0] += 0.3 * shift  # head 1 separates
        cls_max[:, 0, 1] += 2 * shift  # head 2 separates more, but is near uniform
        ent = np.empty((n, 1, 2))
        ent[:, 0, 0] = 2.0
        ent[:, 0, 1] = 0.99 * np.log2(length + 1)
        cls = [np.ones((1, 2, length), np.float32) for _ in range(n)]
        z = np.zeros((n, 1, 2))
        return AttentionScores(cls, None, None, z, ent, z, cls_max)

    rows, sel = head_stats(scores(1.0), scores(0.0), chosen=None)
    assert sel == [(0, 0)]
    assert rows[1].separation_auroc > rows[0].separation_auroc and not rows[1].selected
    assert parse_heads("all", layers=2, heads=2) == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert parse_heads("2:*", layers=2, heads=2) == [(1, 0), (1, 1)]
    assert parse_heads("auto", layers=2, heads=2) is None


def test_auto_heads_keep_every_specialised_head() -> None:
    """Two heads that each detect one of two motifs (half the positives each) are both kept,
    though each separates far below a head that sees both; a head at chance is not."""
    from mhsa_bio.attention import AttentionScores
    from mhsa_bio.motifs.heads import head_stats

    rng = np.random.default_rng(1)
    n, length = 200, 40
    half = np.arange(n) < n // 2

    def scores(positive: bool) -> AttentionScores:
        cls_max = rng.random((n, 1, 4))
        if positive:
            cls_max[half, 0, 0] += 1.0  # motif A's head: A is in half the positives
            cls_max[~half, 0, 1] += 1.0  # motif B's head
            cls_max[:, 0, 2] += 1.0  # a head that fires on both
        ent = np.full((n, 1, 4), 2.0)
        cls = [np.ones((1, 4, length), np.float32) for _ in range(n)]
        z = np.zeros((n, 1, 4))
        return AttentionScores(cls, None, None, z, ent, z, cls_max)

    rows, sel = head_stats(scores(True), scores(False), chosen=None)
    assert sel == [(0, 0), (0, 1), (0, 2)]
    assert rows[2].separation_auroc - rows[0].separation_auroc > 0.2
    assert not rows[3].selected


def test_seqlet_enrichment_counts_only_attended_windows() -> None:
    from mhsa_bio.motifs.enrichment import motif_enrichment, seqlet_enrichment

    rng = np.random.default_rng(2)
    box = "TATAAT"

    def seq(at: int) -> str:
        s = "".join(rng.choice(list("CG"), size=60))
        return s[:at] + box + s[at + 6:]

    # positives: the box at 30 (where the model looks); background: the box elsewhere
    pos = [pwm.tokens(seq(30)) for _ in range(40)]
    bg = [pwm.tokens(seq(int(rng.choice([2, 50])))) for _ in range(40)]
    counts = pwm.count_matrix([pwm.tokens(box)] * 40, width=6)
    scan, _ = motif_enrichment(counts, pos, bg)
    assert scan.positives_with_site == scan.background_with_site == 40 and scan.p_value > 0.5
    seqlets_pos = [(i, 25, 41) for i in range(40)]
    seqlets_bg = [(i, 25, 41) for i in range(40)]
    e = seqlet_enrichment(counts, pos, bg, seqlets_pos, seqlets_bg)
    assert (e.positives_with_site, e.background_with_site) == (40, 0) and e.p_value < 1e-15


def test_window_enrichment_tests_position_and_auto_pays_for_two_tests() -> None:
    from mhsa_bio.motifs.enrichment import (
        best_evidence,
        motif_enrichment,
        site_window,
        window_enrichment,
    )

    rng = np.random.default_rng(3)
    box = "TATAAT"

    def seq(at: int) -> str:
        s = "".join(rng.choice(list("CG"), size=60))
        return s[:at] + box + s[at + 6:]

    # positives: the box at 29-31; background: the same box, but at 5 or 50
    pos = [pwm.tokens(seq(30 + int(rng.integers(-1, 2)))) for _ in range(40)]
    bg = [pwm.tokens(seq(int(rng.choice([5, 50])))) for _ in range(40)]
    counts = pwm.count_matrix([pwm.tokens(box)] * 40, width=6)
    # the window spans the sites' start quartiles, 2 bp either side
    assert site_window([29, 30, 30, 30, 31], 6) == (28, 32)
    assert site_window([0, 0, 1], 6)[0] == 0
    whole, _ = motif_enrichment(counts, pos, bg)
    assert whole.p_value > 0.5 and whole.evidence == "sequence"
    win = window_enrichment(counts, pos, bg, (28, 32))
    assert (win.positives_with_site, win.background_with_site) == (40, 0)
    assert win.evidence == "window" and win.window == (28, 32)
    assert win.p_value == fisher_greater(40, 40, 0, 40)
    # a site starting one base after the window is not counted
    assert window_enrichment(counts, pos, bg, (20, 27)).positives_with_site == 0
    best = best_evidence(whole, win)
    assert best.evidence == "window" and best.p_value == 2 * win.p_value
    assert best_evidence(whole, whole._replace(p_value=1.0)).p_value == min(1.0,
                                                                           2 * whole.p_value)


def test_positional_pass_needs_attention_at_the_box_and_tests_on_held_out_half() -> None:
    from mhsa_bio.motifs.find import MotifParams
    from mhsa_bio.motifs.passes import positional_pass

    rng = np.random.default_rng(4)
    box = "TATAAT"

    def seq(at: int | None) -> np.ndarray:
        s = "".join(rng.choice(list("ACGT"), size=80))
        return pwm.tokens(s if at is None else s[:at] + box + s[at + 6:])

    # 200 positives with the box at 40-42 (a quarter without it); background: random sequences
    pos = [seq(40 + int(rng.integers(0, 3)) if i % 4 else None) for i in range(200)]
    bg = [seq(None) for _ in range(200)]
    noise = [rng.random(80) for _ in range(400)]
    attended = [n + (np.arange(80) // 10 == 4) * 2.0 for n in noise[:200]]  # bases 40-49
    params = MotifParams()
    window, test, seqlets, clusters, enr = positional_pass(attended, noise[200:], pos, bg,
                                                           params=params, first_index=7)
    assert window == (40, 50) and test[0] > 0.99 and test[1] < 1e-10
    assert len(seqlets) == 100 and {s.seq_index % 2 for s in seqlets} == {0}
    best = min(range(len(enr)), key=lambda i: enr[i].p_value)
    cons = pwm.consensus(pwm.probabilities(clusters[best].counts)).upper()
    assert "TATA" in cons or "ATTA" in cons  # the box or its reverse complement
    e = enr[best]
    assert e.evidence == "held-out window" and e.n_positives == 100 and e.p_value < 1e-10
    assert 38 <= e.window[0] <= 42 and all(s.seqlet >= 7 for s in clusters[best].sites)
    # the same sequences, attention no higher in positives than in background: nothing
    window, test, seqlets, clusters, enr = positional_pass(noise[:200], noise[200:], pos, bg,
                                                           params=params, first_index=0)
    assert test[1] > params.fdr and seqlets == [] and clusters == [] and enr == []


def test_threshold_of_a_short_motif_is_its_best_score() -> None:
    # a 6-bp word occurs with p = 4**-6 > 1e-4: the best word itself must still count
    lo = pwm.log_odds(pwm.probabilities(pwm.count_matrix([pwm.tokens("TATAAT")] * 54, width=6)))
    thr = pwm.score_threshold(lo, p_value=1e-4)
    assert thr <= lo.max(1).sum() and pwm.has_site(lo, pwm.tokens("GGTATAATGG"), thr)
    assert not pwm.has_site(lo, pwm.tokens("GGTATAAAGG"), thr)
