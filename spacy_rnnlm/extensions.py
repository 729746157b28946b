"""The `lm_` extensions: names, idempotent installation, and the getters that read them.

The component writes one plain-Python record per doc, `Doc._.lm_scores`; every other extension
is a getter over it, so any span (a sentence, a phrase, the whole doc) is scored on demand and
the record survives `DocBin`/pickle round trips. Record layout (per token index `i`):
`logprob[i]` natural-log P(token | left context) or None (whitespace, or not scored);
`unigram[i]` its unigram log-probability (for SLOR); `spelling[i]` for an unknown word, the
log Q(word | <unk>, context) part of both, spelled out or read through its pieces (the rest is
`<unk>`'s; see pieces.py); `alternatives[i]` list of `[text, prob]`
(`alternatives` is None when none were drawn for the doc);
`ends` rows `[i, logprob, unigram]`: the end-of-sentence event after counted token `i`;
with correction on (`detect_odd`), `odd[i]` `[gain, replacement]` for examined words (the best
replacement rescored and its gain in nats), `edits` rows `[start, end, replacement, gain]` (the
corrections made: tokens [start, end) become `replacement`) and `odd_threshold`.
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
IS_ODD = "lm_is_odd"
SUGGESTION = "lm_suggestion"
ODD_TOKENS = "lm_odd_tokens"
CORRECTED = "lm_corrected"
CORRECTIONS = "lm_corrections"
# (len(doc), width) float32: the LM's contextual token states, set only while a listener reads them
STATES = "lm_states"


def sentence_spans(doc: Doc) -> List[Span]:
    """The doc's independently scored sequences: its sentences when it has sentence
    boundaries, else the whole doc as one span."""
    return list(doc.sents) if doc.has_annotation("SENT_START") else [doc[:]]


class SpanTotals:
    """Sums over the counted outcomes of a span: log-prob, unigram log-prob, count, characters,
    and the unknown words' part of the log-prob (their log Q(word | <unk>, context))."""

    __slots__ = ("logprob", "unigram", "n", "n_chars", "spelling")

    def __init__(self) -> None:
        self.logprob, self.unigram, self.spelling = 0.0, 0.0, 0.0
        self.n, self.n_chars = 0, 0


def span_totals(span: Span) -> Optional[SpanTotals]:
    """Totals for `span`, or None when its doc has not been scored."""
    record: Optional[Dict[str, Any]] = span.doc._.get(SCORES)
    if record is None:
        return None
    totals = SpanTotals()
    logprobs, unigrams = record["logprob"], record["unigram"]
    spelling = record.get("spelling") or [None] * len(logprobs)
    for token in span:
        lp = logprobs[token.i]
        if lp is not None:
            totals.logprob += lp
            totals.unigram += unigrams[token.i]
            totals.n += 1
            totals.n_chars += len(token.text)
            if spelling[token.i] is not None:
                totals.spelling += spelling[token.i]
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
    """`(text, probability)` pairs, most probable first; [] for a scored token with none drawn,
    None for a token that is not scored (whitespace) or a doc the component has not seen."""
    record = token.doc._.get(SCORES)
    if record is None:
        return None
    if record["alternatives"] is None:  # none drawn for the doc
        return None if record["logprob"][token.i] is None else []
    alts = record["alternatives"][token.i]
    return None if alts is None else [(text, prob) for text, prob in alts]


def _edits(doc: Doc) -> Optional[List[list]]:
    """The corrections of a doc (`[start, end, replacement, gain]` rows), None when correction is off."""
    record = doc._.get(SCORES)
    if record is None or "edits" not in record:
        return None
    return record["edits"]


def _edit_of(token: Token) -> Optional[list]:
    for edit in _edits(token.doc) or ():
        if edit[0] <= token.i < edit[1]:
            return edit
    return None


def token_is_odd(token: Token) -> Optional[bool]:
    """Whether the token is part of a correction; None when the doc was not corrected."""
    if _edits(token.doc) is None:
        return None
    return _edit_of(token) is not None


def token_suggestion(token: Token) -> Optional[str]:
    """The replacement of the correction the token is part of (a correction may span two
    tokens, e.g. 正/策 → 政策: both carry it), else None."""
    edit = _edit_of(token) if _edits(token.doc) is not None else None
    return None if edit is None else edit[2]


def odd_tokens(span: Span) -> Optional[List[Token]]:
    if _edits(span.doc) is None:
        return None
    return [token for token in span if token_is_odd(token)]


def corrections(doc: Doc) -> Optional[List[Dict[str, Any]]]:
    """The corrections as `{"start", "end", "text", "suggestion", "gain"}` (character offsets
    into `doc.text`), in text order; None when correction is off."""
    edits = _edits(doc)
    if edits is None:
        return None
    out = []
    for start, end, replacement, gain in sorted(edits):
        begin, stop = doc[start].idx, doc[end - 1].idx + len(doc[end - 1])
        out.append({"start": begin, "end": stop, "text": doc.text[begin:stop], "suggestion": replacement, "gain": gain})
    return out


def corrected_text(doc: Doc) -> Optional[str]:
    """`doc.text` with the corrections applied; None when correction is off."""
    edits = corrections(doc)
    if edits is None:
        return None
    text, offset = doc.text, 0
    for edit in edits:
        text = text[: edit["start"] + offset] + edit["suggestion"] + text[edit["end"] + offset :]
        offset += len(edit["suggestion"]) - (edit["end"] - edit["start"])
    return text


SPAN_GETTERS[ODD_TOKENS] = odd_tokens

TOKEN_GETTERS = {
    LOGPROB: token_logprob,
    SURPRISAL: token_surprisal,
    ALTERNATIVES: token_alternatives,
    IS_ODD: token_is_odd,
    SUGGESTION: token_suggestion,
}


DOC_GETTERS = {CORRECTED: corrected_text, CORRECTIONS: corrections}


def install_extensions() -> None:
    """Register every extension once; later calls (and other components) leave them alone."""
    for name in (SCORES, STATES):
        if not Doc.has_extension(name):
            Doc.set_extension(name, default=None)
    for name, getter in DOC_GETTERS.items():
        if not Doc.has_extension(name):
            Doc.set_extension(name, getter=getter)
    for name, getter in SPAN_GETTERS.items():
        for cls in (Doc, Span):
            if not cls.has_extension(name):
                cls.set_extension(name, getter=(lambda doc, g=getter: g(doc[:])) if cls is Doc else getter)
    for name, getter in TOKEN_GETTERS.items():
        if not Token.has_extension(name):
            Token.set_extension(name, getter=getter)
    if not Span.has_extension(ALTERNATIVES):  # a span's substitutes: it as one word in its place
        from .spans import span_substitutes

        Span.set_extension(ALTERNATIVES, getter=span_substitutes)
