"""Corpus-level evaluation of a pipeline with an `rnnlm` component: perplexity, plausibility,
bits per character, out-of-vocabulary rate and throughput."""
import time
from typing import Dict, Optional, Sequence

from spacy.language import Language

from . import scoring
from .errors import Errors
from .extensions import span_totals


def find_rnnlm(nlp: Language):
    """The pipeline's `rnnlm` component (the first one, whatever its name)."""
    from .pipeline.lm import RNNLM

    for _, proc in nlp.pipeline:
        if isinstance(proc, RNNLM):
            return proc
    raise ValueError(Errors.E008.format(pipes=nlp.pipe_names))


def evaluate_texts(
    nlp: Language, texts: Sequence[str], *, batch_size: int = 64, baseline: bool = True
) -> Dict[str, Optional[float]]:
    """Score `texts` with `nlp` and return corpus-level figures. Perplexity counts one
    end-of-sentence event per sentence; the OOV rate is over counted words (ends excluded).
    With `baseline`, the tokenizer alone is also timed on the same texts in the same run: the
    floor cost of any pipeline, so the ratio holds on a noisy machine."""
    lm = find_rnnlm(nlp)
    logprob, unigram, n, n_chars, n_words, n_oov, n_docs, n_tokens = 0.0, 0.0, 0, 0, 0, 0, 0, 0
    start = time.perf_counter()
    for doc in nlp.pipe(texts, batch_size=batch_size):
        n_docs += 1
        n_tokens += len(doc)
        totals = span_totals(doc[:])
        if totals is None:
            continue
        logprob += totals.logprob
        unigram += totals.unigram
        n += totals.n
        n_chars += totals.n_chars
        for token in doc:
            if token._.lm_logprob is not None:
                n_words += 1
                n_oov += token.text not in lm.lm_vocab
    seconds = time.perf_counter() - start
    tokenizer_speed = None
    if baseline:
        start = time.perf_counter()
        n_base = sum(len(doc) for doc in nlp.tokenizer.pipe(texts, batch_size=batch_size))
        tokenizer_speed = n_base / max(time.perf_counter() - start, 1e-9)
    return {
        "perplexity": scoring.perplexity(logprob, n),
        "plausibility": scoring.plausibility(logprob, n),
        "slor": scoring.slor(logprob, unigram, n),
        "bits_per_char": scoring.bits_per_char(logprob, n_chars),
        "cross_entropy_bits": None if n == 0 else scoring.surprisal_bits(logprob / n),
        "oov_rate": None if n_words == 0 else n_oov / n_words,
        "docs": n_docs,
        "tokens": n_tokens,
        "counted": n,
        "seconds": seconds,
        "tokens_per_second": n_tokens / seconds if seconds > 0 else None,
        "tokenizer_tokens_per_second": tokenizer_speed,
        "n_alternatives": lm.n_alternatives,
        "vocab_size": len(lm.lm_vocab),
    }
