"""Spelling correction on real learners' and students' essays (the SIGHAN spelling-check sets).

    python benchmarks/csc.py training/rnnlm/model-best ../shared/csc/sighan14_test.jsonl \
        --thresholds 2 3 4 5 6 7.5 --output metrics/csc14.json

Each pair is `{"wrong", "correct"}`; the pipeline corrects `wrong` (`Doc._.lm_corrected`).
Sentence level, as pycorrector counts it: an erroneous sentence corrected to exactly `correct`
is a true positive; any change to a clean sentence is a false positive; an erroneous sentence
left wrong is a false negative, and also a false positive when it was changed. Detection level:
an erroneous sentence is detected when its output differs from the input at exactly the
positions where `wrong` and `correct` differ. Also the share of clean sentences changed.
The sets' licence allows research use only: they measure and choose settings, never ship.
Figures, not assertions.
"""
import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

import spacy
import srsly

from spacy_rnnlm.evaluation import find_rnnlm


def missing(path: Path) -> bool:
    """Whether a dev set of ../shared is absent (then the benchmark says so and does nothing)."""
    if path.exists():
        return False
    print(f"skipped: {path} is missing (the public dev sets live beside the checkout, in ../shared)")
    return True


def prf(tp: int, fp: int, fn: int) -> Dict[str, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0}


def score(pairs: List[Dict[str, str]], outputs: List[str]) -> Dict[str, Any]:
    tp = fp = fn = tn = 0
    d_tp = d_fp = d_fn = 0
    clean_changed = n_clean = 0
    for pair, out in zip(pairs, outputs):
        wrong, correct = pair["wrong"], pair["correct"]
        changed = out != wrong
        if wrong == correct:
            n_clean += 1
            clean_changed += changed
            fp += changed
            tn += not changed
            d_fp += changed
            continue
        if out == correct:
            tp += 1
        else:
            fn += 1
            fp += changed
        gold = {i for i, (a, b) in enumerate(zip(wrong, correct)) if a != b}
        found = {i for i, (a, b) in enumerate(zip(wrong, out)) if a != b} if len(out) == len(wrong) else None
        if found == gold:
            d_tp += 1
        else:
            d_fn += 1
            d_fp += changed
    return {
        "pairs": len(pairs),
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "tn": tn,
        **prf(tp, fp, fn),
        "detection": prf(d_tp, d_fp, d_fn),
        "clean": n_clean,
        "clean_changed": clean_changed / n_clean if n_clean else None,
    }


def run(nlp, pairs: List[Dict[str, str]], thresholds: List[float]) -> Dict[str, Any]:
    lm = find_rnnlm(nlp)
    saved = (lm.detect_odd, lm.n_alternatives, lm.odd_threshold)
    lm.detect_odd, lm.n_alternatives = True, 0
    results = []
    try:
        for threshold in thresholds:
            lm.odd_threshold = threshold
            start = time.perf_counter()
            outputs = [doc._.lm_corrected for doc in nlp.pipe((p["wrong"] for p in pairs), batch_size=64)]
            seconds = time.perf_counter() - start
            result = {"threshold": threshold, **score(pairs, outputs), "sentences_per_second": len(pairs) / seconds}
            print(json.dumps({k: v for k, v in result.items()}), flush=True)
            result["examples"] = [
                [p["wrong"], o, p["correct"]] for p, o in zip(pairs, outputs) if o != p["correct"] or o != p["wrong"]
            ][:30]
            results.append(result)
    finally:
        lm.detect_odd, lm.n_alternatives, lm.odd_threshold = saved
    return {"configured_threshold": saved[2], "runs": results, "best": max(results, key=lambda r: r["f1"])}


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model")
    parser.add_argument("pairs", type=Path, help="a ../shared/csc file (benchmarks only)")
    parser.add_argument("--thresholds", type=float, nargs="+", help="default: the pipeline's odd_threshold")
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--output", type=Path)
    args = parser.parse_args(argv)
    if missing(args.pairs):
        return
    nlp = spacy.load(args.model)
    pairs = list(srsly.read_jsonl(args.pairs))
    pairs = pairs[: args.limit] if args.limit else pairs
    result = run(nlp, pairs, args.thresholds or [find_rnnlm(nlp).odd_threshold])
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        srsly.write_json(args.output, result)


if __name__ == "__main__":
    sys.exit(main())
