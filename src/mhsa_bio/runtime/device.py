"""Choosing the torch device and seeding every random generator."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

import numpy as np

from mhsa_bio.errors import InputError

if TYPE_CHECKING:
    import torch


def resolve_device(name: str) -> torch.device:
    """``auto`` picks CUDA when available, else CPU; ``cuda`` without a GPU is an input error."""
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise InputError(f"--device {name}: no CUDA GPU is available here (use --device cpu)")
        return torch.device(name)
    raise InputError(f"--device {name}: expected auto, cpu, cuda or cuda:N")


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch."""
    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def amp_dtype(device: torch.device) -> torch.dtype:
    """The mixed-precision type on ``device``: bfloat16 where the GPU has it, else float16;
    float32 (no mixed precision) off CUDA."""
    import torch

    if device.type != "cuda":
        return torch.float32
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def autocast(device: torch.device, *, enabled: bool) -> Any:
    """Mixed precision on CUDA (bfloat16 where supported, else float16); a no-op elsewhere."""
    import torch

    if device.type == "cuda" and enabled:
        return torch.autocast("cuda", dtype=amp_dtype(device))
    return torch.autocast(device.type, enabled=False)
