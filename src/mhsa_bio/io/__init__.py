"""Readers and writers: FASTA, BED + genome, MSAs, motif and contact files, atomic outputs."""
