"""Torch models: the attention layer, the promoter Transformer and the protein models."""
