"""Contextual token states for other components: docs → one (len(doc), width) array each.

The LM's per-word features (input embedding, forward state, and for a two-direction model the
backward state; see `token_states` in models/pytorch/) are what a listener hands to a `textcat`,
`tagger` or `ner` (pipeline/listener.py). Each sentence is run on its own, as in scoring, so a
doc's states never depend on its batch; whitespace tokens, which the LM does not read, get zeros.
"""
from typing import Callable, List, Optional, Sequence, Tuple

import numpy
import torch
from spacy.tokens import Doc
from thinc.api import torch2xp, xp2torch
from thinc.types import Floats2d

from ..models.pytorch.lstm_lm import LSTMLanguageModel
from ..models.wrapper import pad_sequences
from ..vocab import LMVocab
from .units import Unit, encode, length_batches, sequence_units


def unit_states(
    module: LSTMLanguageModel,
    seqs: Sequence[numpy.ndarray],
    *,
    batch_tokens: int,
    compute_dtype: Optional[torch.dtype],
    ops,
) -> List[torch.Tensor]:
    """Per id sequence `[<s>, w…, </s>]`, the float32 states of its words (n_words, width), in
    the module's current mode (dropout in training) and with gradients where enabled."""
    device = next(module.parameters()).device
    out: List[torch.Tensor] = [None] * len(seqs)  # type: ignore[list-item]
    for batch in length_batches(seqs, batch_tokens):
        ids, targets = pad_sequences([seqs[i] for i in batch], ops)
        with torch.autocast(device.type, dtype=compute_dtype or torch.float32, enabled=compute_dtype is not None):
            states = module.token_states(ids.to(device), targets.to(device)).float()
        for i, rows in zip(batch, torch.split(states, [len(seqs[i]) - 2 for i in batch])):
            out[i] = rows
    return out


def eval_states(
    module: LSTMLanguageModel, seqs: Sequence[numpy.ndarray], *, batch_tokens: int, compute_dtype: Optional[torch.dtype], ops
) -> List[torch.Tensor]:
    """`unit_states` for inference: eval mode (no dropout), no gradients."""
    was_training = module.training
    module.eval()
    try:
        with torch.inference_mode():
            return unit_states(module, seqs, batch_tokens=batch_tokens, compute_dtype=compute_dtype, ops=ops)
    finally:
        module.train(was_training)


def predict_states(
    module: LSTMLanguageModel, units: Sequence[Unit], *, batch_tokens: int, compute_dtype: Optional[torch.dtype], ops
) -> None:
    """Set each unit's `states` (numpy (n_words, width))."""
    states = eval_states(module, [u.ids for u in units], batch_tokens=batch_tokens, compute_dtype=compute_dtype, ops=ops)
    for unit, rows in zip(units, states):
        unit.states = rows.cpu().numpy()


def doc_tensor(doc: Doc, units: Sequence[Unit], width: int) -> numpy.ndarray:
    """The doc's (len(doc), width) states from its units' (zeros for tokens outside them)."""
    tensor = numpy.zeros((len(doc), width), dtype="float32")
    for unit in units:
        if unit.states is not None and len(unit.token_ids):
            tensor[unit.token_ids] = unit.states
    return tensor


def begin_update_states(
    module: LSTMLanguageModel,
    vocab: LMVocab,
    docs: Sequence[Doc],
    *,
    batch_tokens: int,
    compute_dtype: Optional[torch.dtype],
    ops,
) -> Tuple[List[Floats2d], Callable[[List[Floats2d]], None]]:
    """Training: the docs' states (one (len(doc), width) array each, on the model's device) and a
    callback taking their gradients, which backpropagates them into the module's `.grad` (the
    optimizer step is the caller's). The module runs in training mode (dropout)."""
    width = module.state_width
    per_doc = [sequence_units(doc) for doc in docs]
    seqs = [encode(vocab, (doc[i].text for i in unit)) for doc, units in zip(docs, per_doc) for unit in units]
    module.train()
    states = unit_states(module, seqs, batch_tokens=batch_tokens, compute_dtype=compute_dtype, ops=ops)
    outputs: List[Floats2d] = []
    k = 0
    for doc, units in zip(docs, per_doc):
        tensor = ops.alloc2f(len(doc), width)
        for unit in units:
            tensor[unit] = torch2xp(states[k].detach())
            k += 1
        outputs.append(tensor)

    def backprop(d_outputs: List[Floats2d]) -> None:
        grads = [d_doc[unit] for d_doc, units in zip(d_outputs, per_doc) for unit in units]
        live = [(s, g) for s, g in zip(states, grads) if s.requires_grad and len(g)]
        if live:
            device = live[0][0].device
            torch.autograd.backward([s for s, _ in live], [xp2torch(ops.asarray2f(g), device=device) for _, g in live])

    return outputs, backprop
