"""Pairs: geometry of site pairs, co-attention pooling, the null, BH, the group test."""

from __future__ import annotations

import numpy as np
import pytest
from pairs_fixtures import ToyAttentionModel, random_seq

from mhsa_bio.io.fasta import Record
from mhsa_bio.pairs.coattention import head_labels, pool_sites, site_coattention
from mhsa_bio.pairs.geometry import PairKey, pair_key, site_pairs
from mhsa_bio.pairs.null import reembed_sites
from mhsa_bio.pairs.sites import Hit
from mhsa_bio.pairs.stats import compare_group, enrichment, nearest_null
from mhsa_bio.stats import benjamini_hochberg


def hit(motif: int, start: int, width: int, strand: str = "+", seq: int = 0) -> Hit:
    return Hit(seq, motif, start, start + width, strand, 10.0, 1e-5)


def test_spacing_is_centre_to_centre_and_order_is_canonical() -> None:
    a = hit(0, 10, 8)  # centre 13.5
    b = hit(1, 25, 7)  # centre 28
    key, swapped = pair_key(a, b)
    assert key == PairKey(0, 1, 29, "++") and key.spacing == 14.5 and not swapped
    key2, swapped2 = pair_key(b, a)
    assert key2 == key and swapped2
    # B upstream of A: negative spacing; strands follow A then B.
    key3, _ = pair_key(hit(1, 0, 7, "-"), hit(0, 20, 8, "+"))
    assert key3 == PairKey(0, 1, -41, "+-") and key3.spacing == 3 - 23.5
    assert pair_key(hit(0, 20, 8, "+"), hit(1, 0, 7, "-"))[0] == key3


def test_same_motif_pairs_and_strand_symmetry() -> None:
    x, y = hit(0, 30, 6, "-"), hit(0, 10, 6, "+")
    key, swapped = pair_key(x, y)
    assert key == PairKey(0, 0, 40, "+-") and swapped
    # Reverse complement of a 100 bp sequence: starts 100 - end, strands flipped.
    def rc(h: Hit) -> Hit:
        return Hit(h.seq, h.motif, 100 - h.end, 100 - h.start, "+" if h.strand == "-" else "-",
                   h.score, h.pvalue)

    cases = [(hit(0, 10, 8, "+"), hit(1, 40, 7, "+")), (hit(0, 10, 8, "-"), hit(1, 40, 7, "+")),
             (hit(0, 50, 8, "+"), hit(1, 5, 7, "-")), (hit(0, 10, 6, "-"), hit(0, 40, 6, "-")),
             (hit(0, 10, 6, "+"), hit(0, 40, 6, "-"))]
    for x, y in cases:
        k1, _ = pair_key(x, y, strand_symmetric=True)
        k2, _ = pair_key(rc(x), rc(y), strand_symmetric=True)
        assert k1 == k2
        assert k1.orientation in ("++", "+-") or k1.a == k1.b
        # Without symmetry the reverse complement is a different group (stranded promoters).
        assert pair_key(x, y)[0] != pair_key(rc(x), rc(y))[0] or x.motif == y.motif
    k, _ = pair_key(hit(0, 10, 8, "-"), hit(1, 40, 7, "-"), strand_symmetric=True)
    assert k.orientation == "++" and k.spacing == -(43 - 13.5)


def test_palindromic_motif_has_no_strand() -> None:
    # Motif 1 is a palindrome with shift 2: a site on - at s + 2 is the site on + at s.
    pal = {1: 2}
    a = hit(0, 10, 8, "+")
    k_plus, _ = pair_key(a, hit(1, 30, 12, "+"), palindromes=pal)
    k_minus, _ = pair_key(a, hit(1, 32, 12, "-"), palindromes=pal)
    assert k_plus == k_minus == PairKey(0, 1, 2 * (35.5 + 1 - 13.5), "+.")
    # Strand-symmetric: the first defined strand goes on +; two palindromes: |spacing|.
    def rc(h: Hit) -> Hit:
        return Hit(h.seq, h.motif, 100 - h.end, 100 - h.start, "+" if h.strand == "-" else "-",
                   h.score, h.pvalue)

    pals = {0: 0, 1: 2}
    cases = [((a, hit(1, 30, 12, "-")), pal), ((hit(0, 10, 8, "-"), hit(1, 30, 12, "+")), pal),
             ((hit(0, 50, 8, "+"), hit(1, 20, 12, "-")), pals),
             ((hit(1, 10, 12, "+"), hit(1, 40, 12, "-")), pal)]
    for (x, y), p in cases:
        k1, _ = pair_key(x, y, strand_symmetric=True, palindromes=p)
        k2, _ = pair_key(rc(x), rc(y), strand_symmetric=True, palindromes=p)
        assert k1 == k2 and k1.orientation in ("++", "+-", "+.", ".+", "..")
    k, _ = pair_key(hit(0, 10, 8, "-"), hit(1, 40, 12, "+"), strand_symmetric=True,
                    palindromes={1: 0})
    assert k.orientation == "+." and k.spacing == -(45.5 - 13.5)
    k, _ = pair_key(hit(0, 50, 8), hit(1, 20, 12), strand_symmetric=True, palindromes=pals)
    assert k.orientation == ".." and k.spacing == 53.5 - (25.5 + 1)


def test_site_pairs_skip_overlaps_and_keep_a_first() -> None:
    hits = [hit(1, 0, 7), hit(0, 3, 8), hit(0, 20, 8)]
    got = site_pairs(hits)
    assert [(i, j) for i, j, _ in got] == [(2, 0), (1, 2)]
    assert all(hits[i].motif <= hits[j].motif for i, j, _ in got)


def test_pool_sites_by_hand() -> None:
    att = np.zeros((1, 6, 6))
    # Site X = bases 0-1, Y = bases 4-5.
    att[0, 0, 4], att[0, 0, 5] = 0.2, 0.1   # base 0 pays 0.3 to Y
    att[0, 1, 5] = 0.5                      # base 1 pays 0.5 to Y → X→Y = 0.4
    att[0, 4, 0] = 0.6                      # Y→X = (0.6 + 0) / 2 = 0.3
    att[0, 2, 4] = 0.9                      # outside both sites: ignored
    co = pool_sites(att, [(0, 2), (4, 6)])
    assert co.shape == (1, 2, 2)
    assert co[0, 0, 1] == pytest.approx((0.4 + 0.3) / 2)
    assert co[0, 1, 0] == pytest.approx(co[0, 0, 1])


def test_site_coattention_matches_pool_sites_with_a_toy_model() -> None:
    import torch

    rng = np.random.default_rng(0)
    seqs = [random_seq(rng, 30), random_seq(rng, 24), random_seq(rng, 30)]
    maps = {s: rng.dirichlet(np.ones(len(s)), size=(4, len(s))) for s in seqs}  # LH = 2 x 2
    model = ToyAttentionModel(maps, layers=2, heads=2)
    hits = [[hit(0, 2, 5), hit(1, 10, 4), hit(0, 20, 5)], [hit(1, 1, 4), hit(0, 15, 5)], [hit(0, 3, 5)]]
    pairs = [site_pairs(h) for h in hits]
    inst = site_coattention(model, seqs, hits, pairs, device=torch.device("cpu"), batch_size=2)
    assert inst.values.shape == (4, 4)
    assert inst.seq.tolist() == [0, 0, 0, 1]
    row = 0
    for k in range(3):
        co = pool_sites(maps[seqs[k]], [(h.start, h.end) for h in hits[k]])
        for i, j, key in pairs[k]:
            np.testing.assert_allclose(inst.values[row], co[:, i, j], rtol=1e-5)
            assert inst.keys[row] == key
            row += 1
    assert head_labels(2, 2) == ["L1H1", "L1H2", "L2H1", "L2H2"]


def test_null_keeps_sites_and_breaks_spacing() -> None:
    rng = np.random.default_rng(1)
    records, hits = [], []
    for k in range(200):
        seq = random_seq(rng, 80)
        records.append(Record(f"s{k}", seq, f"s{k}"))
        hits.append([hit(0, 10, 8, seq=k), hit(1, 24, 7, seq=k)])
    null = reembed_sites(records, hits, n_per=2, seed=5)
    assert len(null.records) == 400 and null.source.tolist()[:4] == [0, 0, 1, 1]
    spacings, strands = set(), set()
    for m, (rec, hs) in enumerate(zip(null.records, null.hits, strict=True)):
        src = null.source[m]
        assert len(rec.seq) == 80
        assert sorted(h.motif for h in hs) == [0, 1]
        for h in hs:
            orig = hits[src][h.motif]
            site = records[src].seq[orig.start:orig.end]
            from mhsa_bio.alphabet import reverse_complement

            got = rec.seq[h.start:h.end]
            assert got == (site if h.strand == orig.strand else reverse_complement(site))
            strands.add(h.strand)
        (_, _, key), = site_pairs(hs)
        spacings.add(key.spacing2)
    assert len(spacings) > 30 and strands == {"+", "-"}
    again = reembed_sites(records, hits, n_per=2, seed=5)
    assert [r.seq for r in again.records] == [r.seq for r in null.records]


def test_benjamini_hochberg_by_hand() -> None:
    p = np.array([0.01, 0.04, 0.03, 0.20, np.nan])
    # m = 4: sorted 0.01 0.03 0.04 0.20 → 0.04, 0.06, 0.0533, 0.20 → monotone 0.04 .0533 .0533 .2
    q = benjamini_hochberg(p)
    np.testing.assert_allclose(q[:4], [0.04, 0.04 * 4 / 3, 0.04 * 4 / 3, 0.2])
    assert np.isnan(q[4])
    assert benjamini_hochberg(np.array([0.5, 0.9])).tolist() == [0.9, 0.9]


def test_group_statistic_and_null_matching() -> None:
    rng = np.random.default_rng(2)
    null = rng.normal(1.0, 0.1, size=(200, 3))
    values = rng.normal(1.0, 0.1, size=(30, 3))
    values[:, 2] += 0.3
    t = compare_group(values, null)
    assert t.best == 2 and t.p_null < 1e-6 and t.p_null == pytest.approx(3 * t.p_null_heads[2])
    assert np.isnan(t.p_spacing) and t.p_spacing_heads is None
    flat = compare_group(rng.normal(1.0, 0.1, size=(30, 3)), null)
    assert flat.p_null > 0.01
    # With other spacings: a head passes only when it beats both; Bonferroni over heads.
    other = rng.normal(1.2, 0.1, size=(100, 3))
    both = compare_group(values, null, other_spacings=other)
    assert both.p_heads[2] == max(both.p_null_heads[2], both.p_spacing_heads[2])
    assert both.p_spacing == pytest.approx(min(1.0, 3 * both.p_heads.min()))
    assert compare_group(values, null, other_spacings=other + 0.5).p_spacing > 0.5
    # The group's own spacing (10) is never in its null.
    idx = nearest_null(np.array([40, 2, 10, 12, 8, 100]), 10, k=3)
    assert idx.tolist() == [1, 3, 4]
    # Excluding the group's own spacing (± 2 in doubled units): 12 and 8 are out, 2 and 40 are
    # the nearest left, with a tie at distance 8 kept.
    idx = nearest_null(np.array([40, 2, 10, 12, 8, 100, 18]), 10, k=2, exclude2=2)
    assert idx.tolist() == [1, 6]
    enr, p = enrichment(50, 100, 10, 100)
    assert enr == pytest.approx(np.log2(50.5 / 10.5)) and p < 1e-6


def test_no_sites_gives_an_empty_table_and_a_header_only_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import torch
    from pairs_fixtures import motifs

    from mhsa_bio.pairs import COLUMNS, find_pairs
    from mhsa_bio.pairs.io import write_pairs_tsv
    from mhsa_bio.pairs.plots import spacing_plots

    records = [Record(f"s{k}", "C" * 40, f"s{k}") for k in range(5)]
    model = ToyAttentionModel({}, layers=1, heads=2)
    res = find_pairs(model, records, motifs(), background=records, device=torch.device("cpu"))
    assert len(res.table) == 0 and res.summary["sites"] == 0
    write_pairs_tsv(res, tmp_path / "pairs.tsv")
    assert (tmp_path / "pairs.tsv").read_text() == "\t".join(COLUMNS) + "\n"
    assert spacing_plots(res, tmp_path) == []


def test_null_with_kept_background_only_moves_the_sites() -> None:
    rng = np.random.default_rng(4)
    seq = random_seq(rng, 60)
    hits = [[hit(0, 5, 8), hit(1, 30, 8), hit(0, 33, 8)]]  # the last two overlap: one block
    null = reembed_sites([Record("s", seq, "s")], hits, n_per=3, seed=1, shuffle=False)
    background = seq[:5] + seq[13:30] + seq[41:]
    for rec, hs in zip(null.records, null.hits, strict=True):
        keep = np.ones(60, dtype=bool)
        for h in hs:
            keep[h.start:h.end] = False
        assert "".join(np.asarray(list(rec.seq))[keep]) == background
        assert len(hs) == 3
        b_site = [h for h in hs if h.motif == 1][0]
        # The overlapping pair moved together: still overlapping by the same 5 bases.
        other = [h for h in hs if h.motif == 0 and abs(h.start - b_site.start) == 3]
        assert other


def test_report_section_is_inserted_once_before_body_end() -> None:
    from mhsa_bio.pairs.report import MARK_END, MARK_START, insert_section

    section = f"{MARK_START}\n<h2>pairs</h2>\n{MARK_END}\n"
    page = "<html><body><p>a</p></BODY></html>"
    once = insert_section(page, section)
    assert once == "<html><body><p>a</p>" + section + "</BODY></html>"
    assert insert_section(once, section) == once
    newer = section.replace("pairs", "pairs v2")
    assert insert_section(once, newer) == "<html><body><p>a</p>" + newer + "</BODY></html>"
    assert insert_section("<p>no body</p>", section) == "<p>no body</p>" + section


def _spacing_data(peak: float, seed: int = 0, *, background_gaps: bool = False
                  ) -> tuple[list[Record], list[Record], ToyAttentionModel]:
    """400 sequences holding MA then MB (both +) at gaps 0..19 (or, with ``background_gaps``, all
    at gap 9, and 400 background sequences at gaps 0..19), and a one-head toy model that
    co-attends every real MA–MB pair by 0.5 (``peak`` at gap 9) above noise, and null copies
    (sequences it has not seen) not at all: the pair is co-attended more than moved sites at
    every spacing. Returns the analysed sequences, the background and the model."""
    import zlib

    from pairs_fixtures import CONSENSUS, plant

    rng = np.random.default_rng(seed)
    a, b = CONSENSUS["MA"], CONSENSUS["MB"]
    bump: dict[str, float] = {}

    def make(name: str, gap_of) -> list[Record]:  # type: ignore[no-untyped-def]
        out = []
        for k in range(400):
            gap, start = gap_of(k), int(rng.integers(0, 60 - 16 - 19))
            seq = plant(plant(random_seq(rng, 60), a, start), b, start + 8 + gap)
            bump[seq] = peak if gap == 9 else 0.5
            out.append(Record(f"{name}{k}", seq, f"{name}{k}"))
        return out

    if background_gaps:
        records, background = make("s", lambda k: 9), make("bg", lambda k: k % 20)
    else:
        records = make("s", lambda k: k % 20)
        background = records

    def attention(seq: str) -> np.ndarray:
        noise = np.random.default_rng(zlib.crc32(seq.encode())).uniform(0, 0.02, (1, 60, 60))
        if seq in bump:
            i, j = seq.find(a), seq.find(b)
            noise[0, i:i + 8, j:j + 8] += bump[seq] / 8
            noise[0, j:j + 8, i:i + 8] += bump[seq] / 8
        return noise

    return records, background, ToyAttentionModel(attention, layers=1, heads=1)


def _routes(t):  # type: ignore[no-untyped-def]
    """p of each row from its two spacing routes, as find_pairs combines them."""
    attention = t["p_spacing_attention"].fillna(1.0)
    occurrence = np.maximum(t["p_null"], t["p_spacing_occurrence"]).fillna(1.0)
    return np.minimum(1.0, 2 * np.minimum(attention, occurrence))


def test_pair_co_attended_alike_at_every_spacing_claims_no_spacing() -> None:
    import torch
    from pairs_fixtures import motifs

    from mhsa_bio.pairs import find_pairs

    records, background, model = _spacing_data(peak=0.5)
    res = find_pairs(model, records, motifs(), background=background,
                     device=torch.device("cpu"), n_null=4, seed=0)
    t = res.table[res.table["orientation"] == "++"]
    assert len(t) >= 15 and (t["n_other_spacings"] >= 10).all()
    # Against moved sites alone every spacing would be claimed (the old test): the pair is
    # co-attended (q_null) ...
    assert (t["p_null"] < 1e-6).all() and (t["q_null"] < 1e-4).all()
    # ... but no spacing beats the same pair at the other spacings, nor is one more frequent
    # than in the background. (At this data seed; over data seeds 0-99 one spacing reached
    # q < 0.05 in 6, where p_null alone gave all 20 in each.)
    assert np.allclose(t["p"], _routes(t))
    assert (res.table["q"] >= 0.05).all()


def test_spacing_over_represented_against_background_is_claimed_there() -> None:
    """A head that co-attends the pair alike at every spacing (it reads the spacing elsewhere),
    positives holding the pair at one spacing, the background at every spacing: the spacing is
    claimed by occurrence; with the positives as their own background, nothing is."""
    import torch
    from pairs_fixtures import motifs

    from mhsa_bio.pairs import find_pairs

    records, background, model = _spacing_data(peak=0.5, background_gaps=True)
    res = find_pairs(model, records, motifs(), background=background,
                     device=torch.device("cpu"), n_null=4, seed=0)
    top = res.table.iloc[0]
    assert (top["name_a"], top["name_b"], top["orientation"], top["spacing"]) == \
        ("MA", "MB", "++", 17.0)
    assert np.isnan(top["p_spacing_attention"])  # no other spacings in the positives
    assert top["p_spacing_occurrence"] < 1e-10 and top["q"] < 1e-3
    assert (res.table["q"] < 0.05).sum() == 1
    alone = find_pairs(model, records, motifs(), background=records,
                       device=torch.device("cpu"), n_null=4, seed=0)
    assert (alone.table["q"] >= 0.05).all() and (alone.table["q_null"] < 0.05).any()


def test_pair_co_attended_most_at_one_spacing_is_claimed_there() -> None:
    import torch
    from pairs_fixtures import motifs

    from mhsa_bio.pairs import find_pairs

    records, background, model = _spacing_data(peak=1.0)
    res = find_pairs(model, records, motifs(), background=background,
                     device=torch.device("cpu"), n_null=4, seed=0)
    top = res.table.iloc[0]
    # MA and MB are 8 bp: MB starts 8 + 9 bases after MA, centres 17 bp apart.
    assert (top["name_a"], top["name_b"], top["orientation"], top["spacing"]) == \
        ("MA", "MB", "++", 17.0)
    assert top["q"] < 1e-3 and top["p_spacing_attention"] < 1e-3 and top["best_head"] == "L1H1"
    assert top["mean_coattention"] > top["other_spacings_mean"] > top["null_mean"]
    assert (res.table["q"] < 0.05).sum() == 1
