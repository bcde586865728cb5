"""Figures written by the commands (matplotlib, Agg backend, imported lazily)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from mhsa_bio.io.outputs import atomic_path


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def learning_curve(
    history: Sequence[dict[str, Any]], path: str | os.PathLike[str], *, best_epoch: int | None = None
) -> None:
    """Training/validation loss and validation AUROC/AUPRC per epoch, as a PNG."""
    plt = _pyplot()
    epochs = [h["epoch"] for h in history]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.5))
    ax1.plot(epochs, [h["train_loss"] for h in history], marker="o", label="train")
    ax1.plot(epochs, [h["val_loss"] for h in history], marker="o", label="validation")
    ax1.set_xlabel("epoch")
    ax1.set_ylabel("cross-entropy loss")
    ax1.legend()
    ax2.plot(epochs, [h["val_auroc"] for h in history], marker="o", label="AUROC")
    ax2.plot(epochs, [h["val_auprc"] for h in history], marker="o", label="AUPRC")
    ax2.set_xlabel("epoch")
    ax2.set_ylabel("validation")
    ax2.set_ylim(0, 1.02)
    ax2.legend(loc="lower right")
    if best_epoch:
        for ax in (ax1, ax2):
            ax.axvline(best_epoch, color="grey", linestyle=":", linewidth=1)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    plt.close(fig)
