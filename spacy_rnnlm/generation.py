"""Autoregressive text generation by multinomial sampling, on top of `sampling.py`.

At each step the model's next-word distribution is treated as a multinomial: temperature, then
top-k, then top-p filter it, and `torch.multinomial` draws the next word (temperature 0 takes the
most likely word). All `n` samples run as one batch.
"""
import re
from typing import Any, List, Optional, Sequence

import torch

from .models.pytorch.lstm_lm import LSTMLanguageModel
from .sampling import (
    apply_temperature,
    apply_top_k,
    apply_top_p,
    check_temperature,
    check_top_k,
    check_top_p,
    make_generator,
)
from .errors import Errors
from .vocab import BOS_ID, EOS_ID, PAD_ID, UNK_ID, LMVocab

_WORDLIKE = re.compile(r"[A-Za-z0-9]")


def join_words(words: Sequence[str], after: str = "") -> str:
    """Join words the way Chinese is written: no space between words, except between two
    Latin/digit words (where the source would have had one). `after` is the text they follow."""
    out: List[str] = []
    prev = after
    for word in words:
        if prev and _WORDLIKE.match(prev[-1]) and _WORDLIKE.match(word[:1]):
            out.append(" ")
        out.append(word)
        prev = word
    return "".join(out)


def sample_continuations(
    module: LSTMLanguageModel,
    prompt_ids: Sequence[int],
    *,
    max_new_tokens: int = 50,
    temperature: float = 1.0,
    top_k: int = 0,
    top_p: float = 1.0,
    seed: Optional[int] = None,
    n: int = 1,
    stop_at_sentence_end: bool = True,
) -> List[List[int]]:
    """Draw `n` continuations of `prompt_ids` (which start with `<s>`): lists of word ids, never
    padding, `<unk>` or `<s>`; `</s>` ends a sample when `stop_at_sentence_end`, else it is never drawn."""
    temperature = check_temperature(temperature)
    top_k = check_top_k(top_k)
    top_p = check_top_p(top_p)
    for name, value in (("max_new_tokens", max_new_tokens), ("n", n)):
        if not isinstance(value, int) or isinstance(value, bool) or value < (0 if name == "max_new_tokens" else 1):
            raise ValueError(Errors.E005.format(name=name, value=value, expected="a positive integer"))
    device = next(module.parameters()).device
    generator = make_generator(seed, device) if seed is not None else None
    banned = [PAD_ID, UNK_ID, BOS_ID] + ([] if stop_at_sentence_end else [EOS_ID])
    was_training = module.training
    module.eval()
    samples: List[List[int]] = [[] for _ in range(n)]
    try:
        with torch.inference_mode():
            ids = torch.tensor([list(prompt_ids)], dtype=torch.long, device=device).expand(n, -1)
            h, state = module.hidden(ids)  # (n, prompt_len, width)
            last = h[:, -1]
            done = torch.zeros(n, dtype=torch.bool, device=device)
            for _ in range(max_new_tokens):
                logprobs = module.log_probs(last)  # (n, vocab)
                logprobs[:, banned] = float("-inf")
                if temperature == 0:
                    next_ids = logprobs.argmax(dim=-1)
                else:
                    filtered = apply_top_p(apply_top_k(apply_temperature(logprobs, temperature), top_k), top_p)
                    probs = torch.softmax(filtered, dim=-1)
                    next_ids = torch.multinomial(probs, 1, generator=generator).squeeze(1)
                for row in (~done).nonzero().flatten().tolist():
                    if int(next_ids[row]) != EOS_ID:
                        samples[row].append(int(next_ids[row]))
                done |= next_ids == EOS_ID
                if bool(done.all()):
                    break
                h, state = module.hidden(next_ids.unsqueeze(1), state)
                last = h[:, -1]
    finally:
        module.train(was_training)
    return samples


def generate(module: LSTMLanguageModel, vocab: LMVocab, words: Sequence[str], *, after: str = "", **settings: Any) -> List[str]:
    """Continue the segmented prompt `words` by sampling from the model, word by word: the `n`
    continuations (without the prompt), joined as Chinese is written after the prompt's text
    `after`.

    settings: those of `sample_continuations`:
    max_new_tokens (int): At most this many words per continuation.
    temperature (float): > 1 flattens the distribution, < 1 sharpens it, 0 = always the most likely word.
    top_k (int): Sample only among the k most likely words (0 = all).
    top_p (float): Sample only among the most likely words holding this much probability (1 = all).
    seed (Optional[int]): Same seed, same text; None = a fresh draw each call.
    n (int): Number of continuations, drawn as one batch.
    stop_at_sentence_end (bool): End a continuation when the model ends the sentence.
    """
    samples = sample_continuations(module, [BOS_ID] + vocab.encode(words), **settings)
    return [join_words([vocab.words[i] for i in sample], after=after) for sample in samples]
