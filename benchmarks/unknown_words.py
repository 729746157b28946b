"""Unknown words read through their pieces: fit λ and ρ on dev, and report everyday text.

    python benchmarks/unknown_words.py fit training/rnnlm/model-best corpus/dev.jsonl
    python benchmarks/unknown_words.py report training/rnnlm/model-best --test corpus/test.jsonl \
        --modern ../shared/modern --output metrics/unknown_words.json
    python benchmarks/unknown_words.py bound training/rnnlm/model-final 小明上课总是不认真听讲。
    python benchmarks/unknown_words.py changes training/rnnlm/model-final ../shared/modern --thresholds 4.5 20

`fit` scores the dev texts once, keeps each unknown word's log P_spell and its pieces' forward
log-prob, and searches the grid of `pieces_weight` λ and `pieces_continue` ρ for the highest dev
likelihood (λ = 0 is the spelling model alone, so the fit can only improve dev).
`report` compares the spelling model alone (λ = 0, "before") with the pipeline's settings
("after") on benchmarks/data/everyday.tsv (sentences written for it, each with a word-shuffled
twin), the test split (per-sentence perplexities) and the test part of each file of
`../shared/modern` (per line): median and 90th-percentile perplexity, bits per character, share
of tokens outside the vocabulary, share of sentences more probable than their twin, and how many
clean sentences correction changes. Figures, not assertions.
"""
import argparse
from collections import deque
import json
import math
import statistics
import sys
from pathlib import Path
from typing import Any, Deque, Dict, List, Optional

import spacy
import srsly
from csc import missing

from spacy_rnnlm.evaluation import find_rnnlm
from spacy_rnnlm.extensions import span_totals
from spacy_rnnlm.pieces import Pieces

HERE = Path(__file__).resolve().parent
EVERYDAY = HERE / "data" / "everyday.tsv"
WEIGHTS = [0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9, 1.0]
CONTINUES = [0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7]


class _Recorder(Pieces):
    """Pieces that keep each split unknown word's (pieces log-prob, k) and give no pieces path,
    so that one pass scored by the spelling alone gives every (λ, ρ) of the grid."""

    def __init__(self, vocab):
        super().__init__(vocab, 0.5, 0.5)
        self.rows: Deque[tuple] = deque()  # consumed from the front as the docs come out

    def path_logprob(self, pieces_logprob: Optional[float], n_pieces: int) -> Optional[float]:
        self.rows.append((pieces_logprob, n_pieces))
        return None


def read_texts(path: Path, split: Optional[str] = None, limit: int = 0) -> List[str]:
    texts = []
    for row in srsly.read_jsonl(path):
        if split is None or row.get("split") == split:
            texts.append(row["text"])
    return texts[:limit] if limit else texts


def fit(nlp, texts: List[str]) -> Dict[str, Any]:
    lm = find_rnnlm(nlp)
    tables = lm.inference().tables  # the recorder takes the place of their pieces reader
    saved = (lm.n_alternatives, lm.detect_odd, lm.pieces_weight, lm.pieces_continue, tables._pieces)
    recorder = _Recorder(lm.lm_vocab)
    lm.n_alternatives, lm.detect_odd = 0, False
    lm.pieces_weight, lm.pieces_continue, tables._pieces = recorder.weight, recorder.cont, recorder
    rows = []  # per unknown word: (log P(<unk> | h), log P_spell, pieces log-prob or None, k)
    try:
        logprob, chars = 0.0, 0
        for doc in nlp.pipe(texts, batch_size=64):
            totals = span_totals(doc[:])
            logprob += totals.logprob - totals.spelling  # closed vocabulary: <unk> as a word
            chars += totals.n_chars
            scores = doc._.lm_scores
            for i, spelled in enumerate(scores["spelling"]):
                if spelled is not None:  # the recorder saw the split words in this same order
                    split = recorder.rows.popleft() if recorder.split(doc[i].text) is not None else (None, 0)
                    rows.append((scores["logprob"][i] - spelled, spelled) + split)
    finally:
        lm.n_alternatives, lm.detect_odd, lm.pieces_weight, lm.pieces_continue, tables._pieces = saved
    assert not recorder.rows, "the recorded pieces paths do not match the scored unknown words"

    def bits_per_char(weight: float, cont: float) -> float:
        pieces = Pieces(lm.lm_vocab, weight, cont)
        total = logprob + sum(pieces.combine(s, pieces.path_logprob(c, k), u) for u, s, c, k in rows)
        return -total / math.log(2) / chars

    grid = [{"pieces_weight": w, "pieces_continue": c, "bits_per_char": bits_per_char(w, c)} for w in WEIGHTS for c in CONTINUES]
    best = min(grid, key=lambda g: g["bits_per_char"])
    with_pieces = [r for r in rows if r[2] is not None]
    return {
        "texts": len(texts),
        "unknown_words": len(rows),
        "with_pieces": len(with_pieces),
        "pieces_counts": {k: sum(r[3] == k for r in with_pieces) for k in sorted({r[3] for r in with_pieces})},
        "spelling_only_bits_per_char": bits_per_char(0.0, 0.5),
        "best": best,
        "grid": grid,
    }


def _scored(nlp, texts: List[str], weight: float, detect: bool):
    lm = find_rnnlm(nlp)
    saved = (lm.pieces_weight, lm.detect_odd, lm.n_alternatives)
    lm.pieces_weight, lm.detect_odd, lm.n_alternatives = weight, detect, 0
    try:
        return list(nlp.pipe(texts, batch_size=64))
    finally:
        lm.pieces_weight, lm.detect_odd, lm.n_alternatives = saved


def summary(nlp, texts: List[str], weight: float, *, per_sentence: bool = False, twins: Optional[List[str]] = None, correct: bool = False) -> Dict[str, Any]:
    docs = _scored(nlp, texts, weight, correct)
    spans = [s for doc in docs for s in doc.sents] if per_sentence else [doc[:] for doc in docs]
    ppl = sorted(p for p in (s._.lm_perplexity for s in spans) if p is not None)
    logprob = chars = 0.0
    counted = oov = 0
    for doc in docs:
        totals = span_totals(doc[:])
        logprob += totals.logprob
        chars += totals.n_chars
        spelling = doc._.lm_scores["spelling"]
        words = [i for i, lp in enumerate(doc._.lm_scores["logprob"]) if lp is not None]
        counted += len(words)
        oov += sum(spelling[i] is not None for i in words)
    out: Dict[str, Any] = {
        "texts": len(texts),
        "median_perplexity": statistics.median(ppl),
        "p90_perplexity": ppl[min(len(ppl) - 1, int(0.9 * len(ppl)))],
        "max_perplexity": ppl[-1],
        "bits_per_char": -logprob / math.log(2) / chars,
        "oov_share": oov / counted,
    }
    if twins is not None:
        twin_docs = _scored(nlp, twins, weight, False)
        out["beats_twin"] = sum(d._.lm_logprob > t._.lm_logprob for d, t in zip(docs, twin_docs)) / len(docs)
    if correct:
        out["changed_by_correction"] = sum(d._.lm_corrected != d.text for d in docs)
        out["changed_examples"] = [[d.text, d._.lm_corrected] for d in docs if d._.lm_corrected != d.text][:10]
    out["worst"] = sorted(((s._.lm_perplexity, s.text) for s in spans if s._.lm_perplexity), reverse=True)[:3]
    return out


def report(nlp, test: Optional[Path], modern: Optional[Path], limit: int) -> Dict[str, Any]:
    lm = find_rnnlm(nlp)
    rows = [line.split("\t") for line in EVERYDAY.read_text(encoding="utf8").splitlines() if line and not line.startswith("#")]
    texts, twins = [r[1] for r in rows], [r[2] for r in rows]
    settings = {"before": 0.0, "after": lm.pieces_weight}
    result: Dict[str, Any] = {"pieces_weight": lm.pieces_weight, "pieces_continue": lm.pieces_continue}
    sets = {"everyday": (texts, dict(twins=twins, correct=True))}
    if test is not None:
        sets["test_split"] = (read_texts(test, limit=limit), dict(per_sentence=True))
    if modern is not None and not missing(modern):
        for name in ("tatoeba", "commonvoice_wiki", "dialogue"):
            sets[f"modern_{name}"] = (read_texts(modern / f"{name}.jsonl", "test", limit), dict(correct=True))
    for name, (set_texts, kwargs) in sets.items():
        result[name] = {when: summary(nlp, set_texts, w, **kwargs) for when, w in settings.items()}
        print(name, json.dumps({w: {k: v for k, v in r.items() if k not in ("worst", "changed_examples")} for w, r in result[name].items()}), flush=True)
    return result


def bound(nlp, texts: List[str]) -> Dict[str, Any]:
    """Each text's perplexity now and the lowest any weighting of the two paths could give it:
    every unknown word with pieces priced at log(P_spelled + Π), Π its pieces' forward
    probability, as if λ = 1 and π_k = 1 (no setting gives more). A text above the bound's
    target is out of reach of the mixture: only the forward model's probabilities can lift it."""
    lm = find_rnnlm(nlp)
    saved = (lm.n_alternatives, lm.detect_odd, lm.pieces_weight)
    lm.n_alternatives, lm.detect_odd = 0, False
    rows = []
    pieces = lm.inference().pieces
    try:
        for text in texts:
            doc = nlp(text)
            lm.pieces_weight = 0.0
            spelled = nlp(text)
            lm.pieces_weight = saved[2]
            best = doc._.lm_logprob
            for tok, sp in zip(doc, spelled):
                split = pieces.split(tok.text) if doc._.lm_scores["spelling"][tok.i] is not None else None
                if split is None or pieces.weight == 0:
                    continue
                prior = pieces.weight * math.exp(pieces.log_length_prior(len(split)))
                composed = (math.exp(tok._.lm_logprob) - math.exp(sp._.lm_logprob)) / prior
                best += math.log(math.exp(sp._.lm_logprob) + composed) - tok._.lm_logprob
            n = doc._.lm_n_counted
            rows.append({"text": text, "perplexity": doc._.lm_perplexity, "best_any_weighting": math.exp(-best / n)})
    finally:
        lm.n_alternatives, lm.detect_odd, lm.pieces_weight = saved
    return {"texts": rows}


def changes(nlp, modern: Path, thresholds: List[float], limit: int) -> Dict[str, Any]:
    """How many test sentences of each `../shared/modern` file correction changes, per threshold."""
    lm = find_rnnlm(nlp)
    lm.n_alternatives, lm.detect_odd = 0, True
    out: Dict[str, Any] = {}
    for threshold in thresholds:
        lm.odd_threshold = threshold
        for name in ("tatoeba", "commonvoice_wiki", "dialogue"):
            texts = read_texts(modern / f"{name}.jsonl", "test", limit)
            changed = sum(doc._.lm_corrected != doc.text for doc in nlp.pipe(texts, batch_size=64))
            out.setdefault(str(threshold), {})[name] = {"texts": len(texts), "changed": changed}
        print(threshold, json.dumps(out[str(threshold)]), flush=True)
    return out


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_fit = sub.add_parser("fit")
    p_fit.add_argument("model")
    p_fit.add_argument("dev", type=Path)
    p_rep = sub.add_parser("report")
    p_rep.add_argument("model")
    p_rep.add_argument("--test", type=Path)
    p_rep.add_argument("--modern", type=Path, help="../shared/modern (benchmarks only)")
    p_rep.add_argument("--limit", type=int, default=0, help="at most this many texts per set (0: all)")
    p_bound = sub.add_parser("bound", help="perplexity now and the best any weighting of the paths gives")
    p_bound.add_argument("model")
    p_bound.add_argument("texts", nargs="+")
    p_chg = sub.add_parser("changes", help="modern test sentences changed by correction, per threshold")
    p_chg.add_argument("model")
    p_chg.add_argument("modern", type=Path, help="../shared/modern")
    p_chg.add_argument("--thresholds", type=float, nargs="+", default=[4.5, 7.5, 10, 15, 20])
    p_chg.add_argument("--limit", type=int, default=0)
    for p in (p_fit, p_rep, p_bound, p_chg):
        p.add_argument("--output", type=Path)
    args = parser.parse_args(argv)
    nlp = spacy.load(args.model)
    if args.command == "fit":
        result = fit(nlp, read_texts(args.dev))
        print(json.dumps({k: v for k, v in result.items() if k != "grid"}, ensure_ascii=False, indent=1))
    elif args.command == "bound":
        result = bound(nlp, args.texts)
        print(json.dumps(result, ensure_ascii=False, indent=1))
    elif args.command == "changes":
        result = changes(nlp, args.modern, args.thresholds, args.limit)
    else:
        result = report(nlp, args.test, args.modern, args.limit)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        srsly.write_json(args.output, result)


if __name__ == "__main__":
    sys.exit(main())
