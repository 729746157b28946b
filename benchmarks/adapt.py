"""Adapting the default model to a domain against the default model and training from scratch.

    python benchmarks/adapt.py training/rnnlm/model-final --shared ../shared --sizes 1000 5000 \
        --steps 300 --scratch 5000 --output metrics/adapt.json

The domain is the dialogue file of `../shared/modern` (CrossWOZ and KdConv turns; licences in
its README): its `train` lines are the user's text (the first N of them), its `test` lines the
domain test. For each N: (d) `spacy-rnnlm adapt` of the base for `--steps` steps; for each N in
`--scratch`: (b) `spacy train configs/rnnlm.cfg` from scratch on the same text for the same
steps; for each N in `--combined`: (c) `spacy train configs/rnnlm.cfg` from scratch on the
default corpus's training split plus the same N sentences, with the config's own schedule (as
the default model was trained; its dev: the default dev split plus 250 further dialogue lines).
Every model is scored on the domain test and on the default corpus's test split (bits per
character with the open vocabulary, perplexity with `<unk>` as a word), next to the base (a);
wall times of each run. Figures, not assertions.
"""
import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List

import spacy
import srsly

from spacy_rnnlm.evaluation import evaluate_texts
from spacy_rnnlm.training.adapt import adapt

ROOT = Path(__file__).resolve().parent.parent


def scores(model: Path, tests: Dict[str, List[str]]) -> Dict[str, Any]:
    nlp = spacy.load(model)
    out = {}
    for name, texts in tests.items():
        m = evaluate_texts(nlp, texts, baseline=False)
        out[name] = {k: m[k] for k in ("bits_per_char", "perplexity_closed_vocab", "oov_rate")}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("base", type=Path)
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--base-test", type=Path, default=ROOT / "corpus" / "test.jsonl")
    parser.add_argument("--sizes", type=int, nargs="*", default=[1000, 5000])
    parser.add_argument("--scratch", type=int, nargs="*", default=[5000])
    parser.add_argument("--combined", type=int, nargs="*", default=[], help="(c): the default corpus plus N domain sentences, from scratch")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--learn-rate", type=float, default=0.002)
    parser.add_argument("--replay", type=Path, help="Base-domain texts mixed into the training texts (adapt's replay)")
    parser.add_argument("--replay-share", type=float, default=0.5)
    parser.add_argument("--tag", default="", help="Suffix of the run names (variants)")
    parser.add_argument("--skip-default", action="store_true")
    parser.add_argument("--workdir", type=Path, default=ROOT / "benchmarks" / ".adapt")
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    rows = list(srsly.read_jsonl(args.shared / "modern" / "dialogue.jsonl"))
    train = [r["text"] for r in rows if r["split"] == "train"]
    tests = {"domain_test": [r["text"] for r in rows if r["split"] == "test"], "base_test": [r["text"] for r in srsly.read_jsonl(args.base_test)]}
    args.workdir.mkdir(parents=True, exist_ok=True)
    report: Dict[str, Any] = {"base": str(args.base), "steps": args.steps, "learn_rate": args.learn_rate, "replay": str(args.replay)}
    if not args.skip_default:
        report["a_default"] = scores(args.base, tests)
        print("a default", json.dumps(report["a_default"]))
    for n in args.sizes:
        texts = args.workdir / f"train-{n}.txt"
        texts.write_text("\n".join(train[:n]) + "\n", encoding="utf8")
        start = time.perf_counter()
        out = args.workdir / f"adapted-{n}{args.tag}"
        adapt(args.base, texts, out, steps=args.steps, learn_rate=args.learn_rate, replay=args.replay, replay_share=args.replay_share)
        report[f"d_adapted_{n}{args.tag}"] = {"seconds": time.perf_counter() - start, **scores(out / "model-best", tests)}
        print(f"d adapted {n}{args.tag}", json.dumps(report[f"d_adapted_{n}{args.tag}"]))
    base_split = {name: list(srsly.read_jsonl(args.base_test.parent / f"{name}.jsonl")) for name in ("train", "dev")} if args.combined else {}
    runs = [(f"b_scratch_{n}", f"scratch-{n}", [], [], n, True) for n in args.scratch]
    runs += [(f"c_combined_{n}", f"combined-{n}", base_split["train"], base_split["dev"], n, False) for n in args.combined]
    for label, folder, extra_train, extra_dev, n, short in runs:
        corpus = args.workdir / folder
        corpus.mkdir(exist_ok=True)
        srsly.write_jsonl(corpus / "train.jsonl", [{"text": r["text"]} for r in extra_train] + [{"text": t} for t in train[:n]])
        srsly.write_jsonl(corpus / "dev.jsonl", [{"text": r["text"]} for r in extra_dev] + [{"text": t} for t in train[n : n + 250] or train[-250:]])
        cmd = [sys.executable, "-m", "spacy", "train", str(ROOT / "configs" / "rnnlm.cfg"), "--output", str(corpus / "out")]
        cmd += ["--paths.train", str(corpus / "train.jsonl"), "--paths.dev", str(corpus / "dev.jsonl")]
        if short:  # (b): the adapted runs' schedule; (c): the config's own, as the default model
            cmd += ["--training.max_steps", str(args.steps), "--training.eval_frequency", str(max(args.steps // 4, 1))]
            cmd += ["--training.optimizer.learn_rate.warmup_steps", str(max(args.steps // 10, 1))]
        start = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        report[label] = {"seconds": time.perf_counter() - start, **scores(corpus / "out" / "model-best", tests)}
        print(label, json.dumps(report[label]), flush=True)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(report, indent=2), encoding="utf8")


if __name__ == "__main__":
    main()
