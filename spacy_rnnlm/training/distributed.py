"""Data-parallel `spacy train` under torchrun: the same config, N processes, one model.

    python -m torch.distributed.run --standalone --nproc-per-node 2 \\
        -m spacy_rnnlm.training.distributed configs/rnnlm.cfg --output training/rnnlm-dist

Each process is one torchrun worker (gloo on CPU, NCCL on GPUs, one GPU per process with
`--gpu-id`). Each counts the vocabulary on its own shard and the counts are merged, so all get
the vocabulary of the whole corpus in 1/N of the time (or all read it from a token cache made by
`spacy-rnnlm preprocess`), and start from process 0's weights; then each reads its own shard of the training
corpus, and the rnnlm component sums the gradients (and the batch's token count, so the step is
exactly the whole batch's) over all processes before every optimizer step
(spacy_rnnlm/training/parallel.py). spaCy's own training loop runs unchanged in every process;
only process 0 evaluates, logs and writes `model-best`/`model-last`.

Rules, checked at start: `[training] max_steps` > 0 and `max_epochs` 0 or -1 (every process must
take the same number of steps, whatever the size of its shard), `patience` is ignored (only
process 0 sees the dev scores), and the rnnlm must be the only component that trains (other
components' weights are not synchronized: freeze them).
"""
import contextlib
import io
import os
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, Optional

import torch
import torch.distributed as dist
import typer
from spacy import util
from spacy.cli._util import import_code, parse_config_overrides, setup_gpu
from spacy.language import Language
from spacy.training import Example
from spacy.training.initialize import init_nlp
from spacy.training.loop import train
from spacy.util import registry
from thinc.api import Config

from ..models.architectures import torch_module
from .parallel import broadcast_parameters, sharded_examples

SHARDING_READERS = ("spacy-rnnlm.StreamCorpus.v1", "spacy-rnnlm.ShardedCorpus.v1", "spacy-rnnlm.TokenCache.v1")
app = typer.Typer(add_completion=False)


@registry.readers("spacy-rnnlm.EmptyCorpus.v1")
def create_empty_corpus() -> Callable[[Language], Iterator[Example]]:
    """No examples: the dev corpus of processes other than 0 (they do not evaluate)."""

    def read(nlp: Language) -> Iterator[Example]:
        return iter(())

    return read


def distributed_config(config: Config, rank: int) -> Config:
    """The config this process trains with: checked for data parallelism, the training corpus
    sharded by process, and for processes other than 0 no dev set and a silent logger."""
    training = config["training"]
    if not training.get("max_steps"):
        raise ValueError("Data-parallel training needs [training] max_steps > 0: every process must take the same steps.")
    if training.get("max_epochs", 0) not in (0, -1):
        raise ValueError(
            "Data-parallel training needs [training] max_epochs = 0 (shuffled in memory) or -1 (streamed): "
            "shards differ in size, so epochs end at different steps in each process."
        )
    if training.get("patience"):
        if rank == 0:
            util.logger.warning("Data-parallel training ignores [training] patience: only process 0 sees dev scores.")
        training["patience"] = 0
    frozen = set(training.get("frozen_components", []))
    others = [
        name for name in config["nlp"]["pipeline"] if name not in frozen and _factory_of(config, name) not in ("rnnlm", "sentencizer")
    ]
    if others:
        raise ValueError(
            f"Data-parallel training synchronizes the rnnlm only; freeze the other components ({others}) "
            "with [training] frozen_components, or train them in one process."
        )
    section, name = training["train_corpus"].split(".", 1)
    reader = config[section][name]
    if reader.get("@readers") not in SHARDING_READERS:
        config[section][name] = {"@readers": "spacy-rnnlm.ShardedCorpus.v1", "corpus": dict(reader)}
    if rank > 0:
        section, name = training["dev_corpus"].split(".", 1)
        config[section][name] = {"@readers": "spacy-rnnlm.EmptyCorpus.v1"}
        training["logger"] = {"@loggers": "spacy.ConsoleLogger.v1", "progress_bar": False}
    return config


@contextlib.contextmanager
def process_group(use_gpu: int = -1, timeout: int = 1800) -> Iterator[int]:
    """Join torchrun's process group for the block (RANK, WORLD_SIZE, LOCAL_RANK and the
    rendezvous come from torchrun's environment) and yield the GPU this process uses (`use_gpu`
    plus the local rank; -1: CPU, gloo). `timeout`: seconds a collective waits for the other
    processes before failing (a process that died, or one stuck), so nothing hangs forever."""
    local_rank = int(os.environ.get("LOCAL_RANK", 0))
    if use_gpu >= 0:
        use_gpu += local_rank
        setup_gpu(use_gpu)
        if torch.cuda.is_available():
            torch.cuda.set_device(use_gpu)  # NCCL's object collectives use the current device
    backend = "nccl" if use_gpu >= 0 and torch.cuda.is_available() else "gloo"
    dist.init_process_group(backend, timeout=timedelta(seconds=timeout))
    try:
        yield use_gpu
    finally:
        dist.destroy_process_group()


def _factory_of(config: Config, name: str) -> Optional[str]:
    """The factory of component `name`: its block's, or for a component sourced from a pipeline
    folder (`source = ...`, as `adapt` writes) the source's config's; None if unknown."""
    block = config["components"][name]
    if "factory" in block:
        return block["factory"]
    source = Path(str(block.get("source", "")))
    if not (source / "config.cfg").exists():
        return None
    sourced = util.load_config(source / "config.cfg", interpolate=False)["components"].get(block.get("component", name), {})
    return sourced.get("factory")


def train_in_group(config_path: Path, output_path: Optional[Path], *, overrides: Dict[str, Any] = {}, use_gpu: int = -1) -> None:
    """Train the config in this process of a joined group (see `process_group`): only process 0
    evaluates and writes `output_path`."""
    rank = dist.get_rank()
    quiet = contextlib.redirect_stdout(io.StringIO()) if rank > 0 else contextlib.nullcontext()
    with quiet:
        config = util.load_config(config_path, overrides=overrides, interpolate=False)
        config = distributed_config(config, rank)
        with sharded_examples():  # each process counts its shard; the counts are merged
            nlp = init_nlp(config, use_gpu=use_gpu)
        for name, proc in nlp.pipeline:
            if getattr(proc, "is_initialized", False) and name not in config["training"].get("frozen_components", []):
                broadcast_parameters(torch_module(proc.model))
        if rank == 0 and output_path is not None:
            output_path.mkdir(parents=True, exist_ok=True)
        sink = io.StringIO()
        train(
            nlp,
            output_path if rank == 0 else None,
            use_gpu=use_gpu,
            stdout=sys.stdout if rank == 0 else sink,
            stderr=sys.stderr if rank == 0 else sink,
        )
        # every process leaves together (process 0 may still be writing the model): tearing
        # gloo down while a peer is mid-collective can abort it; a dead peer times out instead
        dist.barrier()


def train_distributed(
    config_path: Path,
    output_path: Optional[Path],
    *,
    overrides: Dict[str, Any] = {},
    use_gpu: int = -1,
    timeout: int = 1800,
) -> None:
    """Train the config in this torchrun worker (see `process_group` and `train_in_group`)."""
    with process_group(use_gpu, timeout) as gpu:
        train_in_group(config_path, output_path, overrides=overrides, use_gpu=gpu)


def under_torchrun() -> bool:
    """Whether this process is one of several torchrun workers."""
    return "RANK" in os.environ and int(os.environ.get("WORLD_SIZE", "1")) > 1


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def main(
    ctx: typer.Context,
    config_path: Path = typer.Argument(..., help="The training config (the same as for `spacy train`)", exists=True),
    output_path: Optional[Path] = typer.Option(None, "--output", "-o", help="Output directory (written by process 0 only)"),
    code_path: Optional[Path] = typer.Option(None, "--code", "-c", help="Python file with registered functions"),
    use_gpu: int = typer.Option(-1, "--gpu-id", "-g", help="-1: CPU (gloo); N >= 0: process k uses GPU N + local rank (NCCL)"),
    timeout: int = typer.Option(1800, "--timeout", help="Seconds a process waits for the others before failing"),
) -> None:
    """Data-parallel `spacy train` (run under torchrun); config overrides as for spacy train,
    e.g. --paths.train corpus/train.jsonl."""
    if "RANK" not in os.environ:
        typer.echo(
            "Run under torchrun, e.g.: python -m torch.distributed.run --standalone --nproc-per-node 2 "
            "-m spacy_rnnlm.training.distributed CONFIG --output DIR",
            err=True,
        )
        raise typer.Exit(2)
    import_code(code_path)
    train_distributed(config_path, output_path, overrides=parse_config_overrides(ctx.args), use_gpu=use_gpu, timeout=timeout)


if __name__ == "__main__":
    app()
