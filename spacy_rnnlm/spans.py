"""Substitutes for any stretch of text, whatever jieba's cut: a word inside a token (委 in
委实), or several tokens (a quarter of the words people ask substitutes for are not one jieba
token).

The text is cut as the pipeline cuts it, except that the stretch becomes one word (the tokens
it overlaps are split at its edges), and the pipeline's components run on that doc: the
stretch's alternatives are those of a word in that place, drawn as `Token._.lm_alternatives`
are (same model, same seed rule). `Span._.lm_alternatives` does the same for a span of a
scored doc, with the rnnlm component that last scored a doc of that vocabulary.
"""
import weakref
from typing import Dict, List, Optional, Tuple

from spacy.language import Language
from spacy.tokens import Doc, Span

from .errors import Errors

# id(vocab) → the rnnlm that last annotated a doc of that vocabulary (a component keeps its
# vocabulary alive, so a live entry's id is never another vocabulary's)
_ANNOTATORS: Dict[int, "weakref.ref"] = {}


def as_one_word(nlp: Language, text: str, start: int, end: int) -> Tuple[Doc, int]:
    """`text` tokenized by `nlp`, with text[start:end] one token; returns the doc (not yet
    processed by the components) and that token's index."""
    if not (isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(text)) or not text[start:end].strip():
        raise ValueError(Errors.E005.format(name="span", value=(start, end), expected=f"0 <= start < end <= {len(text)}, not only whitespace"))
    cuts = {0, len(text), start, end}
    for token in nlp.make_doc(text):
        cuts.update((token.idx, token.idx + len(token.text)))
    cuts = sorted(c for c in cuts if not start < c < end)
    words = [text[a:b] for a, b in zip(cuts, cuts[1:])]
    doc = Doc(nlp.vocab, words=words, spaces=[False] * len(words))
    return doc, cuts.index(start)


def span_alternatives(nlp: Language, text: str, start: int, end: int) -> List[Tuple[str, float]]:
    """`[word, probability]` substitutes for text[start:end] in its context (see module doc)."""
    doc, i = as_one_word(nlp, text, start, end)
    for _, proc in nlp.pipeline:
        doc = proc(doc)
    return [tuple(pair) for pair in doc[i]._.lm_alternatives]  # type: ignore[misc]


def remember(component) -> None:
    """Note `component` as the rnnlm that annotates docs of its vocabulary."""
    _ANNOTATORS[id(component.vocab)] = weakref.ref(component)


def merged(span: Span) -> Tuple[Doc, int]:
    """The span's doc with the span as one token (sentence starts kept), and its index."""
    doc = span.doc
    before, after = list(doc[: span.start]), list(doc[span.end :])
    words = [t.text for t in before] + [span.text] + [t.text for t in after]
    spaces = [bool(t.whitespace_) for t in before] + [bool(span[-1].whitespace_)] + [bool(t.whitespace_) for t in after]
    starts = None
    if doc.has_annotation("SENT_START"):
        starts = [t.is_sent_start for t in before] + [span[0].is_sent_start] + [t.is_sent_start for t in after]
    return Doc(doc.vocab, words=words, spaces=spaces, sent_starts=starts), span.start


def span_substitutes(span: Span) -> Optional[List[Tuple[str, float]]]:
    """`Span._.lm_alternatives`: a one-token span's token alternatives; a longer span's, as one
    word in its place; None when no rnnlm has annotated a doc of this vocabulary."""
    if len(span) <= 1:
        return span[0]._.lm_alternatives if len(span) else None
    ref = _ANNOTATORS.get(id(span.doc.vocab))
    component = ref() if ref is not None else None
    if component is None:
        return None
    doc, i = merged(span)
    return component(doc)[i]._.lm_alternatives


__all__ = ["as_one_word", "merged", "remember", "span_alternatives", "span_substitutes"]
