"""Snakemake script: the regions of a BED file cut from a genome, as FASTA (rule `regions`).

Uses the same reader as ``mhsa-bio train --bed --genome`` (strand-aware, ids from the BED names),
so motifs and pairs read exactly the sequences the model was trained on.
"""

import logging

from mhsa_bio.io.fasta import write_fasta
from mhsa_bio.io.genome import read_bed_regions
from mhsa_bio.io.outputs import atomic_open

snakemake = globals()["snakemake"]  # injected by Snakemake's `script:` directive
logging.basicConfig(filename=snakemake.log[0], level=logging.INFO)
records = read_bed_regions(snakemake.input.bed, snakemake.input.genome)
with atomic_open(snakemake.output[0]) as handle:
    write_fasta(handle, records)
logging.info("wrote %d regions to %s", len(records), snakemake.output[0])
