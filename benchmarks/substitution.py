"""Quality of the fill-in head: cloze, substitutes, as a table and JSON.

    python benchmarks/substitution.py training/rnnlm/model-best --output metrics/substitution.json

Sections (figures, not assertions):
- cloze (test split): every known word hidden in turn; recall@1 and @10 of the true word under
  the fill-in distribution P(w | both sides) and under the forward LM's P(w | left context);
- substitutes, hand-made dev set (benchmarks/data/substitution_dev.jsonl: 50 sentences written
  for this check, a target word and the words a person could put in its place): share of
  targets whose first alternative, and any of the first 10, is one of them; for the settings
  asked (`--grid`: alternatives_similarity × alternatives_synonym_bonus), with and without the
  thesaurus, and the left-context alternatives of the earlier releases;
- substitutes, weak gold (dev split): targets are dev words that Cilin lists with synonyms in
  the vocabulary, and the gold is those synonyms. Circular when the thesaurus is a candidate
  source, so it is reported without it too.
"""
import argparse
import random
import time
from pathlib import Path
from typing import Any, Dict, List, Sequence, Tuple

import spacy
import srsly
import torch

from spacy_rnnlm.evaluation import find_rnnlm
from spacy_rnnlm.inference.fill import context_features, full_logprobs
from spacy_rnnlm.inference.units import Unit, encode, sequence_units
from spacy_rnnlm.models.architectures import torch_module
from spacy_rnnlm.thesaurus import load_groups
from spacy_rnnlm.vocab import SPECIALS, UNK_ID

DEV_SET = Path(__file__).parent / "data" / "substitution_dev.jsonl"


def cloze(nlp, texts: Sequence[str]) -> Dict[str, Any]:
    """Recall@1/@10 of each hidden known word under both contexts (specials never ranked)."""
    lm = find_rnnlm(nlp)
    module = torch_module(lm.model)
    units = []
    for doc in nlp.pipe(texts, batch_size=256, disable=["rnnlm"]):
        for ids in sequence_units(doc):
            unit = Unit(ids)
            unit.ids = encode(lm.lm_vocab, [doc[i].text for i in ids])
            units.append(unit)
    out: Dict[str, Any] = {"texts": len(texts)}
    for name, both in (("fill_in", True), ("left", False)):
        start = time.perf_counter()
        feats = context_features(module, units, both_sides=both, batch_tokens=lm.batch_tokens, compute_dtype=lm.compute_dtype(), ops=lm.model.ops)
        rows = torch.cat(feats)
        words = torch.as_tensor([int(i) for unit in units for i in unit.ids[1:-1]])
        known = words != UNK_ID
        hits1 = hits10 = 0
        for lo in range(0, rows.shape[0], 1024):
            with torch.inference_mode():
                hits = _hits(module, lm, rows[lo : lo + 1024], words[lo : lo + 1024], known[lo : lo + 1024])
            hits1, hits10 = hits1 + hits[0], hits10 + hits[1]
        n = int(known.sum())
        out[name] = {"recall_at_1": hits1 / n, "recall_at_10": hits10 / n, "seconds": time.perf_counter() - start}
    out["words"] = int(known.sum())
    out["unknown_words_skipped"] = int((~known).sum())
    return out


def _hits(module, lm, rows: torch.Tensor, w: torch.Tensor, k: torch.Tensor) -> Tuple[int, int]:
    """How many known words `w` are the top word, and among the top 10, of their rows."""
    lp = full_logprobs(module, rows, lm.compute_dtype())
    lp[:, : len(SPECIALS)] = float("-inf")
    top = torch.topk(lp, 10, dim=1).indices
    return int(((top[:, 0] == w) & k).sum()), int(((top == w.unsqueeze(1)).any(1) & k).sum())


def targets_hit(nlp, items: Sequence[Dict[str, Any]]) -> Dict[str, Any]:
    """Share of targets whose first alternative / any of the first 10 is in its gold list."""
    docs = list(nlp.pipe([item["text"] for item in items], batch_size=64))
    hit1 = hit10 = n = 0
    examples = []
    for item, doc in zip(items, docs):
        token = next((t for t in doc if t.idx == item["start"] and t.text == item["target"]), None)
        if token is None:  # jieba cut the target differently
            continue
        n += 1
        alts = [w for w, _ in token._.lm_alternatives]
        hit1 += bool(alts) and alts[0] in item["gold"]
        hit10 += any(w in item["gold"] for w in alts[:10])
        if len(examples) < 8:
            examples.append({"text": item["text"], "target": item["target"], "alternatives": alts[:5]})
    return {"targets": n, "skipped": len(items) - n, "first_in_gold": hit1 / max(n, 1), "any_of_10_in_gold": hit10 / max(n, 1), "examples": examples}


def settings(nlp, **values) -> None:
    lm = find_rnnlm(nlp)
    for key, value in values.items():
        setattr(lm, key, value)


def weak_gold_items(nlp, texts: Sequence[str], limit: int, seed: int = 0) -> List[Dict[str, Any]]:
    """Dev words with Cilin synonyms in the vocabulary; gold = those synonyms (not the
    one-character fallback of the component's thesaurus)."""
    lm = find_rnnlm(nlp)
    by_word: Dict[str, set] = {}
    for group in load_groups("cilin"):
        for word in group:
            by_word.setdefault(word, set()).update(w for w in group if w != word and w in lm.lm_vocab.index)
    items = []
    for doc in nlp.pipe(texts, batch_size=256, disable=["rnnlm"]):
        for token in doc:
            if len(token.text) >= 2 and by_word.get(token.text):
                items.append({"text": doc.text, "target": token.text, "start": token.idx, "gold": sorted(by_word[token.text])})
    random.Random(seed).shuffle(items)
    return items[:limit]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model")
    parser.add_argument("--test", default="corpus/test.jsonl")
    parser.add_argument("--dev", default="corpus/dev.jsonl")
    parser.add_argument("--cloze-texts", type=int, default=0, help="test texts for the cloze (0 = all)")
    parser.add_argument("--weak-gold", type=int, default=500, help="dev targets of the weak-gold check")
    parser.add_argument("--grid", default="", help="similarity:bonus pairs to compare, e.g. '0:0,2:3,4:3'")
    parser.add_argument("--output", default="metrics/substitution.json")
    args = parser.parse_args()

    nlp = spacy.load(args.model)
    lm = find_rnnlm(nlp)
    lm.n_alternatives = 10
    result: Dict[str, Any] = {"model": args.model}
    test = [row["text"] for row in srsly.read_jsonl(args.test)]
    result["cloze"] = cloze(nlp, test[: args.cloze_texts or None])
    dev_items = list(srsly.read_jsonl(DEV_SET))
    weak = weak_gold_items(nlp, [row["text"] for row in srsly.read_jsonl(args.dev) if row.get("meta", {}).get("source") == "news"], args.weak_gold)
    thesaurus = lm.thesaurus
    runs: List[Tuple[str, Dict[str, Any]]] = [
        ("left context (earlier releases)", {"alternatives_context": "left"}),
        ("both sides, no thesaurus", {"alternatives_context": "both", "thesaurus": None}),
        ("both sides, thesaurus (default)", {"alternatives_context": "both", "thesaurus": thesaurus}),
    ]
    default_sim, default_bonus = lm.alternatives_similarity, lm.alternatives_synonym_bonus
    for pair in filter(None, args.grid.split(",")):
        sim, bonus = (float(x) for x in pair.split(":"))
        runs.append((f"both sides, thesaurus, similarity {sim:g}, bonus {bonus:g}", {"alternatives_context": "both", "thesaurus": thesaurus, "alternatives_similarity": sim, "alternatives_synonym_bonus": bonus}))
    result["substitutes"] = []
    for name, values in runs:
        settings(nlp, alternatives_similarity=default_sim, alternatives_synonym_bonus=default_bonus)
        settings(nlp, **values)
        start = time.perf_counter()
        row = {"run": name, "hand_made_dev": targets_hit(nlp, dev_items), "weak_gold_dev": targets_hit(nlp, weak)}
        row["seconds"] = time.perf_counter() - start
        result["substitutes"].append(row)
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    srsly.write_json(args.output, result)
    print(table(result))
    print(f"\nwritten: {args.output}")


def table(r: Dict[str, Any]) -> str:
    c = r["cloze"]
    lines = [
        f"cloze, test split ({c['words']:,} known words): recall@1 / @10",
        f"  fill-in, both sides   {c['fill_in']['recall_at_1']:.3f} / {c['fill_in']['recall_at_10']:.3f}",
        f"  forward, left context {c['left']['recall_at_1']:.3f} / {c['left']['recall_at_10']:.3f}",
        "substitutes: first alternative in gold / any of 10 in gold",
    ]
    for row in r["substitutes"]:
        h, w = row["hand_made_dev"], row["weak_gold_dev"]
        lines.append(
            f"  {row['run']:<58} hand-made dev ({h['targets']}): {h['first_in_gold']:.3f} / {h['any_of_10_in_gold']:.3f}"
            f"   weak gold ({w['targets']}): {w['first_in_gold']:.3f} / {w['any_of_10_in_gold']:.3f}"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
