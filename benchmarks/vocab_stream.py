"""Peak memory of the vocabulary/spelling-model build on a big streamed corpus.

Writes a generated `.txt` corpus of `--size-mb` MB (the training split's texts, each line with a
few characters swapped at random so that new word types keep turning up, as in a real big
corpus), then, in a fresh process, initializes the default rnnlm pipeline on it through
`spacy-rnnlm.StreamCorpus.v1` (one streaming pass) and prints the peak RSS and the time.

    python benchmarks/vocab_stream.py corpus/train.jsonl --size-mb 200
"""
import json
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

import typer

app = typer.Typer(add_completion=False)


def generate(source: Path, target: Path, size_mb: float, seed: int = 0) -> int:
    texts = [json.loads(line)["text"] for line in source.open(encoding="utf8")]
    chars = sorted({c for t in texts for c in t})
    rng = random.Random(seed)
    written, lines = 0, 0
    with target.open("w", encoding="utf8") as out:
        while written < size_mb * 1e6:
            text = list(rng.choice(texts))
            for _ in range(3):
                text[rng.randrange(len(text))] = rng.choice(chars)
            line = "".join(text).replace("\n", " ") + "\n"
            out.write(line)
            written += len(line.encode("utf8"))
            lines += 1
    return lines


def build(path: str) -> None:
    """Child process: initialize the default pipeline from the streamed file."""
    import spacy

    from spacy_rnnlm.training.corpus import create_stream_corpus

    nlp = spacy.blank("zh", config={"nlp": {"tokenizer": {"segmenter": "jieba"}}})
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("rnnlm")
    reader = create_stream_corpus(path)
    start = time.perf_counter()
    nlp.get_pipe("rnnlm").initialize(lambda: reader(nlp), nlp=nlp)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": round(seconds, 1), "peak_rss_mib": round(peak), "vocab": len(nlp.get_pipe("rnnlm").lm_vocab)}))


@app.command()
def main(
    source: Path = typer.Argument(..., help="corpus/train.jsonl"),
    size_mb: float = typer.Option(200.0, help="Size of the generated corpus"),
    workdir: Path = typer.Option(Path("benchmarks/.vocab_stream"), help="Where the generated file goes"),
) -> None:
    workdir.mkdir(parents=True, exist_ok=True)
    target = workdir / f"generated-{size_mb:g}mb.txt"
    if not target.exists():
        lines = generate(source, target, size_mb)
        typer.echo(f"generated {target} ({lines:,} lines)")
    result = subprocess.run([sys.executable, __file__, "--child", str(target)], capture_output=True, text=True, check=True)
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    mb = target.stat().st_size / 1e6
    typer.echo(f"corpus {mb:.0f} MB: vocabulary of {figures['vocab']:,} words in {figures['seconds']} s "
               f"({mb / figures['seconds']:.2f} MB/s), peak RSS {figures['peak_rss_mib']} MiB")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        build(sys.argv[2])
    else:
        app()
