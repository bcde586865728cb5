"""Stem pretraining: the convolution stem trained alone as a max-pool CNN before the Transformer.

On long sequences with sparse sites the CLS attention starts spread evenly over hundreds of bases,
so neither the attention nor the values see a site, and the model sits at chance for tens of
epochs (1,000 positives of 500 bp: until epoch 43), then memorises its training positives with
one motif learned. A max-pool CNN on the same stem learns several motifs within a few epochs.
So, before the Transformer trains, the stem is trained as one: each filter's maximum over the
positions of both strands, ReLU, dropout and a linear layer to the classes. Its linear layer
then becomes the stem guide's per-base scorer (``PromoterTransformer.stem_head``: identity, ReLU,
the pooled head's weights), so the first layer's CLS attention points at the bases the CNN
found from the first epoch on.
"""

from __future__ import annotations

import copy
import logging
import time
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from mhsa_bio.metrics import multiclass_metrics
from mhsa_bio.training.batches import batch_order, batch_tensors
from mhsa_bio.training.split import Split, epoch_training_set

if TYPE_CHECKING:
    from mhsa_bio.models.promoter import PromoterTransformer
    from mhsa_bio.training.trainer import TrainConfig

log = logging.getLogger(__name__)

#: ``--stem-pretrain`` by default when the stem guide is on: the most epochs of the max-pool CNN.
PRETRAIN_EPOCHS = 30
#: Epochs without a better validation AUROC before the pretraining stops.
PRETRAIN_PATIENCE = 6
PRETRAIN_LR = 1e-3
PRETRAIN_DROPOUT = 0.2


class PooledStem(nn.Module):
    """The model's stem read as a CNN: each channel's maximum over the positions of both strands,
    ReLU, dropout, a linear layer to the classes."""

    def __init__(self, model: PromoterTransformer) -> None:
        super().__init__()
        self.model = model
        dim = model.stem.out_channels
        self.drop = nn.Dropout(PRETRAIN_DROPOUT)
        self.out = nn.Linear(dim, model.config.n_classes)

    def forward(self, records: list[Any], idx: np.ndarray, device: torch.device) -> torch.Tensor:
        """(N, C) logits of ``records[idx]``."""
        pooled = []
        for rc in (None, np.ones(idx.size, dtype=bool)):  # both strands
            tokens, lengths = batch_tensors(records, idx, device, rc)
            h, pad = self.model.stem_features(tokens, lengths)  # (N, L, D)
            pooled.append(h.masked_fill(pad[..., None], float("-inf")).amax(dim=1))
        return self.out(self.drop(torch.relu(torch.maximum(*pooled))))


def _scores(pooled: PooledStem, records: list[Any], device: torch.device, batch: int) -> np.ndarray:
    """(N, C) class probabilities of ``records``."""
    pooled.eval()
    out = []
    with torch.no_grad():
        for start in range(0, len(records), batch):
            idx = np.arange(start, min(start + batch, len(records)))
            out.append(pooled(records, idx, device).float().softmax(dim=-1).cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, pooled.out.out_features))


def pretrain_stem(
    model: PromoterTransformer, split: Split, config: TrainConfig, device: torch.device
) -> dict[str, Any]:
    """Train ``model.stem`` as a max-pool CNN for at most ``config.stem_pretrain`` epochs (fresh
    shuffles each epoch, as the Transformer's training), keep the epoch with the best validation
    AUROC, and set the stem guide's scorer from its linear layer. Returns what it did: epochs
    run, best epoch, its validation AUROC, seconds."""
    scorer = model.stem_head
    if not isinstance(scorer, nn.Sequential):
        raise ValueError("stem pretraining sets the stem guide's scorer: the model needs stem_guide > 0")
    start = time.perf_counter()
    torch.manual_seed(config.fit_seed)
    pooled = PooledStem(model).to(device)
    params = [*model.stem.parameters(), *pooled.out.parameters()]
    optimizer = torch.optim.Adam(params, lr=PRETRAIN_LR)
    best, best_epoch, bad, state = -1.0, 0, 0, None
    epoch = 0
    for epoch in range(1, config.stem_pretrain + 1):
        data = epoch_training_set(split, epoch=epoch, config=config)
        rng = np.random.default_rng([config.fit_seed, epoch, 2])
        pooled.train()
        for idx in batch_order(len(data.records), config.batch_size, rng):
            labels = torch.from_numpy(data.labels[idx]).to(device)
            loss = F.cross_entropy(pooled(data.records, idx, device).float(), labels)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        probs = _scores(pooled, split.val.records, device, 256)
        score = float(multiclass_metrics(split.val.labels, probs)["auroc"])  # as Trainer.evaluate
        log.debug("stem pretraining epoch %d: validation AUROC %.4f", epoch, score)
        if score > best:
            best, best_epoch, bad = score, epoch, 0
            state = copy.deepcopy((model.stem.state_dict(), pooled.out.state_dict()))
        else:
            bad += 1
            if bad >= PRETRAIN_PATIENCE:
                break
    if state is not None:
        model.stem.load_state_dict(state[0])
        pooled.out.load_state_dict(state[1])
    first, last = scorer[0], scorer[2]
    if not (isinstance(first, nn.Linear) and isinstance(last, nn.Linear)):
        raise TypeError("the stem guide's scorer is Linear, ReLU, Linear")
    with torch.no_grad():  # the per-base scorer: ReLU of each channel, then the pooled head's weights
        first.weight.copy_(torch.eye(first.out_features, device=first.weight.device))
        first.bias.zero_()
        last.weight.copy_(pooled.out.weight)
        last.bias.copy_(pooled.out.bias)
    summary = {
        "epochs_run": epoch,
        "best_epoch": best_epoch,
        "val_auroc": round(best, 4),
        "seconds": round(time.perf_counter() - start, 1),
    }
    log.info(
        "stem pretraining (max-pool CNN on both strands): validation AUROC %.3f at epoch %d of %d, %.0f s",
        best,
        best_epoch,
        epoch,
        summary["seconds"],
    )
    return summary
