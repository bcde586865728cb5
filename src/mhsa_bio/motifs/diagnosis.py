"""Why a motif run found nothing: the first step of the pipeline that left nothing, in words."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from mhsa_bio.motifs.find import MotifParams
    from mhsa_bio.motifs.heads import HeadStats
    from mhsa_bio.motifs.seqlets import Calibration

__all__ = ["why_nothing"]


def why_nothing(
    *,
    heads: Sequence[HeadStats],
    n_seqlets: int,
    n_clusters: int,
    best_q: float | None,
    calibration: Calibration,
    params: MotifParams,
    attention: bool,
) -> str:
    """The first step of the pipeline that left nothing, in words (the model's own validation
    AUROC is checked by the caller, which has the checkpoint)."""
    from mhsa_bio.motifs.heads import MIN_AUROC

    best = max((h.separation_auroc for h in heads), default=0.5)
    if n_seqlets == 0:
        if attention and best < MIN_AUROC:
            return (
                f"no head separates positives from background (best AUROC {best:.2f} < "
                f"{MIN_AUROC:g}): no seqlet passed"
            )
        est = calibration.achieved_fdr
        return f"no seqlet passed the threshold calibrated on background at FDR {calibration.fdr:g}" + (
            f" (best estimated FDR {est:.2g})" if np.isfinite(est) else ""
        )
    if n_clusters == 0:
        return f"{n_seqlets} seqlets passed, no cluster reached --min-sites {params.min_sites}"
    return (
        f"{n_clusters} clusters, none enriched over background at q <= {params.fdr:g} (best q {best_q:.2g})"
    )
