"""Helpers shared by the benchmark scripts: where the shared data lives, peak memory, tables."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


def shared(*parts: str) -> Path:
    """A path under ../shared/data; exits cleanly (status 0, a note) when it is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        print(f"skipped: {path} is not here (the benchmarks read ../shared/data)")
        sys.exit(0)
    return path


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def table(rows: list[dict[str, object]]) -> str:
    """A GitHub-flavoured Markdown table of dict rows."""
    if not rows:
        return ""
    keys = list(rows[0])
    fmt = [lambda v: f"{v:.3f}" if isinstance(v, float) else str(v)][0]
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    lines += ["| " + " | ".join(fmt(r[k]) for k in keys) + " |" for r in rows]
    return "\n".join(lines)


def run_worker(cmd: list[str], env: dict[str, str] | None = None) -> dict:
    """Run a benchmark worker subprocess; its last stdout line is a JSON dict of results."""
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])
