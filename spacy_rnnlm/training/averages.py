"""Parameter averaging (spaCy's `[training.optimizer] use_averages`) for the torch module.

The component takes its optimizer steps with a torch optimizer (see `RNNLM._step`), so thinc's
optimizer never sees the weights and cannot average them. This keeps the running average the way
thinc does, in the thinc optimizer's `averages` dict under one key per model, so that spaCy's
training loop evaluates and saves the averaged weights (`nlp.use_params(optimizer.averages)`)
while training goes on with the current ones."""
import contextlib
from typing import Dict, Iterator, Tuple

import torch
from thinc.api import Model, Optimizer

# thinc's `Ops.update_averages`: decay (1 + t) / (10 + t) after the t-th update, at most this
MAX_DECAY = 0.9999


def averages_key(model: Model) -> Tuple[int, str]:
    """The key of `model`'s torch parameter averages in a thinc optimizer's `averages` (a thinc
    parameter key is (node id, parameter name); no thinc node has a parameter of this name)."""
    return (model.id, "torch_averages")


def update_averages(sgd: Optimizer, key: Tuple[int, str], module: torch.nn.Module) -> None:
    """Move the average of `module`'s trainable parameters towards their values after an update.

    The decay is thinc's: (1 + t) / (10 + t) at the t-th update (at most `MAX_DECAY`), so the
    average gives weight mostly to the last ~10 % of the updates so far. It starts from the
    weights of the first update (thinc starts from zeros, a bias that fades as (1/t)^9)."""
    if sgd.averages is None:
        return
    t = sgd.nr_update[key] = sgd.nr_update.get(key, 0) + 1
    named = [(name, p.detach()) for name, p in module.named_parameters() if p.requires_grad]
    averages: Dict[str, torch.Tensor] = sgd.averages.get(key)  # type: ignore[assignment]
    if averages is None:
        sgd.averages[key] = {name: p.clone() for name, p in named}  # type: ignore[assignment]
        return
    weight = 1.0 - min((1.0 + t) / (10.0 + t), MAX_DECAY)
    torch._foreach_lerp_([averages[name] for name, _ in named], [p for _, p in named], weight)


@contextlib.contextmanager
def averaged_parameters(module: torch.nn.Module, averages: Dict[str, torch.Tensor]) -> Iterator[None]:
    """Within the block, `module`'s parameters hold `averages`; afterwards their own values."""
    params = dict(module.named_parameters())
    backup = {name: params[name].detach().clone() for name in averages}
    with torch.no_grad():
        for name, value in averages.items():
            params[name].copy_(value)
    try:
        yield
    finally:
        with torch.no_grad():
            for name, value in backup.items():
                params[name].copy_(value)
