"""Data-parallel training under ``torchrun``: process group, gradient averaging, gathering.

``torchrun --nproc_per_node=N -m wganbench train ...`` starts N processes with ``RANK``,
``WORLD_SIZE`` and ``LOCAL_RANK`` set; the runner then trains data-parallel: every rank builds the
same models from the run seed, draws its own data, noise and penalty streams from (seed, rank),
and after every backward pass the gradients are averaged over the ranks before the optimiser
step. With losses that are means over the batch, that is exactly the gradient of one process
with batch N x m fed the ranks' samples, for the gradient penalty too (it is a mean of
per-sample terms), and weight clipping, applied after the identical step, stays identical.

Gradients are averaged with one ``all_reduce`` over a flattened buffer per network rather than
through ``DistributedDataParallel``: DDP's reducer does not support the double backward of the
gradient penalty, and explicit averaging keeps the steps of
:class:`~wganbench.objectives.algorithm.Objective` unchanged. A critic with batch norm sees
per-rank batch statistics (as DDP without SyncBatchNorm would), so BN critics are not
equivalent to one large batch; GP critics have no batch norm.

Backends: NCCL for CUDA devices, gloo on CPU.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch import nn


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def from_env() -> DistInfo:
    """Rank and world size set by torchrun (single process when absent)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    return DistInfo(int(os.environ["RANK"]), world, int(os.environ.get("LOCAL_RANK", "0")))


def init(info: DistInfo, device: torch.device) -> bool:
    """Join the process group if torchrun asked for one; returns whether this call created it."""
    if not info.enabled or dist.is_initialized():
        return False
    backend = "nccl" if device.type == "cuda" else "gloo"
    if device.type == "cuda":
        torch.cuda.set_device(device)
    dist.init_process_group(backend=backend, rank=info.rank, world_size=info.world_size)
    return True


def current() -> DistInfo:
    if dist.is_available() and dist.is_initialized():
        return DistInfo(dist.get_rank(), dist.get_world_size(),
                        int(os.environ.get("LOCAL_RANK", "0")))
    return DistInfo()


def average_gradients(module: nn.Module) -> None:
    """Replace every gradient of ``module`` by its mean over the ranks (one all_reduce)."""
    grads = [p.grad for p in module.parameters() if p.grad is not None]
    if not grads:
        return
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat, op=dist.ReduceOp.SUM)
    flat.div_(dist.get_world_size())
    offset = 0
    for g in grads:
        n = g.numel()
        g.copy_(flat[offset:offset + n].view_as(g))
        offset += n


def gather_to_main(obj: Any) -> list[Any] | None:
    """Every rank's ``obj`` on rank 0 (None elsewhere)."""
    out = [None] * dist.get_world_size() if dist.get_rank() == 0 else None
    dist.gather_object(obj, out, dst=0)
    return out


def barrier() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def agree_on_reason(reason: str | None, device: torch.device) -> str | None:
    """Every rank's verdict on divergence made one (a collective): this rank's reason, another
    rank's when this one saw nothing, None when no rank did."""
    flag = torch.tensor([0.0 if reason is None else 1.0], device=device)
    dist.all_reduce(flag, op=dist.ReduceOp.MAX)
    if flag.item() == 0:
        return None
    return reason or "a non-finite value on another rank"
