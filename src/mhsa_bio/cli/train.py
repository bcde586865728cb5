"""Placeholder while the foundation is written."""


def train() -> None:
    """Not written yet."""
