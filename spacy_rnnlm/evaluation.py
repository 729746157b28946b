"""Corpus-level evaluation of a pipeline with an `rnnlm` component: perplexity, plausibility,
bits per character, out-of-vocabulary rate and throughput."""
import time
from typing import Any, Dict, List, Optional, Sequence, Tuple

from spacy.language import Language
from spacy.tokens import Doc

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
    vocabulary and with `<unk>` as a word (the closed vocabulary, as before spelling), and, with
    correction on (`detect_odd`), how well it corrects.

    Sentence level (both texts of every pair): a corrupted sentence corrected to exactly its
    original is a true positive; any change to a clean sentence, and a wrong change to a
    corrupted one, a false positive; a corrupted sentence not restored, a false negative.
    Detection level: an edit covering the replaced character is a true positive, any other edit
    a false positive, a typo with no covering edit a false negative. The sweep gives these for
    every threshold (the config's is `odd_threshold`; run with the sweep's lowest, in one round
    of correction: later rounds build on the edits of earlier ones, so only a single round's
    edits can be filtered by threshold afterwards). The figures at the configured threshold come
    from a run of the pipeline as configured, rounds included.
    """
    lm = find_rnnlm(nlp)
    configured, rounds = lm.odd_threshold, lm.odd_rounds
    lm.odd_threshold, lm.odd_rounds = min(configured, 0.0), 1  # the sweep filters the edits itself
    try:
        originals = list(nlp.pipe((p["original"] for p in pairs), batch_size=batch_size))
        corrupted = list(nlp.pipe((p["corrupted"] for p in pairs), batch_size=batch_size))
    finally:
        lm.odd_threshold, lm.odd_rounds = configured, rounds

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
    # Correction, at every threshold of the sweep: the pipeline ran with the lowest one, and the
    # edits kept at a higher threshold are exactly those of gain above it (they are chosen
    # greedily by falling gain, so a higher threshold keeps a prefix of the same choices).
    def labelled(originals: List[Doc], corrupted: List[Doc]) -> List[Tuple[Doc, str, Optional[Dict]]]:
        out = [(orig, pair["original"], None) for pair, orig in zip(pairs, originals)]
        return out + [(corr, pair["original"], pair) for pair, corr in zip(pairs, corrupted)]

    one_round = labelled(originals, corrupted)

    def at(threshold: float, docs: List[Tuple[Doc, str, Optional[Dict]]] = one_round) -> Dict[str, float]:
        tp = fp = fn = 0  # sentence level
        d_tp = d_fp = d_fn = 0  # detection: the edit covers the replaced character
        n_changed_clean = 0
        for doc, original, pair in docs:
            edits = [e for e in doc._.lm_corrections if e["gain"] > threshold]
            text = apply_edits(doc.text, edits)
            if pair is None:
                fp += text != doc.text
                n_changed_clean += text != doc.text
                d_fp += len(edits)
                continue
            if text == original:
                tp += 1
            else:
                fn += 1
                fp += bool(edits)  # a wrong change is both a miss and a false alarm
            hit = [e for e in edits if e["start"] < pair["end"] and e["end"] > pair["start"]]
            d_tp += bool(hit)
            d_fn += not hit
            d_fp += len(edits) - len(hit)
        return {
            "threshold": threshold,
            **_prf("", tp, fp, fn),
            **_prf("detection_", d_tp, d_fp, d_fn),
            "clean_changed": n_changed_clean / n,
        }

    sweep = [at(t / 2) for t in range(0, 41)]
    if rounds > 1:  # as configured: a sentence corrected is looked at again
        texts = [p["original"] for p in pairs] + [p["corrupted"] for p in pairs]
        configured_docs = list(nlp.pipe(texts, batch_size=batch_size))
        result["correction"] = at(configured, labelled(configured_docs[:n], configured_docs[n:]))
    else:
        result["correction"] = at(configured)
    result["correction_best"] = max(sweep, key=lambda d: d["f1"])
    result["correction_sweep"] = sweep
    return result


def apply_edits(text: str, edits: Sequence[Dict[str, Any]]) -> str:
    """`text` with `{"start", "end", "suggestion"}` edits (character offsets, not overlapping) applied."""
    for edit in sorted(edits, key=lambda e: -e["start"]):
        text = text[: edit["start"]] + edit["suggestion"] + text[edit["end"] :]
    return text


def _prf(prefix: str, tp: int, fp: int, fn: int) -> Dict[str, float]:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {f"{prefix}precision": precision, f"{prefix}recall": recall, f"{prefix}f1": f1}
