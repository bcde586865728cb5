"""What trains a fresh model: AdamW, the warm-up/cosine learning-rate schedule and the loss scaler."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

import torch

from mhsa_bio.models.promoter import PromoterConfig, PromoterTransformer
from mhsa_bio.runtime.device import amp_dtype

if TYPE_CHECKING:
    from mhsa_bio.training.trainer import TrainConfig


def _lr_lambda(total: int, warmup: int) -> Callable[[int], float]:
    def f(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(1, total - warmup)
        return 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))

    return f


class Optimisation(NamedTuple):
    """The model and what trains it."""

    model: PromoterTransformer
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LambdaLR
    scaler: torch.amp.GradScaler


def build_optimisation(
    model_config: PromoterConfig, config: TrainConfig, *, n_train: int, device: torch.device
) -> Optimisation:
    """A fresh model (seeded by ``config.seed``) on ``device``, AdamW, the warm-up/cosine
    schedule over ``config.epochs`` epochs of ``n_train`` sequences, and the loss scaler."""
    torch.manual_seed(config.fit_seed)
    model = PromoterTransformer(model_config).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    steps_per_epoch = math.ceil(n_train / config.batch_size)
    total = steps_per_epoch * config.epochs
    warmup = max(1, int(config.warmup_fraction * total))
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _lr_lambda(total, warmup))
    # float16 autocast (GPUs without bfloat16) needs loss scaling; bfloat16 and CPU do not
    scaler = torch.amp.GradScaler("cuda", enabled=config.amp and amp_dtype(device) == torch.float16)
    return Optimisation(model, optimizer, scheduler, scaler)
