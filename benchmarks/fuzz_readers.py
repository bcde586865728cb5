"""Fuzz every input reader for longer than the test suite does.

Runs the properties of ``tests/test_fuzz_readers.py`` (any bytes give records or an
``InputError``, never another exception) with ``--examples`` inputs per reader instead of the
suite's 40; a failing input is printed by hypothesis and the script exits non-zero.

    python benchmarks/fuzz_readers.py --examples 5000 [--reader fasta]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=5000, help="inputs per reader")
    parser.add_argument("--reader", default=None, help="only this reader (e.g. fasta, msa_a3m)")
    args = parser.parse_args()
    env = {**os.environ, "MHSA_BIO_FUZZ_EXAMPLES": str(args.examples)}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH")]))
    target = "tests/test_fuzz_readers.py"
    command = [sys.executable, "-m", "pytest", target, "-p", "no:cacheprovider", "-rA"]
    if args.reader:
        command += ["-k", f"[{args.reader}]"]
    start = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env=env)
    print(f"{args.examples} inputs per reader in {time.perf_counter() - start:.0f} s; "
          f"{'no reader raised anything but InputError' if done.returncode == 0 else 'FAILED'}")
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
