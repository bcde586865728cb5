"""Data-parallel training under ``torchrun``: process group, rank roles, batch sharding.

``mhsa-bio train`` runs unchanged under ``torchrun --nproc_per_node=N``: torchrun sets
``WORLD_SIZE``, ``RANK`` and ``LOCAL_RANK``; every rank builds the same split and the same
per-epoch permutation (both seeded), takes its share of each batch (:func:`shard`), and
DistributedDataParallel averages the gradients. Rank 0 evaluates, logs and writes; the other
ranks write nothing. ``--batch-size`` stays the global batch, so the optimisation (learning rate,
schedule, steps per epoch) is the one of a single process and so are the metrics, within the
noise of dropout and summation order.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from mhsa_bio.errors import InputError

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)


class DistContext(NamedTuple):
    """This process's place in a distributed run (``world_size`` 1 when not distributed)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        """Rank 0: the only rank that evaluates, logs and writes."""
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world_size > 1


SINGLE = DistContext()


def context_from_env(environ: dict[str, str] | None = None) -> DistContext:
    """Read ``WORLD_SIZE``, ``RANK`` and ``LOCAL_RANK`` as set by torchrun (or SLURM + torchrun).

    Without ``WORLD_SIZE`` (or with 1) this is a single process.
    """
    env = os.environ if environ is None else environ
    try:
        world = int(env.get("WORLD_SIZE", "1"))
        rank = int(env.get("RANK", "0"))
        local = int(env.get("LOCAL_RANK", str(rank)))
    except ValueError:
        raise InputError("WORLD_SIZE, RANK and LOCAL_RANK must be integers (as torchrun sets them)") from None
    if world < 1 or not 0 <= rank < world or local < 0:
        raise InputError(
            f"inconsistent torchrun environment: RANK {rank}, WORLD_SIZE {world}, LOCAL_RANK {local}"
        )
    return DistContext(rank, world, local)


def rank_device(ctx: DistContext, device: torch.device) -> torch.device:
    """On CUDA each rank takes the GPU of its local rank; CPU stays CPU."""
    import torch

    if ctx.active and device.type == "cuda":
        if ctx.local_rank >= torch.cuda.device_count():
            raise InputError(
                f"LOCAL_RANK {ctx.local_rank}: only {torch.cuda.device_count()} "
                "CUDA GPUs here (--nproc_per_node is larger than the GPU count)"
            )
        torch.cuda.set_device(ctx.local_rank)
        return torch.device("cuda", ctx.local_rank)
    return device


@contextlib.contextmanager
def process_group(ctx: DistContext, device: torch.device) -> Iterator[None]:
    """Initialise the process group from torchrun's environment (nccl on CUDA, gloo on CPU) for
    the duration of the block; nothing happens for a single process."""
    if not ctx.active:
        yield
        return
    import torch.distributed as dist

    backend = "nccl" if device.type == "cuda" else "gloo"
    dist.init_process_group(backend=backend, rank=ctx.rank, world_size=ctx.world_size)
    log.info("rank %d of %d: process group up (%s)", ctx.rank, ctx.world_size, backend)
    try:
        yield
    finally:
        dist.destroy_process_group()


def shard(idx: np.ndarray, ctx: DistContext) -> np.ndarray:
    """This rank's share of a batch: every ``world_size``-th index from ``rank``.

    Deterministic, disjoint across ranks, and together exactly ``idx`` (what a
    ``DistributedSampler`` does over one epoch's permutation, applied per batch so that the
    global batch is the single-process batch).
    """
    return idx[ctx.rank :: ctx.world_size]


def barrier(ctx: DistContext) -> None:
    """Wait for every rank (no-op for one process)."""
    if ctx.active:
        import torch.distributed as dist

        dist.barrier()


def broadcast(obj: Any, ctx: DistContext) -> Any:
    """Rank 0's ``obj`` on every rank (picklable objects; no-op for one process)."""
    if not ctx.active:
        return obj
    import torch.distributed as dist

    box = [obj if ctx.is_main else None]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def all_reduce_sum(value: torch.Tensor, ctx: DistContext) -> torch.Tensor:
    """Sum of ``value`` over ranks (in place; returned for convenience)."""
    if ctx.active:
        import torch.distributed as dist

        dist.all_reduce(value, op=dist.ReduceOp.SUM)
    return value


def wrap_model(model: torch.nn.Module, ctx: DistContext, device: torch.device) -> torch.nn.Module:
    """DistributedDataParallel around ``model`` when distributed, else ``model`` itself."""
    if not ctx.active:
        return model
    from torch.nn.parallel import DistributedDataParallel

    ids = [device.index] if device.type == "cuda" else None
    return DistributedDataParallel(model, device_ids=ids)
