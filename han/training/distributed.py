"""This process's place in a torchrun job: DistributedDataParallel over gloo (CPU) or nccl (GPUs).

Every process builds the same seeded split, vocabulary and batch list and trains on its own shard
of the batches; rank 0 alone runs word2vec (broadcast to the others) and writes files.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch


@dataclass
class Distributed:
    """This process's place in a torchrun job (rank 0 of 1 when run alone)."""

    rank: int = 0
    world: int = 1

    @property
    def main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.world > 1:
            torch.distributed.barrier()


def setup_distributed(device: torch.device) -> Distributed:
    """Join the torchrun process group when WORLD_SIZE > 1: gloo on CPU, nccl on GPUs."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Distributed()
    if not torch.distributed.is_initialized():
        torch.distributed.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return Distributed(torch.distributed.get_rank(), torch.distributed.get_world_size())
