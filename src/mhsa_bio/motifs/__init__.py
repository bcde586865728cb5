"""Attention-derived motifs.

``find`` (a model and sequences in, a ``MotifResult`` out) is the analysis; ``run`` (paths in,
files and ``run.json`` out) is what ``mhsa-bio motifs`` calls; the other modules are its steps:
``heads`` (which heads to read), ``seqlets``, ``cluster``, ``enrichment``, ``passes`` (seqlets into
clusters, and the held-out positional and pointer passes), ``matching`` (JASPAR by Tomtom),
``sites`` (every site of the final matrices), ``diagnosis`` (why nothing passed), ``write``,
``logos`` and ``report``.
"""
