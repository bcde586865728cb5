#!/bin/sh
# Regenerate data/example/ exactly: 900 positives x 100 bp with GATA1 (MA0035.5) and TAL1::TCF3
# (MA0091.2) planted, 900 background negatives, and the planted truth. Only run.json (time,
# versions, argv) differs between runs; tests/test_simulate.py checks the rest byte for byte.
set -eu
cd "$(dirname "$0")/.."
mhsa-bio simulate --out data/example --n 900 --length 100 --motifs MA0035.5,MA0091.2 --positions random --gc 0.42 --p-site 0.8 --jaspar-release 2024 --seed 0 --force
