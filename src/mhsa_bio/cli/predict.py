"""Placeholder while the foundation is written."""


def predict() -> None:
    """Not written yet."""
