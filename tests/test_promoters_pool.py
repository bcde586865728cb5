"""benchmarks/promoters.py's worker pool: stopping the script (SIGTERM) stops its workers too, so
no fit keeps running after the benchmark is gone."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")
def test_sigterm_to_the_benchmark_terminates_its_workers(tmp_path: Path) -> None:
    (tmp_path / "sleeper.py").write_text(textwrap.dedent("""
        import os, time
        from pathlib import Path

        def nap(path):
            Path(path).write_text(str(os.getpid()))
            time.sleep(120)
            return path
    """))
    (tmp_path / "main.py").write_text(textwrap.dedent(f"""
        import sleeper
        from promoters import pool_map

        if __name__ == "__main__":
            pool_map(sleeper.nap, [r"{tmp_path / 'a'}", r"{tmp_path / 'b'}"], workers=2, keep=print)
    """))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(BENCHMARKS)])}
    proc = subprocess.Popen([sys.executable, str(tmp_path / "main.py")], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not ((tmp_path / "a").exists() and (tmp_path / "b").exists()):
        assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read() if proc.stderr else ""
        time.sleep(0.1)
    time.sleep(0.2)  # the pid files are written
    workers = [int((tmp_path / n).read_text()) for n in "ab"]
    assert all(_alive(pid) for pid in workers)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) != 0
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = [pid for pid in workers if _alive(pid)]
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert not left, f"workers {left} still running after the benchmark was stopped"


def test_a_pool_that_cannot_start_restores_the_sigterm_handler(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    from promoters import pool_map

    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(ValueError):
        pool_map(str, ["a"], workers=0, keep=print)  # ProcessPoolExecutor(0) raises
    assert signal.getsignal(signal.SIGTERM) is before

