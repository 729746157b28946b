"""Contextual token states for other components: docs → one (len(doc), width) array each.

The LM's per-word features (input embedding, forward state, and for a two-direction model the
backward state; see `token_states` in models/pytorch/) are what a listener hands to a `textcat`,
`tagger` or `ner` (pipeline/listener.py). Each sentence is run on its own, as in scoring, so a
doc's states never depend on its batch; whitespace tokens, which the LM does not read, get zeros.
"""
import contextlib
from typing import Callable, Iterator, List, Optional, Sequence, Tuple

import numpy
import torch
from spacy.tokens import Doc
from thinc.api import torch2xp, xp2torch
from thinc.types import Floats2d

from ..models.pytorch.lstm_lm import LSTMLanguageModel
from ..models.wrapper import pad_sequences
from ..vocab import LMVocab
from .units import Unit, encode, length_batches, sequence_units


def _by_sequence(
    module: LSTMLanguageModel,
    seqs: Sequence[numpy.ndarray],
    *,
    batch_tokens: int,
    compute_dtype: Optional[torch.dtype],
    ops,
    logprobs: bool = False,
) -> Iterator[Tuple[int, torch.Tensor, Optional[torch.Tensor]]]:
    """(index, float32 states of its words (n_words, width), and with `logprobs` its forward
    log-probs (n_words + 1,) from the same pass) for each id sequence `[<s>, w…, </s>]`."""
    device = next(module.parameters()).device
    for batch in length_batches(seqs, batch_tokens):
        ids, targets = pad_sequences([seqs[i] for i in batch], ops)
        with torch.autocast(device.type, dtype=compute_dtype or torch.float32, enabled=compute_dtype is not None):
            out = module.token_states(ids.to(device), targets.to(device), logprobs=logprobs)
        states, lps = out if logprobs else (out, None)
        for j, (i, rows) in enumerate(zip(batch, torch.split(states.float(), [len(seqs[i]) - 2 for i in batch]))):
            yield i, rows, (lps[j, : len(seqs[i]) - 1] if lps is not None else None)


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
    out: List[torch.Tensor] = [None] * len(seqs)  # type: ignore[list-item]
    for i, rows, _ in _by_sequence(module, seqs, batch_tokens=batch_tokens, compute_dtype=compute_dtype, ops=ops):
        out[i] = rows
    return out


@contextlib.contextmanager
def _inference(module: LSTMLanguageModel) -> Iterator[None]:
    """Eval mode (no dropout) and no gradients, the module's mode restored after."""
    was_training = module.training
    module.eval()
    try:
        with torch.inference_mode():
            yield
    finally:
        module.train(was_training)


def eval_states(
    module: LSTMLanguageModel, seqs: Sequence[numpy.ndarray], *, batch_tokens: int, compute_dtype: Optional[torch.dtype], ops
) -> List[torch.Tensor]:
    """`unit_states` for inference: eval mode (no dropout), no gradients."""
    with _inference(module):
        return unit_states(module, seqs, batch_tokens=batch_tokens, compute_dtype=compute_dtype, ops=ops)


def predict_states(
    module: LSTMLanguageModel, units: Sequence[Unit], *, batch_tokens: int, compute_dtype: Optional[torch.dtype], ops
) -> None:
    """Set each unit's `states` (numpy (n_words, width)) and, from the same pass, its forward
    `logprobs` (numpy (n_words + 1,)): a pipeline with listeners runs the forward LSTM once."""
    seqs = [u.ids for u in units]
    with _inference(module):
        for i, rows, lps in _by_sequence(module, seqs, batch_tokens=batch_tokens, compute_dtype=compute_dtype, ops=ops, logprobs=True):
            units[i].states = rows.cpu().numpy()
            units[i].logprobs = lps.cpu().numpy()


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
