"""Corpus-level evaluation of a pipeline with an `rnnlm` component: perplexity, plausibility,
bits per character, out-of-vocabulary rate and throughput."""
import time
from typing import Any, Dict, List, Optional, Sequence, Tuple

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
    floor cost of any pipeline, so the ratio holds on a noisy machine.

    `perplexity` and `bits_per_char` are open-vocabulary (unknown words spelled out);
    `perplexity_closed_vocab` counts each unknown word as the event `<unk>`, the convention of
    n-gram toolkits such as KenLM with a fixed vocabulary, to compare with them."""
    lm = find_rnnlm(nlp)
    logprob, unigram, spelling, n, n_chars, n_words, n_oov, n_docs, n_tokens = 0.0, 0.0, 0.0, 0, 0, 0, 0, 0, 0
    start = time.perf_counter()
    for doc in nlp.pipe(texts, batch_size=batch_size):
        n_docs += 1
        n_tokens += len(doc)
        totals = span_totals(doc[:])
        if totals is None:
            continue
        logprob += totals.logprob
        unigram += totals.unigram
        spelling += totals.spelling
        n += totals.n
        n_chars += totals.n_chars
        n_oov += sum(1 for t in doc if t._.lm_logprob is not None and t.text not in lm.lm_vocab)
        n_words += totals.n - len(doc._.lm_scores["ends"])
    seconds = time.perf_counter() - start
    tokenizer_speed = None
    if baseline:
        start = time.perf_counter()
        n_base = sum(len(doc) for doc in nlp.tokenizer.pipe(texts, batch_size=batch_size))
        tokenizer_speed = n_base / max(time.perf_counter() - start, 1e-9)
    return {
        "perplexity": scoring.perplexity(logprob, n),
        "perplexity_closed_vocab": scoring.perplexity(logprob - spelling, n),
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


def evaluate_pairs(nlp: Language, pairs: Sequence[Dict], *, batch_size: int = 64) -> Dict[str, Any]:
    """Typo pairs ({"original", "corrupted", "start", "end"}, see scripts/make_typos.py):
    how often the original sentence scores higher than its corrupted twin, with the open
    vocabulary and with `<unk>` as a word (the closed vocabulary, as before spelling), and how
    well odd-word detection finds the replaced character.

    Detection is scored on tokens of both texts: a flagged token of the corrupted text that
    covers the replaced character is a true positive, any other flagged token (including in
    the original text) a false positive, an unflagged covering token a false negative. The
    threshold sweep gives the F1 every threshold would reach (the config's is `odd_threshold`).
    """
    lm = find_rnnlm(nlp)
    originals = list(nlp.pipe((p["original"] for p in pairs), batch_size=batch_size))
    corrupted = list(nlp.pipe((p["corrupted"] for p in pairs), batch_size=batch_size))

    def closed(docs) -> List[Tuple[float, Optional[float]]]:
        """(log-prob, plausibility) of each doc with unknown words as the event `<unk>`."""
        totals = [span_totals(doc[:]) for doc in docs]
        return [(t.logprob - t.spelling, scoring.plausibility(t.logprob - t.spelling, t.n)) for t in totals]

    n = len(pairs)
    pairs_closed = list(zip(closed(originals), closed(corrupted)))
    result: Dict[str, Any] = {
        "pairs": n,
        "original_more_probable": sum(o._.lm_logprob > c._.lm_logprob for o, c in zip(originals, corrupted)) / n,
        "original_more_plausible": sum(
            o._.lm_plausibility > c._.lm_plausibility for o, c in zip(originals, corrupted)
        ) / n,
        "closed_vocab_original_more_probable": sum(o[0] > c[0] for o, c in pairs_closed) / n,
        "closed_vocab_original_more_plausible": sum(o[1] > c[1] for o, c in pairs_closed) / n,
    }
    if not lm.detect_odd:
        return result
    gains: List[Tuple[float, bool, bool]] = []  # (gain, gold, suggestion restores the original)
    n_gold = 0
    for pair, orig, corr in zip(pairs, originals, corrupted):
        for doc, is_corrupted in ((orig, False), (corr, True)):
            odd = doc._.lm_scores["odd"]
            for token in doc:
                gold = is_corrupted and token.idx < pair["end"] and token.idx + len(token) > pair["start"]
                n_gold += gold
                if odd[token.i] is not None:
                    gain, word = odd[token.i]
                    fixed = gold and doc.text[: token.idx] + word + doc.text[token.idx + len(token) :] == pair["original"]
                    gains.append((gain, gold, fixed))

    def detection(threshold: float) -> Dict[str, float]:
        flagged = [(gold, fixed) for gain, gold, fixed in gains if gain > threshold]
        tp = sum(gold for gold, _ in flagged)
        precision = tp / len(flagged) if flagged else 0.0
        recall = tp / n_gold if n_gold else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        corrected = sum(fixed for _, fixed in flagged) / tp if tp else 0.0
        return {"threshold": threshold, "precision": precision, "recall": recall, "f1": f1, "suggestion_restores": corrected}

    sweep = [detection(t / 2) for t in range(0, 41)]
    result["detection"] = detection(lm.odd_threshold)
    result["detection_best"] = max(sweep, key=lambda d: d["f1"])
    result["detection_sweep"] = sweep
    return result
