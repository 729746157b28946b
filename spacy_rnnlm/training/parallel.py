"""Data parallelism through torch.distributed: who this process is, and the collectives the
component needs (gradient and token-count sums). Outside a process group everything is a no-op,
so one-process training runs exactly as before."""
import contextlib
from collections import Counter
from typing import Iterator, List, Sequence, Tuple

import torch
import torch.distributed as dist

from ..vocab import LMVocab


def world() -> Tuple[int, int]:
    """(rank, world size) of this process: (0, 1) outside an initialized process group."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def is_parallel() -> bool:
    return world()[1] > 1


_SHARDED = [False]


@contextlib.contextmanager
def sharded_examples() -> Iterator[None]:
    """Inside this block the training examples each process gets are its own shard (distributed.py
    wraps the training corpus in a sharding reader), so `initialize` merges its counts."""
    _SHARDED.append(True)
    try:
        yield
    finally:
        _SHARDED.pop()


def examples_are_sharded() -> bool:
    return _SHARDED[-1] and is_parallel()


def sum_counts(counts: Sequence[int], device: torch.device) -> List[int]:
    """Element-wise sum of integer counts over all processes."""
    if not is_parallel():
        return list(counts)
    values = torch.tensor(list(counts), dtype=torch.float64, device=device)
    dist.all_reduce(values)
    return [int(round(v)) for v in values.tolist()]


def merge_counts(freqs: Counter, n_sequences: int) -> Tuple[Counter, int]:
    """Word counts and sequence counts summed over all processes (each counted its own shard),
    so every process builds the same vocabulary. The counters travel whole (all_gather_object):
    each process briefly holds all of them, at most world size × `max_count_types` words."""
    if not is_parallel():
        return freqs, n_sequences
    gathered: List = [None] * world()[1]
    dist.all_gather_object(gathered, (dict(freqs), n_sequences))
    return LMVocab.sum_counts(gathered)


def sum_gradients(params: Sequence[torch.nn.Parameter]) -> None:
    """Sum every parameter's gradient over all processes, in one flat buffer (one collective per
    step). A parameter without a gradient here (e.g. a softmax cluster no word of this shard
    reached) takes part as zeros, and has the summed gradient afterwards."""
    if not is_parallel() or not params:
        return
    grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat)
    offset = 0
    for p in params:
        n = p.numel()
        p.grad = flat[offset : offset + n].view_as(p)
        offset += n


def broadcast_parameters(module: torch.nn.Module, src: int = 0) -> None:
    """Give every process the weights of process `src` (all start from the same point)."""
    if not is_parallel():
        return
    with torch.no_grad():
        for tensor in list(module.parameters()) + list(module.buffers()):
            dist.broadcast(tensor.data, src)
