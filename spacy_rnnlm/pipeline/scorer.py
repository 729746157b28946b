"""The rnnlm component's scorer: what `spacy train` and `spacy evaluate` report for it."""
import math
from typing import Callable, Dict, Iterable, Optional

from spacy.training import Example
from spacy.util import registry

from .. import scoring
from ..extensions import SCORES, span_totals


@registry.scorers("spacy-rnnlm.lm_scorer.v1")
def make_lm_scorer() -> Callable:
    return lm_score


def lm_score(examples: Iterable[Example], **kwargs) -> Dict[str, Optional[float]]:
    """Corpus perplexity of the predicted docs (open vocabulary; and closed, with unknown words
    as the event `<unk>`), and `lm_score` =
    1 − ln(closed-vocabulary perplexity) / ln(|V|): the share of a uniform guess's uncertainty
    over the vocabulary that the model removes, in [0, 1] for any model better than uniform,
    higher is better (spaCy keeps the checkpoint with the highest score, so perplexity itself
    cannot be the weight). The spelling model is fixed during training, so both rank
    checkpoints alike."""
    logprob, spelling, n, n_vocab = 0.0, 0.0, 0, 0
    for eg in examples:
        totals = span_totals(eg.predicted[:])
        if totals is not None:
            logprob += totals.logprob
            spelling += totals.spelling
            n += totals.n
            n_vocab = eg.predicted._.get(SCORES)["n_vocab"]
    ppl = scoring.perplexity(logprob, n)
    closed = scoring.perplexity(logprob - spelling, n)
    score = None if closed is None or n_vocab < 2 else 1.0 - math.log(closed) / math.log(n_vocab)
    return {"lm_perplexity": ppl, "lm_perplexity_closed_vocab": closed, "lm_score": score}
