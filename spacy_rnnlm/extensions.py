"""The `lm_` extensions: names, idempotent installation, and the getters that read them.

The component writes one plain-Python record per doc, `Doc._.lm_scores`; every other extension
is a getter over it, so any span (a sentence, a phrase, the whole doc) is scored on demand and
the record survives `DocBin`/pickle round trips. Record layout (per token index `i`):
`logprob[i]` natural-log P(token | left context) or None (whitespace, or not scored);
`unigram[i]` its unigram log-probability (for SLOR); `alternatives[i]` list of `[text, prob]`;
`ends` rows `[i, logprob, unigram]`: the end-of-sentence event after counted token `i`.
"""
from typing import Any, Dict, List, Optional, Tuple

from spacy.tokens import Doc, Span, Token

from . import scoring

SCORES = "lm_scores"
LOGPROB = "lm_logprob"
SURPRISAL = "lm_surprisal"
ALTERNATIVES = "lm_alternatives"
PERPLEXITY = "lm_perplexity"
PLAUSIBILITY = "lm_plausibility"
SLOR = "lm_slor"
BITS_PER_CHAR = "lm_bits_per_char"
N_COUNTED = "lm_n_counted"


def sentence_spans(doc: Doc) -> List[Span]:
    """The doc's independently scored sequences: its sentences when it has sentence
    boundaries, else the whole doc as one span."""
    return list(doc.sents) if doc.has_annotation("SENT_START") else [doc[:]]


class SpanTotals:
    """Sums over the counted outcomes of a span: log-prob, unigram log-prob, count, characters."""

    __slots__ = ("logprob", "unigram", "n", "n_chars")

    def __init__(self, logprob: float = 0.0, unigram: float = 0.0, n: int = 0, n_chars: int = 0):
        self.logprob, self.unigram, self.n, self.n_chars = logprob, unigram, n, n_chars


def span_totals(span: Span) -> Optional[SpanTotals]:
    """Totals for `span`, or None when its doc has not been scored."""
    record: Optional[Dict[str, Any]] = span.doc._.get(SCORES)
    if record is None:
        return None
    totals = SpanTotals()
    logprobs, unigrams = record["logprob"], record["unigram"]
    for token in span:
        lp = logprobs[token.i]
        if lp is not None:
            totals.logprob += lp
            totals.unigram += unigrams[token.i]
            totals.n += 1
            totals.n_chars += len(token.text)
    for i, lp, unigram in record["ends"]:
        if span.start <= i < span.end:
            totals.logprob += lp
            totals.unigram += unigram
            totals.n += 1
    return totals


def _span_score(func):
    def getter(span: Span) -> Optional[float]:
        totals = span_totals(span)
        return None if totals is None else func(totals)

    return getter


SPAN_GETTERS = {
    LOGPROB: _span_score(lambda t: t.logprob),
    PERPLEXITY: _span_score(lambda t: scoring.perplexity(t.logprob, t.n)),
    PLAUSIBILITY: _span_score(lambda t: scoring.plausibility(t.logprob, t.n)),
    SLOR: _span_score(lambda t: scoring.slor(t.logprob, t.unigram, t.n)),
    BITS_PER_CHAR: _span_score(lambda t: scoring.bits_per_char(t.logprob, t.n_chars)),
    N_COUNTED: _span_score(lambda t: t.n),
}


def _token_value(token: Token, key: str) -> Any:
    record = token.doc._.get(SCORES)
    return None if record is None else record[key][token.i]


def token_logprob(token: Token) -> Optional[float]:
    return _token_value(token, "logprob")


def token_surprisal(token: Token) -> Optional[float]:
    lp = _token_value(token, "logprob")
    return None if lp is None else scoring.surprisal_bits(lp)


def token_alternatives(token: Token) -> Optional[List[Tuple[str, float]]]:
    alts = _token_value(token, "alternatives")
    return None if alts is None else [(text, prob) for text, prob in alts]


TOKEN_GETTERS = {LOGPROB: token_logprob, SURPRISAL: token_surprisal, ALTERNATIVES: token_alternatives}


def install_extensions() -> None:
    """Register every extension once; later calls (and other components) leave them alone."""
    if not Doc.has_extension(SCORES):
        Doc.set_extension(SCORES, default=None)
    for name, getter in SPAN_GETTERS.items():
        for cls in (Doc, Span):
            if not cls.has_extension(name):
                cls.set_extension(name, getter=(lambda doc, g=getter: g(doc[:])) if cls is Doc else getter)
    for name, getter in TOKEN_GETTERS.items():
        if not Token.has_extension(name):
            Token.set_extension(name, getter=getter)
