"""mhsa-bio: multi-head self-attention models for biological sequences."""

__version__ = "0.1.0"
