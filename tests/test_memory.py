"""Heap mode (mhsa_bio.runtime.memory): large CPU blocks stay on glibc's heap where the loops need it."""

from __future__ import annotations

import ctypes
import ctypes.util

import numpy as np
import pytest

from mhsa_bio.runtime.memory import cpu_heap, heap_allocations


@pytest.fixture(scope="module")
def mapped_after_allocating():
    """A probe: how many blocks glibc maps with mmap for one large allocation, made and freed now.

    The block is 64 MB more than all the free space in the heap (so no free chunk can serve it,
    whatever earlier tests left there) and above any mmap threshold glibc sets by itself
    (32 MiB), so the answer does not depend on what ran before. It is never written to: only
    address space is taken."""
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    if not hasattr(libc, "mallinfo2"):
        pytest.skip("not glibc >= 2.33")

    class Info(ctypes.Structure):  # struct mallinfo2, all ten fields (it is returned by value)
        names = "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost"
        _fields_ = [(name, ctypes.c_size_t) for name in names.split()]

    libc.mallinfo2.restype = Info

    def probe() -> int:
        info = libc.mallinfo2()
        block = np.empty((info.fordblks + 64_000_000) // 8)
        mapped = libc.mallinfo2().hblks - info.hblks
        del block
        return mapped

    return probe


def test_heap_allocations_keep_large_blocks_off_mmap(mapped_after_allocating):
    with heap_allocations() as ok:
        assert ok
        assert mapped_after_allocating() == 0
    assert mapped_after_allocating() == 1  # glibc's defaults are back


def test_heap_allocations_nest(mapped_after_allocating):
    with heap_allocations():
        with heap_allocations() as inner:
            assert inner
        assert mapped_after_allocating() == 0  # the inner block's exit left the outer one on
    assert mapped_after_allocating() == 1


def test_cpu_heap_only_for_the_cpu(mapped_after_allocating):
    import torch

    for device in ("cpu", torch.device("cpu")):
        with cpu_heap(device) as ok:
            assert ok
            assert mapped_after_allocating() == 0
    for device in ("cuda", "cuda:1", torch.device("cuda", 0)):  # no GPU needed: nothing is made
        with cpu_heap(device) as ok:
            assert not ok
            assert mapped_after_allocating() == 1


def test_cpu_heap_can_be_turned_off(mapped_after_allocating, monkeypatch):
    for value in ("0", "off", "False"):
        monkeypatch.setenv("MHSA_BIO_HEAP", value)
        with cpu_heap("cpu") as ok:
            assert not ok
            assert mapped_after_allocating() == 1
    monkeypatch.setenv("MHSA_BIO_HEAP", "1")
    with cpu_heap("cpu") as ok:
        assert ok


class _Probed:
    """Wraps a model; records the probe's answer on every forward pass."""

    def __init__(self, model, probe) -> None:
        self.model, self.probe, self.seen = model, probe, []
        self.config = model.config

    def eval(self):
        self.model.eval()
        return self

    def __call__(self, *args, **kwargs):
        self.seen.append(self.probe())
        return self.model(*args, **kwargs)


def test_attention_collection_runs_on_the_heap(mapped_after_allocating):
    import torch

    from mhsa_bio.attention import collect_attention
    from mhsa_bio.io.fasta import Record
    from mhsa_bio.models.promoter import PromoterConfig, PromoterTransformer

    torch.manual_seed(0)
    inner = PromoterTransformer(PromoterConfig(dim=16, heads=2, layers=1, stem_kernel=5, max_len=40))
    model = _Probed(inner, mapped_after_allocating)
    recs = [Record(f"s{i}", "ACGTTGCA" * 4) for i in range(5)]
    got = collect_attention(model, recs, batch_size=2)
    assert model.seen == [0, 0, 0]  # three batches, every one on the heap
    assert mapped_after_allocating() == 1  # and glibc's defaults after
    np.testing.assert_allclose(got.cls[0], collect_attention(inner, recs, batch_size=5).cls[0],
                               rtol=1e-5)


def test_site_coattention_runs_on_the_heap(mapped_after_allocating):
    import torch
    from pairs_fixtures import ToyAttentionModel, random_seq

    from mhsa_bio.pairs.coattention import site_coattention
    from mhsa_bio.pairs.geometry import site_pairs
    from mhsa_bio.pairs.sites import Hit

    def hit(motif: int, start: int, width: int) -> Hit:
        return Hit(0, motif, start, start + width, "+", 10.0, 1e-5)

    rng = np.random.default_rng(0)
    seqs = [random_seq(rng, 30), random_seq(rng, 30)]
    maps = {s: rng.dirichlet(np.ones(len(s)), size=(2, len(s))) for s in seqs}
    model = _Probed(ToyAttentionModel(maps, layers=1, heads=2), mapped_after_allocating)
    hits = [[hit(0, 2, 5), hit(1, 10, 4)], [hit(1, 1, 4), hit(0, 15, 5)]]
    inst = site_coattention(model, seqs, hits, [site_pairs(h) for h in hits],
                            device=torch.device("cpu"), batch_size=1)
    assert inst.values.shape == (2, 2)
    assert model.seen == [0, 0]
    assert mapped_after_allocating() == 1


def test_genome_scan_runs_on_the_heap(mapped_after_allocating, tmp_path):
    import torch
    from conftest import random_dna

    from mhsa_bio.genome_scan import ScanConfig, scan_genome
    from mhsa_bio.models.promoter import PromoterConfig, PromoterTransformer

    torch.manual_seed(0)
    inner = PromoterTransformer(PromoterConfig(dim=16, heads=2, layers=1, stem_kernel=5, max_len=40))
    model = _Probed(inner.eval(), mapped_after_allocating)
    genome = tmp_path / "g.fa"
    genome.write_text(">chrT\n" + random_dna(np.random.default_rng(0), 200) + "\n")
    config = ScanConfig(window=40, step=20, batch_size=4, strands=("+",))
    summary = scan_genome(model, genome, tmp_path, config=config, device=torch.device("cpu"))
    assert summary.windows == 9
    assert model.seen and set(model.seen) == {0}  # every batch on the heap
    assert mapped_after_allocating() == 1
