"""Evaluate a trained pipeline on a JSONL/TXT test split and write the metrics as JSON."""
import json
from pathlib import Path

import spacy
import srsly
import typer

from spacy_rnnlm.evaluation import evaluate_texts


def read_texts(path: Path):
    if path.suffix == ".jsonl":
        return [record["text"] for record in srsly.read_jsonl(path)]
    return [line.rstrip("\n") for line in path.open(encoding="utf8") if line.strip()]


def main(
    model: str = typer.Argument(..., help="Pipeline path or package name"),
    data: Path = typer.Argument(..., help="Test texts (.jsonl with 'text', or .txt one per line)"),
    output: Path = typer.Argument(..., help="Where to write the metrics JSON"),
    gpu_id: int = typer.Option(-1, "--gpu-id", "-g", help="GPU id, or -1 for CPU"),
):
    if gpu_id >= 0:
        spacy.require_gpu(gpu_id)
    nlp = spacy.load(model)
    texts = read_texts(data)
    metrics = {"model": model, "data": str(data)}
    metrics.update(evaluate_texts(nlp, texts))
    with nlp.select_pipes(disable=[name for name in nlp.pipe_names if name != "sentencizer"]):
        # Tokenizer (and sentencizer) alone on the same texts: the floor of any pipeline.
        base = evaluate_tokenizer_speed(nlp, texts)
    metrics["tokenizer_tokens_per_second"] = base
    output.parent.mkdir(parents=True, exist_ok=True)
    srsly.write_json(output, metrics)
    print(json.dumps(metrics, indent=2, ensure_ascii=False))


def evaluate_tokenizer_speed(nlp, texts) -> float:
    import time

    start = time.perf_counter()
    n = sum(len(doc) for doc in nlp.pipe(texts, batch_size=64))
    return n / (time.perf_counter() - start)


if __name__ == "__main__":
    typer.run(main)
