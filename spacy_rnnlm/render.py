"""HTML view of language-model scores, in the manner of displaCy: each token shaded by its
surprisal, its log-prob and alternatives in a tooltip on hover, each sentence with its plausibility."""
import html
from typing import Iterable, List, Union

from spacy.tokens import Doc

from .extensions import sentence_spans

# Surprisal (bits) at which a token gets the darkest shade.
MAX_BITS = 16.0

STYLE = """
.lm-doc { font-family: "Noto Sans CJK SC", "Microsoft YaHei", sans-serif; font-size: 18px; line-height: 2.6; padding: 1em; }
.lm-sent { margin-right: 0.3em; }
.lm-plaus { font-size: 11px; color: #555; background: #eef; border-radius: 3px; padding: 0 4px; margin: 0 4px; vertical-align: super; }
.lm-token { position: relative; border-radius: 3px; padding: 2px 1px; cursor: help; }
.lm-tip { display: none; position: absolute; left: 0; top: 1.9em; z-index: 10; white-space: nowrap; font-size: 12px;
          line-height: 1.5; background: #222; color: #fff; padding: 4px 8px; border-radius: 4px; }
.lm-token:hover .lm-tip { display: block; }
"""


def _token_html(token) -> str:
    text = html.escape(token.text)
    lp = token._.lm_logprob
    if lp is None:
        return text
    bits = token._.lm_surprisal
    alpha = min(bits / MAX_BITS, 1.0)
    alts = token._.lm_alternatives or []
    alt_text = ", ".join(f"{html.escape(w)} {p:.3g}" for w, p in alts) or "—"
    tip = f"logprob {lp:.3f} · {bits:.2f} bits<br>alternatives: {alt_text}"
    return (
        f'<span class="lm-token" data-logprob="{lp:.6f}" data-surprisal="{bits:.4f}" '
        f'style="background: rgba(220, 40, 40, {alpha:.3f})">{text}<span class="lm-tip">{tip}</span></span>'
    )


def render_doc(doc: Doc) -> str:
    """The HTML fragment of one scored doc."""
    parts = []
    for sent in sentence_spans(doc):
        plaus = sent._.lm_plausibility
        badge = "" if plaus is None else f'<span class="lm-plaus">{plaus:.4f}</span>'
        tokens = "".join(_token_html(t) + html.escape(t.whitespace_) for t in sent)
        value = "" if plaus is None else f"{plaus:.6f}"
        parts.append(f'<span class="lm-sent" data-plausibility="{value}">{tokens}{badge}</span>')
    ppl = doc._.lm_perplexity
    title = "" if ppl is None else f' title="perplexity {ppl:.2f}"'
    return f'<div class="lm-doc"{title}>{"".join(parts)}</div>'


def render(docs: Union[Doc, Iterable[Doc]], *, page: bool = False) -> str:
    """HTML for one doc or several; `page=True` gives a complete HTML page with its style."""
    doc_list: List[Doc] = [docs] if isinstance(docs, Doc) else list(docs)
    body = "\n".join(render_doc(doc) for doc in doc_list)
    if not page:
        return f"<style>{STYLE}</style>\n{body}"
    return (
        '<!DOCTYPE html>\n<html lang="zh"><head><meta charset="utf-8"><title>spacy-rnnlm scores</title>'
        f"<style>{STYLE}</style></head><body>\n{body}\n</body></html>\n"
    )
