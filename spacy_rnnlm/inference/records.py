"""From scored units to the plain record each doc keeps (`Doc._.lm_scores`, read by the `lm_`
extensions; see spacy_rnnlm/extensions.py)."""
from typing import Any, Dict, List, Optional

from ..vocab import EOS_ID, LMVocab
from .units import Unit


def scores_record(n_tokens: int, units: List[Unit], vocab: LMVocab, odd_threshold: Optional[float] = None) -> Dict[str, Any]:
    """The record of a doc of `n_tokens` tokens scored as `units`. An unknown word's log-prob is
    the open-vocabulary one, log P(<unk> | context) + log Q(word | <unk>, context), Q adding the
    paths that spell it out and that read it through its pieces (spacy_rnnlm/pieces.py);
    `spelling[i]` keeps the second term. With `odd_threshold` (correction on), the record also
    holds each token's best correction and the edits made."""
    unigrams = vocab.unigram_logprobs
    logprob: List[Optional[float]] = [None] * n_tokens
    unigram: List[Optional[float]] = [None] * n_tokens
    spelling: List[Optional[float]] = [None] * n_tokens
    # None for a doc with no alternatives drawn (the getter gives each scored token []): a list
    # per token was ~4 % of scoring time, mostly garbage collection
    drawn = any(unit.alt_ids is not None for unit in units)
    alternatives: Optional[List[Optional[list]]] = [None] * n_tokens if drawn else None
    odd: List[Optional[list]] = [None] * n_tokens
    ends, edits = [], []
    for unit in units:
        unit.fold_pieces()
        unit_alternatives = unit_alternative_pairs(unit, vocab.words) if alternatives is not None else None
        # Python numbers at once: indexing numpy arrays token by token costs more
        logprobs, ids, unit_odd = unit.logprobs.tolist(), unit.ids.tolist(), unit.odd  # type: ignore[union-attr]
        for pos, i in enumerate(unit.token_ids):
            logprob[i], unigram[i] = logprobs[pos], unigrams[ids[pos + 1]]
            spelling[i] = unit.spelling[pos]  # type: ignore[index]
            if spelling[i] is not None:
                logprob[i] += spelling[i]  # type: ignore[operator]
                unigram[i] += spelling[i]  # type: ignore[operator]
            if alternatives is not None:
                alternatives[i] = unit_alternatives[pos]  # type: ignore[index]
            if unit_odd is not None and unit_odd[pos] is not None:
                odd[i] = [float(unit_odd[pos][0]), unit_odd[pos][1]]
        ends.append([unit.token_ids[-1], logprobs[-1], unigrams[EOS_ID]])
        for start, end, replacement, gain in unit.edits:
            edits.append([unit.token_ids[start], unit.token_ids[end - 1] + 1, "".join(replacement), float(gain)])
    record: Dict[str, Any] = {
        "logprob": logprob,
        "unigram": unigram,
        "spelling": spelling,
        "alternatives": alternatives,
        "ends": ends,
        "n_vocab": len(vocab),
    }
    if odd_threshold is not None:
        record.update(odd=odd, edits=edits, odd_threshold=odd_threshold)
    return record


def unit_alternative_pairs(unit: Unit, words: List[str]) -> List[list]:
    """Each position's `[word, probability]` pairs, most probable first (`[]` when none)."""
    if unit.alt_ids is None:
        return [[] for _ in unit.token_ids]
    out = []
    for ids, probs in zip(unit.alt_ids.tolist(), unit.alt_probs.tolist()):  # type: ignore[union-attr]
        pairs = [[words[idx], p] for idx, p in zip(ids, probs) if p > 0]
        pairs.sort(key=lambda pair: -pair[1])
        out.append(pairs)
    return out
