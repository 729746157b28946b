"""Discriminative learning rates (ULMFiT, Howard & Ruder 2018): when a trained model is
fine-tuned, the layers near the input learn slower than those near the output, each layer's
rate the one above it divided by `decay` (2.6 in the paper).

The rnnlm's layers from the top: the adaptive softmax and the fill-in head (the full rate), the
forward and backward LSTMs (÷ decay), the input embedding (÷ decay²). `spacy-rnnlm adapt
--layer-decay` sets it through the `spacy-rnnlm.layer_rates.v1` callback; 1 (the default) is one
rate for all (see the README's adapt measurements for whether it pays).
"""
from typing import Callable, Dict, List

import torch
from spacy.language import Language
from spacy.util import registry

from ..errors import Errors

# parameter-name prefix → depth below the top (the rate is divided by decay ** depth)
DEPTHS = {"embed.": 2, "lstm.": 1, "backward_rnn.": 1}


def layer_groups(module: torch.nn.Module, decay: float) -> List[Dict]:
    """torch optimizer parameter groups of `module`'s trainable parameters, each with its
    `lr_scale` (1 / decay ** depth)."""
    groups: Dict[int, List[torch.nn.Parameter]] = {}
    for name, param in module.named_parameters():
        if param.requires_grad:
            depth = next((d for prefix, d in DEPTHS.items() if name.startswith(prefix)), 0)
            groups.setdefault(depth, []).append(param)
    return [{"params": params, "lr_scale": float(decay) ** -depth} for depth, params in sorted(groups.items())]


@registry.callbacks("spacy-rnnlm.layer_rates.v1")
def make_layer_rates_callback(decay: float, component: str = "rnnlm") -> Callable[[Language], Language]:
    """An `[initialize.after_init]` callback: the rnnlm `component` trains with discriminative
    learning rates, each layer's rate the one above it divided by `decay` (≥ 1)."""
    if not isinstance(decay, (int, float)) or isinstance(decay, bool) or decay < 1.0:
        raise ValueError(Errors.E005.format(name="layer decay", value=decay, expected="a number >= 1"))

    def apply(nlp: Language) -> Language:
        nlp.get_pipe(component).layer_decay = float(decay)
        return nlp

    return apply


__all__ = ["DEPTHS", "layer_groups", "make_layer_rates_callback"]
