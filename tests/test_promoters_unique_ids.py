"""benchmarks/promoters.py's copy of a set with repeated ids: renamed ids, and parallel workers
that write and read the same copy never see it half-written."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def _fasta(path: Path, records: int) -> Path:
    lines = []
    for i in range(records):
        lines += [f">gene{i % 3} record {i}", "ACGT" * 50]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_repeated_ids_are_renamed_in_a_copy(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)
    from promoters import unique_ids

    src = _fasta(tmp_path / "set.fa", 5)
    copy = unique_ids(src)
    assert copy != src and copy.parent == tmp_path / "tmp"
    ids = [line.split()[0] for line in copy.read_text().splitlines() if line.startswith(">")]
    assert ids == [">gene0", ">gene1", ">gene2", ">gene0_2", ">gene1_2"]
    assert [p.name for p in (tmp_path / "tmp").iterdir()] == [copy.name]  # no temporary left
    unique = tmp_path / "unique.fa"
    unique.write_text(">a\nACGT\n>b\nACGT\n")
    assert unique_ids(unique) == unique


def test_parallel_workers_never_read_a_half_written_copy(tmp_path: Path) -> None:
    src = _fasta(tmp_path / "set.fa", 20_000)  # ~4 MB: a slow write leaves a wide window
    (tmp_path / "tmp").mkdir()
    script = tmp_path / "worker.py"
    script.write_text(textwrap.dedent(f"""
        import sys
        from pathlib import Path
        sys.path.insert(0, {str(BENCHMARKS)!r})
        from promoters import unique_ids
        size = None
        for _ in range(40):
            copy = unique_ids(Path({str(src)!r}))
            n = len(copy.read_bytes())
            if size is not None and n != size:
                sys.exit(f"read {{n}} bytes, earlier {{size}}")
            size = n
    """))
    env = {**os.environ, "TMPDIR": str(tmp_path / "tmp")}
    workers = [subprocess.Popen([sys.executable, str(script)], env=env, stderr=subprocess.PIPE, text=True)
               for _ in range(4)]
    errors = [w.communicate(timeout=300)[1] for w in workers]
    assert all(w.returncode == 0 for w in workers), errors
