"""Gradual unfreezing (ULMFiT, Howard & Ruder 2018) for `adapt`: the top of the rnnlm trains
first, one more level below every `every` steps, so that the lower layers, which hold what is
general, move only once the top has adapted to the new domain.

Levels, top first: the softmax and the fill-in head; then the recurrent layers from the top
layer down (forward and backward networks together); last the embedding. A `before_update`
callback of spaCy's training loop sets `requires_grad` by the step; the component's optimizer
steps only the parameters with a gradient.
"""
import re
from typing import Callable, Dict

from spacy.language import Language
from spacy.util import registry

from ..evaluation import find_rnnlm
from ..models.architectures import torch_module

_LAYER = re.compile(r"_l(\d+)(?:_reverse)?$")


def unfreeze_level(name: str, depth: int) -> int:
    """Level of parameter `name` (0: trains from the start): the output layers 0, recurrent layer
    k of `depth` layers `depth - k`, the embedding `depth + 1`."""
    top = name.split(".")[0]
    if top == "embed":
        return depth + 1
    layer = _LAYER.search(name)
    if layer is not None:
        return depth - int(layer.group(1))
    return 0


@registry.callbacks("spacy-rnnlm.gradual_unfreezing.v1")
def make_gradual_unfreezing(every: int) -> Callable[[Language, Dict], None]:
    """A `[training] before_update` callback: before step s, the levels up to s // `every` train."""
    if not isinstance(every, int) or every < 1:
        raise ValueError(f"gradual unfreezing needs every >= 1 steps, not {every!r}")

    def before_update(nlp: Language, info: Dict) -> None:
        module = torch_module(find_rnnlm(nlp).model)
        layers = [int(found.group(1)) for name, _ in module.named_parameters() if (found := _LAYER.search(name))]
        depth = max(layers, default=-1) + 1
        open_to = int(info.get("step", 0)) // every
        for name, param in module.named_parameters():
            param.requires_grad_(unfreeze_level(name, depth) <= open_to)

    return before_update
