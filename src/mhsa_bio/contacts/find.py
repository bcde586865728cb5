"""Contacts from an alignment in memory: weights, the fit, and the APC read-out."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, NamedTuple

import numpy as np

from mhsa_bio.contacts.fit import FitConfig, fit_couplings
from mhsa_bio.contacts.readout import contact_scores as apc_scores
from mhsa_bio.contacts.readout import coupling_norms, probability
from mhsa_bio.contacts.weights import sequence_weights
from mhsa_bio.io.msa import MSA, N_STATES


class ContactsResult(NamedTuple):
    """Contact predictions for one query.

    Attributes
    ----------
    query : the query sequence (L,)
    query_id : its id
    scores : (L, L) symmetric APC-corrected scores, zero diagonal
    probabilities : (L, L) calibrated contact probabilities
    method : ``factored``, ``potts`` or ``esm``
    info : facts for ``run.json`` (N, distinct rows, Neff, steps, seconds, resolved config)
    structure : the mapped structure, or None
    metrics : precision table and counts when a structure was given, else None
    """

    query: str
    query_id: str
    scores: np.ndarray
    probabilities: np.ndarray
    method: str
    info: dict[str, Any]
    structure: Any = None
    metrics: dict[str, Any] | None = None


def contacts_from_msa(
    msa: MSA, *, config: FitConfig, identity: float = 0.8, device: str = "cpu", seed: int = 0, progress=None
) -> ContactsResult:
    """Weight the MSA, fit the model and read contacts from ‖W_ij‖ (gap state left out) + APC.

    Parameters
    ----------
    msa : an alignment restricted to the query's L columns
    config : the fit configuration (model type, heads, steps, ...)
    identity : sequence identity for the weights
    device, seed : torch device and seed
    progress : passed to ``fit_couplings``
    """
    tokens = msa.encode()
    weights = sequence_weights(tokens, identity=identity, n_states=N_STATES)
    fit = fit_couplings(
        weights, config=config, n_states=N_STATES, device=device, seed=seed, progress=progress
    )
    scores = apc_scores(coupling_norms(fit.couplings))
    info = {
        "n_sequences": int(tokens.shape[0]),
        "n_distinct": int(weights.unique.shape[0]),
        "neff": round(weights.neff, 2),
        "length": int(tokens.shape[1]),
        "steps": fit.steps,
        "fit_seconds": round(fit.seconds, 2),
        "final_loss": round(fit.losses[-1], 4) if fit.losses else None,
        "config": asdict(fit.config),
    }
    return ContactsResult(
        msa.query,
        msa.ids[msa.query_index],
        scores,
        probability(scores, model=fit.config.model_type),
        fit.config.model_type,
        info,
    )
