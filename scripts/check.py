"""Load an installed pipeline package by name in this (fresh) process, check that its wheel
declares spacy-rnnlm as a requirement, and print the scores of a sentence."""
import json
from importlib.metadata import requires

import spacy
import typer


def main(
    package: str = typer.Argument(..., help="Installed package name, e.g. zh_rnnlm"),
    text: str = typer.Option("代码医生工作室真棒。", "--text", "-t"),
):
    requirements = requires(package) or []
    if not any(r.replace("_", "-").lower().startswith("spacy-rnnlm") for r in requirements):
        raise SystemExit(f"{package} does not require spacy-rnnlm: {requirements}")
    nlp = spacy.load(package)
    doc = nlp(text)
    report = {
        "package": package,
        "requires": requirements,
        "text": text,
        "perplexity": doc._.lm_perplexity,
        "plausibility": doc._.lm_plausibility,
        "slor": doc._.lm_slor,
        "sentences": [{"text": s.text, "plausibility": s._.lm_plausibility} for s in doc.sents],
        "tokens": [
            {"text": t.text, "logprob": t._.lm_logprob, "surprisal": t._.lm_surprisal,
             "alternatives": t._.lm_alternatives}
            for t in doc
        ],
    }
    print(json.dumps(report, ensure_ascii=False, indent=1))
    if doc._.lm_perplexity is None or not doc._.lm_perplexity > 1:
        raise SystemExit("unexpected perplexity")


if __name__ == "__main__":
    typer.run(main)
