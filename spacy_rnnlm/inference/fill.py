"""Context features: what the model says about each word from its context, as softmax features.

From both sides (the two-direction model's fill-in head), or from the left alone (the forward
LM, for a one-direction model). One pass per batch of units (length-sorted, bounded padded size);
the forward log-probs come from the same pass, so nothing runs twice when scores are also needed.
"""
from typing import List, Optional, Sequence, Union

import torch

from ..models.pytorch.bilstm_lm import BiLSTMLanguageModel
from ..models.pytorch.lstm_lm import LSTMLanguageModel
from ..models.wrapper import pad_sequences
from .units import Unit, length_batches

# Rows of full (rows, vocab) fill-in distributions computed at once: bounds memory.
FULL_ROWS = 256


def context_features(
    module: Union[LSTMLanguageModel, BiLSTMLanguageModel],
    units: Sequence[Unit],
    *,
    both_sides: bool,
    batch_tokens: int,
    compute_dtype: Optional[torch.dtype],
    ops,
) -> List[torch.Tensor]:
    """Per unit, the softmax features of its words, (n_words, width): the fill-in head's with
    `both_sides` (a `BiLSTMLanguageModel`), else the forward LM's. Sets each unit's forward
    `logprobs` from the same pass (numpy, (n_words + 1,))."""
    device = next(module.parameters()).device
    seqs = [unit.ids for unit in units]
    out: List[torch.Tensor] = [None] * len(units)  # type: ignore[list-item]
    was_training = module.training
    module.eval()
    try:
        with torch.inference_mode():
            for batch in length_batches(seqs, batch_tokens):
                ids, targets = pad_sequences([seqs[i] for i in batch], ops)
                if both_sides:
                    feats, _, fwd_lps = module.fill_in(ids.to(device), targets.to(device), compute_dtype)
                else:
                    feats, fwd_lps = module.left_in(ids.to(device), targets.to(device), compute_dtype)
                for j, i in enumerate(batch):
                    n = len(seqs[i]) - 1
                    units[i].logprobs = fwd_lps[j, :n].cpu().numpy()
                    out[i] = feats[j, : n - 1]
    finally:
        module.train(was_training)
    return out


def full_logprobs(
    module: LSTMLanguageModel, feats: torch.Tensor, compute_dtype: Optional[torch.dtype] = None
) -> torch.Tensor:
    """Float32 log-probs over the whole vocabulary of feature rows (rows, width) → (rows, vocab)."""
    with torch.inference_mode(), torch.autocast(
        feats.device.type, dtype=compute_dtype or torch.float32, enabled=compute_dtype is not None
    ):
        return torch.cat([module.log_probs(feats[i : i + FULL_ROWS]).float() for i in range(0, feats.shape[0], FULL_ROWS)])
