"""Spacing plots of the top pairs: co-attention and occurrence by spacing, positives vs null."""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mhsa_bio.io.outputs import atomic_path

if TYPE_CHECKING:
    from mhsa_bio.pairs.find import PairResult

log = logging.getLogger(__name__)

__all__ = ["plot_name", "spacing_plots"]


def plot_name(rank: int, row: Any) -> str:
    """File name of a pair's plot: ``spacing_01_GATA1_TAL1_pp.png``; ``.`` (no strand) is ``u``."""
    orient = row["orientation"].replace("+", "p").replace("-", "m").replace(".", "u")
    name = f"spacing_{rank:02d}_{row['name_a']}_{row['name_b']}_{orient}"
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name) + ".png"


def spacing_plots(result: PairResult, out_dir: str | os.PathLike[str], *, top: int = 5) -> list[Path]:
    """One PNG per top pair (distinct A, B, orientation), at most ``top``.

    Upper panel: mean co-attention of the pair's best head at every spacing in the analysed
    sequences (marker area ∝ sequences) and in the null (mean per 5 bp bin of spacing, any
    orientation). Lower panel: share of analysed vs background sequences holding the pair at each
    spacing. The group's own spacing is marked.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    table = result.table
    prof = result.profiles
    out_dir = Path(out_dir)
    written: list[Path] = []
    seen: set[tuple[int, int, str]] = set()
    for _, row in table.iterrows():
        ident = (int(row["_a"]), int(row["_b"]), str(row["orientation"]))
        if ident in seen:
            continue
        seen.add(ident)
        if len(written) >= top:
            break
        head = result.heads.index(row["best_head"])
        a, b, orient = ident
        xs, ys, ns = [], [], []
        for key, values in prof["pos"].items():
            if key.a == a and key.b == b and key.orientation == orient:
                xs.append(key.spacing)
                ys.append(float(values[:, head].mean()))
                ns.append(len(values))
        order = np.argsort(xs)
        xs_a, ys_a, ns_a = np.asarray(xs)[order], np.asarray(ys)[order], np.asarray(ns)[order]
        null_s = np.array([k.spacing for k in prof["null_keys"] if k.a == a and k.b == b])
        null_v = np.array(
            [prof["null_values"][i, head] for i, k in enumerate(prof["null_keys"]) if k.a == a and k.b == b]
        )
        fig, (ax1, ax2) = plt.subplots(
            2, 1, figsize=(7, 5.5), sharex=True, gridspec_kw={"height_ratios": [3, 2]}
        )
        ax1.scatter(
            xs_a,
            ys_a,
            s=8 + 40 * ns_a / max(ns_a.max(initial=1), 1),
            alpha=0.7,
            label="sequences (area ∝ count)",
        )
        if len(null_s):
            bins = np.arange(np.floor(null_s.min() / 5) * 5, null_s.max() + 5.001, 5)
            idx = np.digitize(null_s, bins)
            centres = [(bins[i - 1] + 2.5) for i in np.unique(idx)]
            means = [null_v[idx == i].mean() for i in np.unique(idx)]
            ax1.plot(centres, means, color="grey", lw=1.5, label="null (5 bp bins)")
        ax1.axvline(row["spacing"], color="crimson", lw=0.8, ls="--")
        ax1.set_ylabel(f"co-attention, {row['best_head']}")
        ax1.set_title(
            f"{row['name_a']} – {row['name_b']} {orient}: spacing {row['spacing']:g} bp, q = {row['q']:.2g}",
            fontsize=10,
        )
        ax1.legend(fontsize=8, frameon=False)
        keys = sorted(
            k
            for k in set(prof["pos_counts"]) | set(prof["bg_counts"])
            if k.a == a and k.b == b and k.orientation == orient
        )
        sp = np.array([k.spacing for k in keys])
        fp = np.array([prof["pos_counts"].get(k, 0) for k in keys]) / max(prof["n_pos"], 1)
        fb = np.array([prof["bg_counts"].get(k, 0) for k in keys]) / max(prof["n_bg"], 1)
        ax2.vlines(sp - 0.15, 0, fp, color="C0", lw=1.2, label="analysed")
        ax2.vlines(sp + 0.15, 0, fb, color="C1", lw=1.2, label="background")
        ax2.axvline(row["spacing"], color="crimson", lw=0.8, ls="--")
        ax2.set_xlabel("spacing, centre of B − centre of A (bp)")
        ax2.set_ylabel("share of sequences")
        ax2.legend(fontsize=8, frameon=False)
        fig.tight_layout()
        path = out_dir / plot_name(len(written) + 1, row)
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=110, format="png")
        plt.close(fig)
        written.append(path)
    log.info("wrote %d spacing plots", len(written))
    return written
