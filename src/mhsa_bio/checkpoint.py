"""Versioned checkpoints: one plain dict, loaded with ``weights_only=True`` and strict keys."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mhsa_bio import __version__
from mhsa_bio.errors import InputError
from mhsa_bio.io.outputs import atomic_path

if TYPE_CHECKING:
    import torch

    from mhsa_bio.models.promoter import PromoterTransformer, Scorer

FORMAT = "mhsa-bio-checkpoint"
FORMAT_VERSION = 1
MODEL_TYPES = ("promoter",)
#: Every key a checkpoint may hold: the model's, then what ``last.pt`` adds to resume training.
KEYS = frozenset(
    {
        "format",
        "format_version",
        "package_version",
        "model_type",
        "config",
        "alphabet",
        "classes",
        "state_dict",
        "provenance",
        "metrics",
        "decision_threshold",
        "optimizer",
        "scheduler",
        "scaler",
        "best_state_dict",
        "train_state",
        "members",
        "kmer_member",
    }
)


def sha256(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file (``-`` for stdin gives an empty string)."""
    if str(path) == "-":
        return ""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def make_checkpoint(
    model: torch.nn.Module,
    *,
    model_type: str,
    config: dict[str, Any],
    alphabet: str,
    classes: list[str],
    provenance: dict[str, Any],
    metrics: dict[str, Any],
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Assemble the checkpoint dict. Every value is a tensor or a plain Python type."""
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "package_version": __version__,
        "model_type": model_type,
        "config": dict(config),
        "alphabet": alphabet,
        "classes": list(classes),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "provenance": provenance,
        "metrics": metrics,
        **(extra or {}),
    }


def save_checkpoint(ckpt: dict[str, Any], path: str | os.PathLike[str]) -> None:
    """Write atomically: a crash mid-write never leaves a truncated checkpoint."""
    import torch

    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        torch.save(ckpt, handle)  # a file object: the archive's inner name is fixed, not tmp's


def read_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and check a checkpoint without executing any code from it.

    Raises
    ------
    InputError
        Missing, truncated, corrupt, foreign (not an mhsa-bio checkpoint) or newer-format files.
    """
    import torch

    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such checkpoint file")
    with open(path, "rb") as handle:
        magic = handle.read(4)
    if magic != b"PK\x03\x04":  # torch.save writes a zip archive
        what = "an empty file" if not magic else "not a PyTorch file: no zip archive"
        raise InputError(f"{path}: not a readable mhsa-bio checkpoint ({what})")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # any failure to unpickle safely means the file is not ours
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if "Weights only load failed" in str(exc):
            first = "it holds objects other than tensors and plain types"
        raise InputError(
            f"{path}: not a readable mhsa-bio checkpoint (corrupt, truncated or foreign: {first[:120]})"
        ) from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise InputError(f"{path}: not an mhsa-bio checkpoint (no '{FORMAT}' format tag)")
    version = ckpt.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise InputError(
            f"{path}: checkpoint format {version} is newer than this mhsa-bio "
            f"{__version__} reads (format {FORMAT_VERSION}); upgrade mhsa-bio"
        )
    for key in ("model_type", "config", "state_dict", "alphabet", "classes"):
        if key not in ckpt:
            raise InputError(f"{path}: checkpoint lacks '{key}'")
    unknown = sorted(set(ckpt) - KEYS, key=str)
    if unknown:
        raise InputError(
            f"{path}: checkpoint holds an unknown key '{unknown[0]}' (written by "
            "another tool or a newer mhsa-bio?)"
        )
    if ckpt["model_type"] not in MODEL_TYPES:
        raise InputError(f"{path}: unknown model type '{ckpt['model_type']}'")
    members = ckpt.get("members", [])
    if not isinstance(members, list) or not all(isinstance(m, dict) for m in members):
        raise InputError(f"{path}: 'members' is not a list of weight sets")
    if "kmer_member" in ckpt:
        from mhsa_bio.models.kmer import KmerLogistic

        try:
            KmerLogistic.from_checkpoint(ckpt["kmer_member"])
        except ValueError as exc:
            raise InputError(f"{path}: {exc}") from None
        if len(ckpt["classes"]) != 2:
            raise InputError(
                f"{path}: a k-mer member belongs to a two-class model, this one has "
                f"{len(ckpt['classes'])} classes"
            )
    t = ckpt.get("decision_threshold", 0.5)
    if isinstance(t, bool) or not isinstance(t, (int, float)) or not 0 <= t <= 1:
        raise InputError(f"{path}: decision_threshold {t!r} is not a probability")
    return ckpt


def decision_threshold(ckpt: dict[str, Any]) -> float | None:
    """The probability of the positive class at or above which a two-class model calls a
    sequence positive: the one stored by ``train``, 0.5 for checkpoints written before it was
    stored; ``None`` for models of more classes (their call is the most probable class)."""
    if len(ckpt["classes"]) != 2:
        return None
    return float(ckpt.get("decision_threshold", 0.5))


def load_model(
    path: str | os.PathLike[str], *, device: str | torch.device = "cpu"
) -> tuple[PromoterTransformer, dict[str, Any]]:
    """Rebuild the model from a checkpoint's config and load its weights with strict keys (the
    first member of an ensemble checkpoint: what motifs and pairs read attention from).

    Returns the model in eval mode on ``device`` and the checkpoint dict.
    """
    ckpt = read_checkpoint(path)
    return _member(ckpt, ckpt["state_dict"], path).to(device).eval(), ckpt


def load_predictor(
    path: str | os.PathLike[str], *, device: str | torch.device = "cpu"
) -> tuple[Scorer, dict[str, Any]]:
    """What scores sequences: the model of a checkpoint, or of an ensemble checkpoint
    (``train --ensemble K``) all its members as one :class:`PromoterEnsemble`; with a k-mer
    member (``train --kmer-member``) either of them averaged with it as :class:`WithKmer`. In
    eval mode on ``device``, with the checkpoint dict."""
    from mhsa_bio.models.promoter import PromoterEnsemble, WithKmer

    ckpt = read_checkpoint(path)
    first = _member(ckpt, ckpt["state_dict"], path)
    net: PromoterTransformer | PromoterEnsemble = first
    if ckpt.get("members"):
        net = PromoterEnsemble([first] + [_member(ckpt, state, path) for state in ckpt["members"]])
    if "kmer_member" not in ckpt:
        return net.to(device).eval(), ckpt
    from mhsa_bio.models.kmer import KmerLogistic

    entry = ckpt["kmer_member"]
    kmer = KmerLogistic.from_checkpoint(entry)
    return WithKmer(net, kmer, weight=float(entry["average_weight"])).to(device).eval(), ckpt


def ensemble_size(ckpt: dict[str, Any]) -> int:
    """How many models a checkpoint holds (1 unless written by ``train --ensemble K``)."""
    return 1 + len(ckpt.get("members", []))


def _member(ckpt: dict[str, Any], state: dict[str, Any], path: str | os.PathLike[str]) -> PromoterTransformer:
    from mhsa_bio.models.promoter import PromoterConfig, PromoterTransformer

    try:
        config = PromoterConfig.from_dict(ckpt["config"])
        model = PromoterTransformer(config)
        model.load_state_dict(state, strict=True)
    except (TypeError, ValueError, RuntimeError) as exc:
        first = str(exc).strip().splitlines()[0]
        raise InputError(f"{path}: checkpoint does not match the model it names ({first[:160]})") from None
    return model
