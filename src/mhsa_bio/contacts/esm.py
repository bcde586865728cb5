"""Contacts of one sequence from a local ESM-2 checkpoint's attention (optional ``fair-esm``)."""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from mhsa_bio.contacts.readout import apc, probability, symmetrize
from mhsa_bio.errors import InputError

log = logging.getLogger(__name__)


def _torch_load(path: Path) -> Any:
    """Load a fair-esm checkpoint with ``weights_only=True``: tensors, plain types and
    ``argparse.Namespace`` configs only. A file that needs anything else is refused, never
    unpickled fully (that could execute code from it)."""
    import argparse

    import torch

    try:
        with torch.serialization.safe_globals([argparse.Namespace]):
            return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # any failure to unpickle safely means we do not read the file
        if "Weights only load failed" in str(exc):
            raise InputError(
                f"{path}: holds Python objects other than tensors and plain configs; mhsa-bio "
                "only loads checkpoints with weights_only=True (re-save it as a dict of "
                "'model' state dict and an argparse.Namespace or dict config)"
            ) from None
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"{path}: cannot read as a torch checkpoint ({first[:160]})") from None


def load_esm(path: str | os.PathLike[str]):
    """Load an ESM-2 checkpoint saved as fair-esm saves them, and its regression head if present.

    The regression weights are read from ``<stem>-contact-regression.pt`` beside the checkpoint,
    as fair-esm does; without them only the attention maps are used.

    Returns
    -------
    model, alphabet, has_regression
    """
    try:
        import esm  # noqa: F401
        from esm.pretrained import load_model_and_alphabet_core
    except ImportError:
        raise InputError(
            "--model needs the optional fair-esm package: "
            "pip install 'mhsa-bio[esm]' (or pip install fair-esm)"
        ) from None
    path = Path(path)
    data = _torch_load(path)
    if not isinstance(data, dict) or "model" not in data or "cfg" not in data:
        raise InputError(f"{path}: not a fair-esm ESM-2 checkpoint (no 'model' and 'cfg')")
    regression_path = Path(str(path.with_suffix("")) + "-contact-regression.pt")
    regression = _torch_load(regression_path) if regression_path.is_file() else None
    name = path.stem if path.stem.startswith("esm2") else f"esm2_{path.stem}"
    try:
        with warnings.catch_warnings():  # "regression weights not found": handled here
            warnings.simplefilter("ignore", UserWarning)
            model, alphabet = load_model_and_alphabet_core(name, data, regression)
    except (RuntimeError, KeyError, AttributeError) as exc:
        raise InputError(f"{path}: not a readable ESM-2 checkpoint ({exc})") from None
    model.eval()
    return model, alphabet, regression is not None


def contacts_from_esm(
    path: str | os.PathLike[str], sequence: str, *, device: str = "cpu"
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Score contacts of ``sequence`` from an ESM-2 model.

    Every layer × head attention map (BOS and EOS cropped, padding never read) is symmetrised and
    APC-corrected. With the checkpoint's logistic-regression head the scores are its
    probabilities (ESM's ``predict_contacts``); without it, the mean of the corrected maps,
    calibrated by ``readout.probability``.

    Parameters
    ----------
    path : the checkpoint
    sequence : the protein (L,), upper-case

    Returns
    -------
    scores : (L, L), probabilities : (L, L), info : dict for ``run.json``
    """
    import torch

    if len(sequence) > 1022:
        raise InputError(f"{path}: ESM-2 reads at most 1022 residues; the query has {len(sequence)}")
    model, alphabet, has_regression = load_esm(path)
    model = model.to(device)
    converter = alphabet.get_batch_converter()
    _, _, tokens = converter([("query", sequence)])
    length = len(sequence)
    with torch.no_grad():
        out = model(tokens.to(device), repr_layers=[], need_head_weights=True, return_contacts=has_regression)
    attn = out["attentions"][0].float().cpu().numpy()  # (layers, H, L+2, L+2)
    start = 1 if alphabet.prepend_bos else 0
    attn = attn[..., start : start + length, start : start + length]
    layers, heads = attn.shape[:2]
    maps = apc(symmetrize(attn.reshape(layers * heads, length, length)))
    if has_regression:
        scores = out["contacts"][0].float().cpu().numpy()[:length, :length]
        scores = symmetrize(scores)
        probs = scores.copy()
    else:
        scores = maps.mean(0)
        np.fill_diagonal(scores, 0.0)
        probs = probability(scores)
    info = {
        "model": str(path),
        "layers": int(layers),
        "heads": int(heads),
        "regression_head": has_regression,
        "length": length,
    }
    return scores, probs, info
