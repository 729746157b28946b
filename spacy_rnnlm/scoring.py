"""From per-token log-probabilities to sequence scores. Pure Python: no torch, no spaCy.

All log-probabilities are natural logs. `n` is the number of counted outcomes: the words of the
sequence plus one end-of-sentence event per complete sentence.
"""
import math
from typing import Optional

LN2 = math.log(2.0)


def surprisal_bits(logprob: float) -> float:
    """Surprisal in bits, -log2 P, of a natural-log probability."""
    return -logprob / LN2


def perplexity(logprob: float, n: int) -> Optional[float]:
    """exp of the mean negative log-probability per outcome; None when nothing was counted."""
    if n <= 0:
        return None
    return math.exp(-logprob / n)


def plausibility(logprob: float, n: int) -> Optional[float]:
    """Geometric-mean outcome probability, 1 / perplexity, in (0, 1]; None when nothing was counted."""
    if n <= 0:
        return None
    return math.exp(logprob / n)


def slor(logprob: float, unigram_logprob: float, n: int) -> Optional[float]:
    """Syntactic log-odds ratio (Lau, Clark & Lappin 2017): (log P_lm − log P_unigram) / length.

    Removes the part of a sentence's probability that comes from its words' frequencies alone,
    so rare-but-fluent sentences are not punished for their rare words.
    """
    if n <= 0:
        return None
    return (logprob - unigram_logprob) / n


def bits_per_char(logprob: float, n_chars: int) -> Optional[float]:
    """Total surprisal in bits divided by the number of characters of the text it covers."""
    if n_chars <= 0:
        return None
    return -logprob / LN2 / n_chars
