"""Sequence logos (information content, bits) drawn locally with logomaker; PNG bytes or files."""

from __future__ import annotations

import io
import os

import numpy as np

from mhsa_bio.io.outputs import atomic_path
from mhsa_bio.pwm import information


def _png_bytes(fig, dpi: int) -> bytes:  # fig: matplotlib Figure
    """The figure, laid out, as PNG bytes."""
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def logo_png(probs: np.ndarray, *, title: str = "", dpi: int = 100) -> bytes:
    """PNG of the information-content logo of a (W, 4) probability matrix."""
    import logomaker
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    probs = np.asarray(probs, dtype=np.float64)
    heights = probs * information(probs)[:, None]
    frame = pd.DataFrame(heights.astype(np.float64), columns=list("ACGT"))
    fig, ax = plt.subplots(figsize=(max(2.5, 0.45 * probs.shape[0] + 0.8), 2.0))
    try:
        logomaker.Logo(frame, ax=ax, color_scheme="classic")
        ax.set_ylim(0, 2)
        ax.set_ylabel("bits")
        ax.set_xticks(range(probs.shape[0]))
        ax.set_xticklabels([str(i + 1) for i in range(probs.shape[0])], fontsize=7)
        if title:
            ax.set_title(title, fontsize=9)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        return _png_bytes(fig, dpi)
    finally:
        plt.close(fig)


def write_logo(path: str | os.PathLike[str], probs: np.ndarray, *, title: str = "") -> bytes:
    """Write the logo PNG atomically and return its bytes (for the HTML report)."""
    data = logo_png(probs, title=title)
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return data


def profile_png(positive: np.ndarray, background: np.ndarray, *, score: str, dpi: int = 100) -> bytes:
    """PNG of the mean per-position score over positives and background."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 2.6))
    try:
        ax.plot(np.arange(positive.size), positive, label="positives", lw=1.2)
        ax.plot(np.arange(background.size), background, label="background", lw=1.0, alpha=0.7)
        ax.axhline(1.0, color="grey", lw=0.5, ls=":")
        ax.set_xlabel("position (0-based)")
        ax.set_ylabel(f"mean {score} score")
        ax.legend(frameon=False, fontsize=8)
        return _png_bytes(fig, dpi)
    finally:
        plt.close(fig)
