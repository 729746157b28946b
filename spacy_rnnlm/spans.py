"""Substitutes for any stretch of text, whatever jieba's cut: a word inside a token (委 in
委实), or several tokens (a quarter of the words people ask substitutes for are not one jieba
token).

The text is cut as the pipeline cuts it, except that the stretch becomes one word (the tokens
it overlaps are split at its edges), and the pipeline's components run on that doc: the
stretch's alternatives are those of a word in that place, drawn as `Token._.lm_alternatives`
are (same model, same seed rule).
"""
from typing import List, Tuple

from spacy.language import Language
from spacy.tokens import Doc

from .errors import Errors


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


__all__ = ["as_one_word", "span_alternatives"]
