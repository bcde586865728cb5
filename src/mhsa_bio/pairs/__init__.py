"""Co-attended TF motif pairs: which motifs the heads connect, at which spacing, and is it real.

``find_pairs`` runs the whole analysis (motifs come from ``mhsa_bio.io.meme``); the modules are
its steps: ``sites`` (PWM sites with exact p-values), ``composite`` (one matrix holding two sites
split into its parts), ``geometry`` (pair keys), ``coattention`` (per head), ``null`` (sites
re-embedded in shuffles), ``stats`` (tests, BH, enrichment), ``groups`` (each (A, B,
orientation, spacing) group tested, the table), ``plots``, ``io`` (``pairs.tsv``), ``report``
(the section in the motifs report); ``run`` is one ``mhsa-bio pairs`` run on disk (inputs
resolved and validated, files and ``run.json`` written). Nothing here imports torch at import time.
"""

from __future__ import annotations

from mhsa_bio.pairs.find import PairResult, find_pairs
from mhsa_bio.pairs.groups import COLUMNS

__all__ = ["COLUMNS", "PairResult", "find_pairs"]
