"""Data-parallel training across the ranks the registry launched (registry/ranks.py): torch's
DistributedDataParallel, NCCL on CUDA and gloo on the CPU.

The launcher sets torchrun's variables (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT);
`current()` joins the process group once per process on first use. With WORLD_SIZE unset or 1
every hook here is the identity, so a single process computes exactly what it did before.

What one rank does differently from one process (the arithmetic, not the meaning):
- it trains on its contiguous slice of each global batch (`shard`): the global batch size and
  the learning rate mean what they mean for one process;
- its loss is scaled by (its samples × world / global batch) before backward, so DDP's gradient
  average equals the gradient of the global batch's mean loss even when slices differ in size;
- DDP's buckets all-reduce gradients while backward still runs; the epoch's loss/accuracy sums
  are all-reduced once per epoch (the loop's one host sync per epoch stays one);
- BatchNorm statistics of a training step are the rank's own slice's (as in DDP everywhere);
  running statistics are broadcast from rank 0 (DDP's broadcast_buffers, and `sync_buffers`
  before evaluation), so every rank evaluates the same network and gets the same numbers.
"""
from __future__ import annotations

import datetime
import functools
import os
from dataclasses import dataclass
from typing import Any, Iterator, Mapping

import torch
from torch import nn

from registry.errors import UserError


@dataclass(frozen=True)
class Dist:
    rank: int = 0
    world: int = 1
    local_rank: int = 0
    backend: str | None = None

    @property
    def active(self) -> bool:
        return self.world > 1

    @property
    def writer(self) -> bool:
        """Only rank 0 writes checkpoints, metrics, layers and results."""
        return self.rank == 0


SINGLE = Dist()


def timeout() -> datetime.timedelta:
    """How long a collective may wait for a peer (TICKETS_DIST_TIMEOUT seconds, default 600): a
    rank whose peer hangs fails after this instead of hanging; a dead peer fails it at once."""
    return datetime.timedelta(seconds=float(os.environ.get("TICKETS_DIST_TIMEOUT", "600")))


def device_index(env: Mapping[str, str] | None = None) -> int:
    """This rank's GPU on its node: LOCAL_RANK plus the agent's offset when several SLURM tasks
    share a node's GPUs (registry.ranks.ENV_DEVICE_OFFSET)."""
    env = os.environ if env is None else env
    return int(env.get("LOCAL_RANK", "0")) + int(env.get("TICKETS_LOCAL_RANK_OFFSET", "0") or 0)


@functools.lru_cache(maxsize=None)
def current() -> Dist:
    """This process's place in the run; joins the process group on first call when WORLD_SIZE > 1."""
    world = int(os.environ.get("WORLD_SIZE", "1") or 1)
    if world <= 1:
        return SINGLE
    import torch.distributed as dist

    rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    cuda = torch.cuda.is_available()
    if cuda:
        index = device_index()
        if index >= torch.cuda.device_count():
            raise UserError(f"rank {rank} wants GPU {index} but sees {torch.cuda.device_count()}; "
                            f"give the run as many GPUs as ranks")
        torch.cuda.set_device(index)  # torch.device("cuda") now means this rank's GPU
    backend = "nccl" if cuda else "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend, timeout=timeout())
    return Dist(rank=rank, world=world, local_rank=local, backend=backend)


def wrap(model: nn.Module, d: Dist, device: torch.device) -> nn.Module:
    """DDP around `model` (its constructor broadcasts rank 0's parameters and buffers)."""
    if not d.active:
        return model
    from torch.nn.parallel import DistributedDataParallel

    ids = [device.index if device.index is not None else torch.cuda.current_device()] if device.type == "cuda" else None
    return DistributedDataParallel(model, device_ids=ids)


def shard(loader: Any, generator: torch.Generator, d: Dist,
          start: int = 0) -> Iterator[tuple[torch.Tensor, torch.Tensor, int]]:
    """(x, y, global batch size) of this rank's shares of global batches `start`, `start+1`, ... of
    one epoch, through the loader's `rank`/`world` interface (tickets/train/batches.py)."""
    if not d.active:
        for xb, yb in loader.batches(generator, start=start):
            yield xb, yb, int(yb.shape[0])
        return
    batch, n = int(loader.batch_size), int(loader.num_samples)
    for b, (xb, yb) in enumerate(loader.batches(generator, True, start=start, rank=d.rank, world=d.world), start):
        yield xb, yb, min(batch, n - b * batch)


def partial_sums(loss_sum: torch.Tensor, correct: torch.Tensor, first_bad: torch.Tensor,
                 d: Dist) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The epoch's running sums over all ranks, for a mid-epoch checkpoint (rank 0 saves them and
    alone restores them on resume); copies, so the ranks' own sums go on unchanged."""
    if not d.active:
        return loss_sum, correct, first_bad
    sums = all_reduce_sum(torch.stack([loss_sum.double(), correct.double()]), d)
    bad = all_reduce_max(first_bad.double().view(1), d)
    return sums[0].to(loss_sum.dtype), sums[1].to(correct.dtype), bad[0].to(first_bad.dtype)


CALIBRATION_STEPS = 20


class MidEpochClock:
    """When to write a mid-epoch checkpoint (tickets/train/midepoch.py) so that every rank agrees:
    saving involves a collective, and a wall-clock test could come out differently on two ranks.
    One process asks `MidEpoch.due` as before. Several ranks: `checkpoint_steps` as is; a minutes
    interval becomes a step interval once, from the slowest rank's time over the first
    CALIBRATION_STEPS steps (one all-reduce per phase)."""

    def __init__(self, midepoch: Any, d: Dist):
        self.mid, self.d = midepoch, d
        self.every = int(midepoch.steps) or None
        self.seen, self.t0 = 0, 0.0

    def due(self, step: int, steps: int) -> bool:
        if not self.d.active:
            return self.mid.due(step, steps)
        if not self.mid.enabled or step >= steps:
            return False
        if self.every is None:
            import time

            self.seen += 1
            if self.seen == 1:
                self.t0 = time.monotonic()
            elif self.seen == CALIBRATION_STEPS + 1:
                device = torch.device("cuda") if self.d.backend == "nccl" else torch.device("cpu")
                per_step = torch.tensor([(time.monotonic() - self.t0) / CALIBRATION_STEPS], device=device)
                per_step = float(all_reduce_max(per_step, self.d).item())
                self.every = max(1, round(60.0 * self.mid.minutes / max(per_step, 1e-9)))
            return False
        return step % self.every == 0


def scale_loss(loss: torch.Tensor, mine: int, total: int, d: Dist) -> torch.Tensor:
    """The loss to differentiate: DDP averages gradients over ranks, so weight each rank's mean by
    its share of the global batch times the world size (identity for one process)."""
    if not d.active:
        return loss
    return loss * (mine * d.world / total)


def all_reduce_sum(values: torch.Tensor, d: Dist) -> torch.Tensor:
    """Sum a small tensor of epoch totals over ranks (one collective per epoch)."""
    if d.active:
        import torch.distributed as dist

        dist.all_reduce(values)
    return values


def all_reduce_max(values: torch.Tensor, d: Dist) -> torch.Tensor:
    if d.active:
        import torch.distributed as dist

        dist.all_reduce(values, op=dist.ReduceOp.MAX)
    return values


def sync_buffers(model: nn.Module, d: Dist) -> None:
    """Rank 0's buffers (BatchNorm running statistics) on every rank, before evaluating."""
    if not d.active:
        return
    import torch.distributed as dist

    module = getattr(model, "module", model)
    for buf in module.buffers():
        dist.broadcast(buf, 0)


def check_same_mask(mask: Mapping[str, torch.Tensor] | None, d: Dist, device: torch.device) -> None:
    """Every rank computed the mask itself (same seed, same data): compare each rank's with rank
    0's (one broadcast of one byte per weight, once per phase) and stop every rank together when
    any differs, so no rank trains another sparse network silently."""
    if not d.active:
        return
    import torch.distributed as dist

    differs = torch.zeros(1, device=device)
    for name in sorted(mask or {}):
        mine = mask[name].to(device=device, dtype=torch.uint8).contiguous()
        theirs = mine.clone()
        dist.broadcast(theirs, 0)
        differs += (mine != theirs).sum().float()
    if all_reduce_max(differs, d).item() > 0:
        raise RuntimeError("ranks computed different masks (rank 0's differs from another rank's); "
                           "the pruning step is not deterministic on this setup")


def runtime_fields(d: Dist | None = None) -> dict[str, Any]:
    """world_size and backend for meta.json and the store."""
    d = current() if d is None else d
    return {"world_size": d.world, "backend": d.backend}
