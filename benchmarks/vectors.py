"""Quality of the word vectors a trained pipeline can give, against count-based vectors built
from the same training split in the same run, as a table and JSON.

    python benchmarks/vectors.py training/rnnlm/model-best --output metrics/vectors.json

Word similarity: Spearman's rho between human similarity scores and the cosine of two words'
vectors, over the pairs whose two words are in the LM's vocabulary (coverage reported), on
COS960 (benchmarks/data/cos960.txt: 960 pairs, each the mean of 15 native speakers' scores of
true similarity, 0-4; Huang, Qi, Yang, Liu, Sun 2019, "COS960: A Chinese Word Similarity
Dataset of 960 Word Pairs", arXiv:1906.00247, github.com/thunlp/COS960).

Vectors compared (figures, not assertions):
- input, output, input+output: the LM's word vectors (spacy_rnnlm/vectors.py, the kinds the
  pipeline can ship as static vectors);
- context: each word's mean forward state over the training split (the kind the project's
  `context-vectors` step ships);
- ppmi (window 2 and 5): positive PMI of word/context counts in the training split with
  context-distribution smoothing 0.75 (Levy, Goldberg & Dagan 2015), same segmentation and
  vocabulary, sparse rows compared by cosine.
"""
import argparse
import math
import time
from collections import Counter
from pathlib import Path
from typing import Any, Dict, List, Sequence, Tuple

import numpy
import spacy
import srsly

from spacy_rnnlm.evaluation import find_rnnlm
from spacy_rnnlm.models.architectures import torch_module
from spacy_rnnlm.vectors import VECTOR_KINDS, context_vectors, word_vector_table

COS960 = Path(__file__).parent / "data" / "cos960.txt"


def read_pairs(path: Path) -> List[Tuple[str, str, float]]:
    pairs = []
    for line in path.read_text(encoding="utf8").splitlines():
        if line.strip():
            a, b, score = line.split()[:3]
            pairs.append((a, b, float(score)))
    return pairs


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    """Spearman's rho with average ranks for ties."""

    def ranks(values: Sequence[float]) -> numpy.ndarray:
        values = numpy.asarray(values, dtype=float)
        order = numpy.argsort(values, kind="mergesort")
        out = numpy.empty(len(values))
        i = 0
        while i < len(values):
            j = i
            while j + 1 < len(values) and values[order[j + 1]] == values[order[i]]:
                j += 1
            out[order[i : j + 1]] = (i + j) / 2.0
            i = j + 1
        return out

    rx, ry = ranks(x), ranks(y)
    return float(numpy.corrcoef(rx, ry)[0, 1])


def ppmi_rows(docs_words: List[List[str]], targets: set, window: int, alpha: float = 0.75) -> Dict[str, Dict[str, float]]:
    """Sparse PPMI rows of the target words over all contexts within `window` words."""
    pair_counts: Dict[str, Counter] = {t: Counter() for t in targets}
    context_counts: Counter = Counter()
    total = 0
    for words in docs_words:
        for i, w in enumerate(words):
            lo, hi = max(0, i - window), min(len(words), i + window + 1)
            for j in range(lo, hi):
                if j == i:
                    continue
                c = words[j]
                context_counts[c] += 1
                total += 1
                if w in pair_counts:
                    pair_counts[w][c] += 1
    smoothed = {c: n**alpha for c, n in context_counts.items()}
    z = sum(smoothed.values())
    rows = {}
    for w, counts in pair_counts.items():
        n_w = sum(counts.values())
        row = {}
        for c, n in counts.items():
            pmi = math.log(n * z / (n_w * smoothed[c]))
            if pmi > 0:
                row[c] = pmi
        rows[w] = row
    return rows


def sparse_cosine(a: Dict[str, float], b: Dict[str, float]) -> float:
    if not a or not b:
        return 0.0
    if len(a) > len(b):
        a, b = b, a
    dot = sum(v * b.get(k, 0.0) for k, v in a.items())
    return dot / (math.sqrt(sum(v * v for v in a.values())) * math.sqrt(sum(v * v for v in b.values())))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model")
    parser.add_argument("--train", default="corpus/train.jsonl")
    parser.add_argument("--pairs", default=str(COS960))
    parser.add_argument("--output", default="metrics/vectors.json")
    args = parser.parse_args()

    nlp = spacy.load(args.model)
    lm = find_rnnlm(nlp)
    index = lm.lm_vocab.index
    n_special = torch_module(lm.model).n_special
    pairs = read_pairs(Path(args.pairs))
    covered = [(a, b, s) for a, b, s in pairs if index.get(a, 0) >= n_special and index.get(b, 0) >= n_special]
    gold = [s for _, _, s in covered]
    result: Dict[str, Any] = {"model": args.model, "pairs": str(args.pairs), "n_pairs": len(pairs), "covered": len(covered)}
    module = torch_module(lm.model)
    for name in VECTOR_KINDS:
        table = word_vector_table(module, name)
        unit = table / numpy.maximum(numpy.linalg.norm(table, axis=1, keepdims=True), 1e-8)
        cos = [float(unit[index[a]] @ unit[index[b]]) for a, b, _ in covered]
        result[name] = spearman(cos, gold)
    start = time.perf_counter()
    texts = [row["text"] for row in srsly.read_jsonl(args.train)]
    docs_words = [[t.text for t in doc] for doc in nlp.tokenizer.pipe(texts, batch_size=1000)]
    targets = {w for a, b, _ in covered for w in (a, b)}
    for window in (2, 5):
        rows = ppmi_rows(docs_words, targets, window)
        result[f"ppmi_window{window}"] = spearman([sparse_cosine(rows[a], rows[b]) for a, b, _ in covered], gold)
    result["ppmi_seconds"] = time.perf_counter() - start
    start = time.perf_counter()
    context_vectors(nlp, lm, texts)  # the product's "context" kind, from the same training split
    result["context_seconds"] = time.perf_counter() - start
    unit = {w: v / max(float(numpy.linalg.norm(v)), 1e-8) for w in targets for v in [nlp.vocab.vectors[nlp.vocab.strings[w]]]}
    result["context"] = spearman([float(unit[a] @ unit[b]) for a, b, _ in covered], gold)
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    srsly.write_json(args.output, result)
    print(f"COS960: {len(covered)} of {len(pairs)} pairs in the vocabulary (Spearman's rho)")
    for key in ("input", "output", "input+output", "context", "ppmi_window2", "ppmi_window5"):
        print(f"  {key:<14} {result[key]:.3f}")
    print(f"written: {args.output}")


if __name__ == "__main__":
    main()
